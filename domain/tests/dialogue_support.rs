//! A scripted customer for dialogue tests: sends messages and taps to a `Conversation`, feeds
//! outcomes as the process manager would, and reads the replies. Included with `#[path]`
//! (also compiled on its own as an empty test target, hence the allow). The scenarios written
//! with it are the ones the end-to-end tests replay through real webhooks.
#![allow(dead_code, clippy::unwrap_used)]

use jiff::civil::{Date, Time};
use jiff::Timestamp;
use lyo_domain::availability::{
    check, BookingSettings, Capacity, LeadTime, Minutes, Need, PartySize, Resource, ResourceId,
    RestaurantCapacity, SalonCapacity, Service, ServiceId, ServicePeriod, Slot, Unavailable,
    WeeklyHours, Wish,
};
use lyo_domain::conversation::{
    Answering, BookingOutcome, Conversation, ConversationCommand, ConversationEvent, Customer,
    InboundMessage,
};
use lyo_domain::dialogue::DialogueContext;
use lyo_domain::ids::{AppointmentId, SubjectId};
use lyo_domain::personal::Personal;
use lyo_domain::reply::{Reply, ReplyBody};
use lyo_domain::understanding::Language;
use uuid::Uuid;

pub fn t(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

pub fn d(year: i16, month: i8, day: i8) -> Date {
    Date::constant(year, month, day)
}

/// Sunday 22 November 2026, 10:00 in Rome: "sabato" is the 28th.
pub fn start() -> Timestamp {
    "2026-11-22T09:00:00Z".parse().unwrap()
}

fn period(name: &str, from: Time, to: Time) -> ServicePeriod {
    ServicePeriod::new(name, from, to)
}

/// A trattoria open for lunch and dinner, closed on Mondays; 40 covers, parties up to 8.
pub fn trattoria(languages: &[Language]) -> DialogueContext {
    let mut weekly = WeeklyHours::every_day(vec![
        period("pranzo", t(12, 0), t(15, 0)),
        period("cena", t(19, 0), t(23, 0)),
    ]);
    weekly.monday = vec![];
    DialogueContext {
        tenant_name: "Trattoria da Mario".into(),
        languages: languages.to_vec(),
        time_zone: "Europe/Rome".into(),
        address: Some("Via Roma 1, Milano".into()),
        booking: Some(BookingSettings {
            time_zone: "Europe/Rome".into(),
            weekly,
            exceptions: vec![],
            granularity: Minutes(30),
            lead: LeadTime {
                earliest: Minutes(60),
                latest_days: 60,
            },
            capacity: Capacity::Restaurant(RestaurantCapacity {
                seating: Minutes(90),
                largest_party: PartySize::new(8).unwrap(),
                max_covers: Some(40),
                tables: vec![],
                combinations: vec![],
            }),
        }),
        auto_confirm: true,
    }
}

/// A salon open 09:00–19:00 Tuesday to Saturday: Anna does everything, Marco cuts and dries.
pub fn salon(languages: &[Language]) -> DialogueContext {
    let day = vec![period("giorno", t(9, 0), t(19, 0))];
    let mut weekly = WeeklyHours::every_day(day);
    weekly.sunday = vec![];
    weekly.monday = vec![];
    let service = |id: &str, name: &str, minutes: u32| Service {
        id: ServiceId::new(id),
        name: name.into(),
        duration: Minutes(minutes),
    };
    let resource = |id: &str, name: &str, services: &[&str]| Resource {
        id: ResourceId::new(id),
        name: name.into(),
        services: services.iter().map(|s| ServiceId::new(*s)).collect(),
    };
    DialogueContext {
        tenant_name: "Salone Bella".into(),
        languages: languages.to_vec(),
        time_zone: "Europe/Rome".into(),
        address: None,
        booking: Some(BookingSettings {
            time_zone: "Europe/Rome".into(),
            weekly,
            exceptions: vec![],
            granularity: Minutes(15),
            lead: LeadTime {
                earliest: Minutes(60),
                latest_days: 60,
            },
            capacity: Capacity::Salon(SalonCapacity {
                services: vec![
                    service("taglio", "Taglio", 30),
                    service("piega", "Piega", 45),
                    service("colore", "Colore", 90),
                ],
                resources: vec![
                    resource("anna", "Anna", &["taglio", "piega", "colore"]),
                    resource("marco", "Marco", &["taglio", "piega"]),
                ],
            }),
        }),
        auto_confirm: true,
    }
}

/// One customer chatting with one tenant.
pub struct Chat {
    pub conversation: Conversation,
    pub subject: SubjectId,
    pub context: DialogueContext,
    pub now: Timestamp,
    pub profile_name: Option<String>,
    sent: u32,
    /// Every event so far, in order.
    pub log: Vec<ConversationEvent>,
}

impl Chat {
    pub fn new(context: DialogueContext) -> Self {
        Chat {
            conversation: Conversation::default(),
            subject: SubjectId::from_uuid(Uuid::from_u128(0x5b1ec7)),
            context,
            now: start(),
            profile_name: None,
            sent: 0,
            log: Vec::new(),
        }
    }

    /// Runs a command: decide, then apply, as the aggregate does.
    pub fn run(&mut self, command: ConversationCommand) -> Vec<ConversationEvent> {
        let events = self.conversation.decide(command);
        for e in &events {
            use cqrs_es::Aggregate;
            self.conversation.apply(e.clone());
        }
        self.log.extend(events.clone());
        events
    }

    /// The next inbound message (a minute after the previous one).
    pub fn inbound(&mut self, text: Option<&str>, content: serde_json::Value) -> InboundMessage {
        self.sent += 1;
        self.now += jiff::SignedDuration::from_secs(60);
        let personal = |v: &str| Personal::new(self.subject, v.to_string());
        InboundMessage {
            message_id: format!("wamid.in.{}", self.sent),
            sent_at: self.now.as_second(),
            kind: if content.get("text").is_some() {
                "text"
            } else {
                "interactive"
            }
            .into(),
            text: text.map(personal),
            content: Personal::new(self.subject, content),
            customer: Customer {
                name: self.profile_name.as_deref().map(personal),
                wa_id: Some(personal("393331234567")),
                user_id: None,
            },
            reply_to: None,
            answering: Answering::Answer,
        }
    }

    pub fn deliver(&mut self, message: InboundMessage) -> Vec<ConversationEvent> {
        self.run(ConversationCommand::ReceiveMessage {
            message: Box::new(message),
            context: Some(Box::new(self.context.clone())),
        })
    }

    pub fn say(&mut self, text: &str) -> Vec<ConversationEvent> {
        let m = self.inbound(Some(text), serde_json::json!({"text": {"body": text}}));
        self.deliver(m)
    }

    /// Taps a reply button.
    pub fn tap(&mut self, id: &str) -> Vec<ConversationEvent> {
        let m = self.inbound(
            Some("tap"),
            serde_json::json!({"button_reply": {"id": id, "title": "tap"}}),
        );
        self.deliver(m)
    }

    /// Chooses a list row.
    pub fn choose(&mut self, id: &str) -> Vec<ConversationEvent> {
        let m = self.inbound(
            Some("row"),
            serde_json::json!({"list_reply": {"id": id, "title": "row"}}),
        );
        self.deliver(m)
    }

    pub fn booking_outcome(
        &mut self,
        request_id: Uuid,
        outcome: BookingOutcome,
    ) -> Vec<ConversationEvent> {
        self.run(ConversationCommand::RecordBookingOutcome {
            request_id,
            outcome,
            context: Box::new(self.context.clone()),
        })
    }

    /// The process manager's part for a booking request: the schedule books the wished slot.
    pub fn book_it(&mut self, events: &[ConversationEvent]) -> Vec<ConversationEvent> {
        let (request_id, appointment_id, wish) =
            booking_requested(events).expect("a booking request");
        let slot = self.slot(&wish);
        self.booking_outcome(
            request_id,
            BookingOutcome::Confirmed {
                appointment_id,
                slot,
            },
        )
    }

    /// The slot a wish would take on an empty schedule.
    pub fn slot(&self, wish: &Wish) -> Slot {
        self.try_slot(wish).unwrap()
    }

    /// The slot a wish would take on an empty schedule, or why it has none (a closed day).
    pub fn try_slot(&self, wish: &Wish) -> Result<Slot, Unavailable> {
        let settings = self.context.booking.clone().unwrap().validate().unwrap();
        check(&settings, &[], wish, start())
    }

    /// Books directly through the dialogue: message, confirm, outcome. Returns the id.
    pub fn booked(&mut self, text: &str) -> AppointmentId {
        let summary = self.say(text);
        let confirm = button_ids(&summary)
            .into_iter()
            .find(|b| b.starts_with("confirm:"))
            .unwrap();
        let requested = self.tap(&confirm);
        let (_, appointment_id, _) = booking_requested(&requested).unwrap();
        self.book_it(&requested);
        appointment_id
    }
}

pub fn replies(events: &[ConversationEvent]) -> Vec<Reply> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::ReplyQueued { reply, .. } => reply.value().cloned(),
            _ => None,
        })
        .collect()
}

/// The bodies of the replies, joined.
pub fn said(events: &[ConversationEvent]) -> String {
    replies(events)
        .iter()
        .map(|r| r.body.summary().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn button_ids(events: &[ConversationEvent]) -> Vec<String> {
    replies(events)
        .into_iter()
        .flat_map(|r| match r.body {
            ReplyBody::Buttons { buttons, .. } => buttons.into_iter().map(|b| b.id).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// (id, title) of every list row.
pub fn rows(events: &[ConversationEvent]) -> Vec<(String, String)> {
    replies(events)
        .into_iter()
        .flat_map(|r| match r.body {
            ReplyBody::List { sections, .. } => sections
                .into_iter()
                .flat_map(|s| s.rows.into_iter().map(|r| (r.id, r.title)))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

pub fn booking_requested(events: &[ConversationEvent]) -> Option<(Uuid, AppointmentId, Wish)> {
    events.iter().find_map(|e| match e {
        ConversationEvent::BookingRequested {
            request_id,
            appointment_id,
            wish,
            ..
        } => Some((*request_id, *appointment_id, wish.clone())),
        _ => None,
    })
}

pub fn names(events: &[ConversationEvent]) -> Vec<&'static str> {
    events.iter().map(ConversationEvent::name).collect()
}

pub fn party(n: u16) -> Need {
    Need::Party {
        size: PartySize::new(n).unwrap(),
    }
}
