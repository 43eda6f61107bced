//! The `Conversation` aggregate: one per customer subject of a tenant (aggregate id: the
//! subject id). It records what arrives from WhatsApp (inbound messages, delivery statuses)
//! and, when given a `DialogueContext`, answers through the dialogue (`crate::dialogue`):
//! replies, booking drafts and requests, outcomes, hand-off and opt-out.
//!
//! Invariants: a message id is received at most once, and a (message id, status) pair is
//! recorded at most once, so Meta's repeated deliveries change nothing; an outcome for a
//! request already answered, or a staff change already told, emits nothing. Every id the
//! dialogue creates is derived from its cause, so handling the same input again decides the
//! same ids. Every piece of the customer's data (text, content, name, phone number, user id,
//! replies, names in requests) is `Personal`, sealed at rest.

mod commands;
mod events;

pub use commands::{
    AppointmentChange, BookingOutcome, CancellationOutcome, ConversationCommand, RescheduleOutcome,
};
pub use events::{
    AlternativesFor, BookingStatus, CancelRefusal, ConversationEvent, HandOffReason,
    RecordedOutcome, ReminderSkip, StaffChange,
};

use crate::dialogue::{self, DialogueState};
use crate::personal::Personal;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Who wrote, as far as WhatsApp tells: all personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Customer {
    pub name: Option<Personal<String>>,
    /// The phone number (`wa_id`), absent for customers known only by user id.
    pub wa_id: Option<Personal<String>>,
    /// Meta's business-scoped user id.
    pub user_id: Option<Personal<String>>,
}

/// Whether the assistant may answer a message automatically, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answering {
    Answer,
    /// Arrived later than the configured age (Meta replaying an outage).
    TooOld,
    /// Over the per-customer or per-tenant rate limit.
    RateLimited,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Meta's message id (`wamid...`).
    pub message_id: String,
    /// When the customer sent it (Unix seconds, Meta's timestamp).
    pub sent_at: i64,
    /// Meta's message type (`text`, `image`, `interactive`, ...).
    pub kind: String,
    /// The text, when there is one (text body, caption, button title).
    pub text: Option<Personal<String>>,
    /// The whole normalised content.
    pub content: Personal<serde_json::Value>,
    pub customer: Customer,
    /// The message this one replies to, if any.
    pub reply_to: Option<String>,
    pub answering: Answering,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The id of our outbound message.
    pub message_id: String,
    /// `sent`, `delivered`, `read`, `failed` (or what Meta invents next).
    pub status: String,
    pub at: i64,
    pub error_codes: Vec<i64>,
}

impl DomainEvent for ConversationEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationError {}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Conversation {
    received: HashSet<String>,
    statuses: HashMap<String, Vec<String>>,
    /// When the customer last wrote (Unix seconds): the 24-hour service window starts here.
    pub last_inbound_at: Option<i64>,
    /// What the dialogue remembers: language, draft, pending questions and requests, bookings.
    #[serde(default)]
    pub dialogue: DialogueState,
}

impl Conversation {
    /// The events a command causes, decided purely from the state (no I/O, no clock).
    pub fn decide(&self, command: ConversationCommand) -> Vec<ConversationEvent> {
        let d = &self.dialogue;
        match command {
            ConversationCommand::ReceiveMessage { message, context } => {
                if self.received.contains(&message.message_id) {
                    return Vec::new();
                }
                let answer = match context {
                    Some(ctx) if message.answering == Answering::Answer => {
                        dialogue::on_message(d, &message, &ctx)
                    }
                    _ => Vec::new(),
                };
                let mut events = vec![ConversationEvent::MessageReceived(message)];
                events.extend(answer);
                events
            }
            ConversationCommand::RecordStatus(report) => {
                let known = self
                    .statuses
                    .get(&report.message_id)
                    .is_some_and(|seen| seen.contains(&report.status));
                if known {
                    Vec::new()
                } else {
                    vec![ConversationEvent::MessageStatusChanged(report)]
                }
            }
            ConversationCommand::RecordBookingOutcome {
                request_id,
                outcome,
                context,
            } => dialogue::on_booking_outcome(d, request_id, outcome, &context),
            ConversationCommand::RecordCancellationOutcome {
                request_id,
                appointment_id,
                outcome,
                context,
            } => {
                dialogue::on_cancellation_outcome(d, request_id, appointment_id, outcome, &context)
            }
            ConversationCommand::RecordRescheduleOutcome {
                request_id,
                appointment_id,
                outcome,
                context,
            } => dialogue::on_reschedule_outcome(d, request_id, appointment_id, outcome, &context),
            ConversationCommand::NotifyAppointment {
                appointment_id,
                change,
                context,
            } => dialogue::on_staff_change(d, appointment_id, change, &context),
            ConversationCommand::HandBack => dialogue::on_hand_back(d),
            ConversationCommand::RemindOf {
                reminder_id,
                appointment_id,
                now,
                context,
            } => dialogue::on_reminder(d, reminder_id, appointment_id, now, &context),
        }
    }
}

impl Aggregate for Conversation {
    const TYPE: &'static str = "Conversation";
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    type Error = ConversationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ConversationCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ConversationError> {
        for event in self.decide(command) {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ConversationEvent) {
        self.dialogue.apply(&event);
        match event {
            ConversationEvent::MessageReceived(message) => {
                self.last_inbound_at = Some(
                    self.last_inbound_at
                        .unwrap_or(i64::MIN)
                        .max(message.sent_at),
                );
                self.received.insert(message.message_id);
            }
            ConversationEvent::MessageStatusChanged(report) => {
                self.statuses
                    .entry(report.message_id)
                    .or_default()
                    .push(report.status);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::SubjectId;
    use cqrs_es::test::TestFramework;

    fn receive(message: InboundMessage) -> ConversationCommand {
        ConversationCommand::ReceiveMessage {
            message: Box::new(message),
            context: None,
        }
    }

    fn message(id: &str) -> InboundMessage {
        let subject = SubjectId::from_uuid(uuid::Uuid::nil());
        InboundMessage {
            message_id: id.into(),
            sent_at: 1_763_800_000,
            kind: "text".into(),
            text: Some(Personal::new(subject, "ciao".into())),
            content: Personal::new(subject, serde_json::json!({"text": {"body": "ciao"}})),
            customer: Customer::default(),
            reply_to: None,
            answering: Answering::Answer,
        }
    }

    fn status(status: &str) -> StatusReport {
        StatusReport {
            message_id: "wamid.out".into(),
            status: status.into(),
            at: 1,
            error_codes: vec![],
        }
    }

    #[test]
    fn a_new_message_is_received() {
        TestFramework::<Conversation>::with(())
            .given_no_previous_events()
            .when(receive(message("wamid.1")))
            .then_expect_events(vec![ConversationEvent::MessageReceived(Box::new(message(
                "wamid.1",
            )))]);
    }

    #[test]
    fn a_message_delivered_again_changes_nothing() {
        TestFramework::<Conversation>::with(())
            .given(vec![ConversationEvent::MessageReceived(Box::new(message(
                "wamid.1",
            )))])
            .when(receive(message("wamid.1")))
            .then_expect_events(vec![]);
    }

    #[test]
    fn each_status_of_a_message_is_recorded_once() {
        TestFramework::<Conversation>::with(())
            .given(vec![ConversationEvent::MessageStatusChanged(status(
                "sent",
            ))])
            .when(ConversationCommand::RecordStatus(status("sent")))
            .then_expect_events(vec![]);
        TestFramework::<Conversation>::with(())
            .given(vec![ConversationEvent::MessageStatusChanged(status(
                "sent",
            ))])
            .when(ConversationCommand::RecordStatus(status("read")))
            .then_expect_events(vec![ConversationEvent::MessageStatusChanged(status(
                "read",
            ))]);
    }

    fn context() -> Box<crate::dialogue::DialogueContext> {
        Box::new(crate::dialogue::DialogueContext {
            tenant_name: "Da Mario".into(),
            languages: vec![crate::understanding::Language::It],
            time_zone: "Europe/Rome".into(),
            address: None,
            booking: None,
            auto_confirm: true,
        })
    }

    #[test]
    fn an_outcome_already_recorded_changes_nothing() {
        use crate::availability::{Need, PartySize, Unavailable, Wish};
        use crate::ids::AppointmentId;
        let request_id = uuid::Uuid::from_u128(7);
        let appointment_id = AppointmentId::from_uuid(uuid::Uuid::from_u128(8));
        let subject = SubjectId::from_uuid(uuid::Uuid::nil());
        let wish = Wish {
            date: jiff::civil::date(2026, 11, 28),
            time: jiff::civil::time(20, 0, 0, 0),
            need: Need::Party {
                size: PartySize::new(4).unwrap(),
            },
        };
        let unavailable = || BookingOutcome::Unavailable {
            reason: Unavailable::Full,
            alternatives: vec![],
        };
        TestFramework::<Conversation>::with(())
            .given(vec![
                ConversationEvent::MessageReceived(Box::new(message("wamid.1"))),
                ConversationEvent::BookingRequested {
                    request_id,
                    appointment_id,
                    wish,
                    name: Personal::new(subject, "Rossi".into()),
                    notes: None,
                },
                ConversationEvent::BookingOutcomeRecorded {
                    request_id,
                    appointment_id,
                    outcome: RecordedOutcome::BookingUnavailable {
                        reason: Unavailable::Full,
                    },
                },
            ])
            .when(ConversationCommand::RecordBookingOutcome {
                request_id,
                outcome: unavailable(),
                context: context(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn an_outcome_for_an_unknown_request_changes_nothing() {
        TestFramework::<Conversation>::with(())
            .given(vec![ConversationEvent::MessageReceived(Box::new(message(
                "wamid.1",
            )))])
            .when(ConversationCommand::RecordBookingOutcome {
                request_id: uuid::Uuid::from_u128(9),
                outcome: BookingOutcome::Unavailable {
                    reason: crate::availability::Unavailable::Full,
                    alternatives: vec![],
                },
                context: context(),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn staff_hand_back_only_a_chat_they_hold() {
        TestFramework::<Conversation>::with(())
            .given(vec![ConversationEvent::HandedOffToStaff {
                reason: HandOffReason::Asked,
            }])
            .when(ConversationCommand::HandBack)
            .then_expect_events(vec![ConversationEvent::HandedBack]);
        TestFramework::<Conversation>::with(())
            .given_no_previous_events()
            .when(ConversationCommand::HandBack)
            .then_expect_events(vec![]);
    }
}
