//! Answering one inbound message: opt-out and hand-off first, then taps on our own buttons and
//! rows by id, then the question the assistant is waiting on, then the message's intent.

use jiff::civil::DateTime;
use jiff::Timestamp;

use super::catalogue::{label, Label, Msg};
use super::draft::{BookingDraft, Field};
use super::render::{buttons, line, list, MAX_PART};
use super::state::{Awaiting, ChangeKind, DialogueState, Request};
use super::turn::{derive, Turn};
use super::{words, DialogueContext, Env, HAND_OFF_AFTER};
use crate::availability::{PartySize, Wish};
use crate::conversation::{AlternativesFor, ConversationEvent, HandOffReason, InboundMessage};
use crate::ids::AppointmentId;
use crate::personal::Personal;
use crate::reply::{fit, ReplyPurpose};
use crate::understanding::{understand, Intent, Language, Understanding};

/// The events answering `message` (not including its `MessageReceived`).
pub fn on_message(
    state: &DialogueState,
    message: &InboundMessage,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    let subject = message.content.subject();
    let text = message
        .text
        .as_ref()
        .and_then(Personal::value)
        .map_or("", String::as_str);
    let now = Timestamp::from_second(message.sent_at).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut env = Env::new(ctx, state.language, now, subject);
    let u = understand(text, &env.understanding());
    let tap = words::tap(message);
    if tap.is_none() && !text.trim().is_empty() {
        env.lang = u.language;
    }
    let lang = env.lang;
    let profile = message
        .customer
        .name
        .as_ref()
        .and_then(Personal::value)
        .and_then(|n| words::bare_name(n));
    let mut turn = Turn::new(state, env, message.message_id.clone());
    let input = Input {
        u: &u,
        text,
        tap: tap.as_deref(),
        profile,
    };
    let understood = turn.message(&input);
    let mut events = vec![ConversationEvent::MessageRead {
        message_id: message.message_id.clone(),
        language: lang,
        intent: u.intent,
        understood,
    }];
    events.extend(turn.finish());
    events
}

pub(crate) struct Input<'a> {
    pub u: &'a Understanding,
    pub text: &'a str,
    pub tap: Option<&'a str>,
    /// The customer's WhatsApp profile name, when it reads as a name.
    pub profile: Option<String>,
}

impl Turn<'_> {
    /// Decides; false when the message was not understood.
    fn message(&mut self, input: &Input<'_>) -> bool {
        let intent = input.u.intent;
        if self.state.opted_out {
            if intent == Intent::OptIn {
                self.emit(ConversationEvent::OptedIn);
                self.set_silent(false);
                self.say(Msg::OptedIn);
            }
            return true;
        }
        if intent == Intent::OptOut {
            self.emit(ConversationEvent::OptedOut);
            self.set_silent(false);
            let body = super::render::text(&self.text(Msg::OptedOut));
            self.reply(ReplyPurpose::OptOutConfirmed, body);
            return true;
        }
        if self.state.handed_off {
            return true;
        }
        if let Some(id) = input.tap {
            if self.tapped(id, input) {
                return true;
            }
        }
        if intent == Intent::Human {
            self.hand_off(HandOffReason::Asked);
            return true;
        }
        if self.answer(input) {
            return true;
        }
        if self.state.misses.saturating_add(1) >= HAND_OFF_AFTER {
            self.hand_off(HandOffReason::Misunderstood);
        } else {
            self.not_understood();
        }
        false
    }

    fn hand_off(&mut self, reason: HandOffReason) {
        self.say(match reason {
            HandOffReason::Asked => Msg::HandOff,
            HandOffReason::Misunderstood => Msg::HandOffMisunderstood,
        });
        self.emit(ConversationEvent::HandedOffToStaff { reason });
    }

    /// Whether a booking is being put together (or was just turned down for a slot).
    fn drafting(&self) -> bool {
        !self.draft.is_empty()
            || matches!(
                self.awaiting,
                Awaiting::BookingConfirmation
                    | Awaiting::Detail { .. }
                    | Awaiting::Alternative {
                        purpose: AlternativesFor::Booking { .. },
                        ..
                    }
            )
    }

    fn answer(&mut self, input: &Input<'_>) -> bool {
        let u = input.u;
        let (draft, changed) = self.gather(input);
        let moving = matches!(
            self.awaiting,
            Awaiting::Alternative { .. }
                | Awaiting::NewTime { .. }
                | Awaiting::RescheduleConfirmation { .. }
        );
        match u.intent {
            Intent::Cancel if self.drafting() => {
                self.draft = BookingDraft::default();
                self.awaiting = Awaiting::Nothing;
                self.say(Msg::Dropped);
                return true;
            }
            Intent::Cancel => {
                self.start_change(ChangeKind::Cancel, u);
                return true;
            }
            Intent::Reschedule if !self.drafting() && !moving => {
                self.start_change(ChangeKind::Reschedule, u);
                return true;
            }
            _ => {}
        }
        let has_when = u.date.is_some() || u.time.is_some();
        match self.awaiting.clone() {
            Awaiting::BookingConfirmation => match u.intent {
                Intent::Confirm => {
                    self.request_booking(input.profile.clone());
                    return true;
                }
                Intent::Decline if !changed => {
                    self.awaiting = Awaiting::Nothing;
                    self.say(Msg::WhatToChange);
                    return true;
                }
                _ => {}
            },
            Awaiting::Alternative { purpose, slots } => {
                if u.intent == Intent::Decline && !has_when {
                    self.decline_alternatives(&purpose);
                    return true;
                }
                let first = slots.first().map(|s| s.start);
                if has_when {
                    let date = u.date.or(first.map(|f| f.date()));
                    let on_date = slots.iter().find(|s| Some(s.start.date()) == date);
                    let time = u.time.or(on_date.map(|s| s.start.time()));
                    if let (Some(date), Some(time)) = (date, time) {
                        return self.choose(date.to_datetime(time));
                    }
                }
                if u.intent == Intent::Confirm && slots.len() == 1 {
                    if let Some(start) = first {
                        return self.choose(start);
                    }
                }
            }
            Awaiting::BookingChoice {
                change,
                appointments,
            } => {
                let on_date: Vec<_> = appointments
                    .iter()
                    .filter(|id| {
                        let b = self.state.bookings.get(id);
                        u.date.is_some() && b.map(|b| b.slot.start.date()) == u.date
                    })
                    .collect();
                if let [id] = on_date.as_slice() {
                    let id = **id;
                    self.picked(change, id, u);
                    return true;
                }
            }
            Awaiting::CancelConfirmation { appointment_id } => match u.intent {
                Intent::Confirm => {
                    self.request_cancel(appointment_id);
                    return true;
                }
                Intent::Decline => {
                    self.keep();
                    return true;
                }
                _ => {}
            },
            Awaiting::NewTime { appointment_id } => {
                if has_when || u.party_size.is_some() {
                    self.propose_move(appointment_id, u);
                    return true;
                }
                if u.intent == Intent::Decline {
                    self.keep();
                    return true;
                }
            }
            Awaiting::RescheduleConfirmation {
                appointment_id,
                wish,
            } => match u.intent {
                Intent::Confirm => {
                    self.request_move(appointment_id, wish);
                    return true;
                }
                Intent::Decline if !has_when => {
                    self.keep();
                    return true;
                }
                _ if has_when || u.party_size.is_some() => {
                    self.propose_move(appointment_id, u);
                    return true;
                }
                _ => {}
            },
            Awaiting::Detail { .. } | Awaiting::Nothing => {}
        }
        if matches!(u.intent, Intent::Book | Intent::Reschedule) || changed {
            self.continue_draft(draft, input.profile.clone());
            return true;
        }
        match u.intent {
            Intent::Greeting => self.greet(),
            Intent::Thanks => self.say(Msg::Thanks),
            Intent::AskHours => self.hours(),
            Intent::AskAddress => self.address(),
            Intent::AskMenu => self.say(Msg::NoMenu),
            Intent::Confirm | Intent::Decline | Intent::OptIn => {
                if !self.draft.is_empty() {
                    self.ask_next(None, input.profile.clone());
                }
            }
            _ => return false,
        }
        true
    }

    /// The draft with this message's details merged in (later mentions win), and whether it
    /// changed. A bare answer ("4", "8", "Rossi") counts for the detail being asked.
    fn gather(&self, input: &Input<'_>) -> (BookingDraft, bool) {
        let u = input.u;
        let subject = self.env.subject;
        let mut d = self.draft.clone();
        let mut u = u.clone();
        if let Awaiting::Detail { field } = self.awaiting {
            let cue = |it: &str, en: &str, es: &str| match self.env.lang {
                Language::It => format!("{it} {}", input.text),
                Language::En => format!("{en} {}", input.text),
                Language::Es => format!("{es} {}", input.text),
            };
            let ctx = self.env.understanding();
            match field {
                Field::Party if u.party_size.is_none() => {
                    u.party_size = understand(&cue("per", "for", "para"), &ctx).party_size;
                }
                Field::Time if u.time.is_none() => {
                    u.time = understand(&cue("alle", "at", "a las"), &ctx).time;
                }
                Field::Name if u.name.is_none() && u.intent == Intent::Unknown => {
                    u.name = words::bare_name(input.text);
                }
                _ => {}
            }
        }
        if u.date.is_some() {
            d.date = u.date;
        }
        if u.time.is_some() {
            d.time = u.time;
        }
        if let Some(p) = u.party_size.and_then(|n| PartySize::new(n).ok()) {
            d.party = Some(p);
        }
        if let Some(n) = &u.name {
            d.name = Some(Personal::new(subject, fit(n, MAX_PART)));
        }
        if !u.notes.is_empty() {
            d.notes = Some(Personal::new(subject, fit(&u.notes.join("; "), 200)));
        }
        if let Some(salon) = self.env.salon() {
            if let Some(s) = words::find_service(input.text, salon) {
                d.service = Some(s);
            }
            if let Some(r) = words::find_resource(input.text, salon) {
                d.resource = Some(r);
            }
        }
        let changed = d != self.draft;
        (d, changed)
    }

    fn continue_draft(&mut self, draft: BookingDraft, profile: Option<String>) {
        if self.env.settings.is_none() {
            let tenant = self.env.tenant();
            self.say(Msg::BookingsClosed { tenant: &tenant });
            return;
        }
        self.draft = draft;
        let problem = self.check_draft();
        self.ask_next(problem, profile);
    }

    /// Asks for the first missing detail, or shows the summary with Confirm / Change.
    pub(super) fn ask_next(&mut self, problem: Option<String>, profile: Option<String>) {
        let salon = self.env.is_salon();
        if self.draft.missing(salon) == Some(Field::Name) {
            if let Some(p) = profile {
                self.draft.name = Some(Personal::new(self.env.subject, fit(&p, MAX_PART)));
            }
        }
        let prefix = problem.map(|p| format!("{p}\n")).unwrap_or_default();
        let lang = self.env.lang;
        match self.draft.missing(salon) {
            Some(Field::Service) => {
                let rows = self
                    .env
                    .salon()
                    .map(|s| {
                        s.services
                            .iter()
                            .take(crate::reply::MAX_LIST_ROWS)
                            .enumerate()
                            .map(|(i, x)| {
                                let minutes = format!("{} min", x.duration.get());
                                (format!("svc:{i}"), x.name.clone(), Some(minutes))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let body = format!("{prefix}{}", self.text(Msg::AskService));
                self.reply(
                    ReplyPurpose::Answer,
                    list(&body, label(lang, Label::Services), rows),
                );
                self.awaiting = Awaiting::Detail {
                    field: Field::Service,
                };
            }
            Some(field) => {
                let question = self.question(field);
                self.reply(
                    ReplyPurpose::Answer,
                    super::render::text(&format!("{prefix}{question}")),
                );
                self.awaiting = Awaiting::Detail { field };
            }
            None => {
                let summary = self.draft_line();
                let body = format!("{prefix}{}", self.text(Msg::Summary { line: &summary }));
                let choices = [
                    (
                        format!("confirm:{}", self.draft.token()),
                        label(lang, Label::Confirm),
                    ),
                    ("change".to_string(), label(lang, Label::Change)),
                ];
                self.reply(ReplyPurpose::Answer, buttons(&body, &choices));
                self.awaiting = Awaiting::BookingConfirmation;
            }
        }
    }

    fn question(&self, field: Field) -> String {
        match field {
            Field::Date | Field::Service => self.text(Msg::AskDate),
            Field::Time => {
                let lang = self.env.lang;
                let date = self
                    .draft
                    .date
                    .map(|d| super::render::short_date(lang, d))
                    .unwrap_or_default();
                let hours = match (&self.env.settings, self.draft.date) {
                    (Some(s), Some(d)) => super::render::periods(lang, s.periods_on(d)),
                    _ => String::new(),
                };
                self.text(Msg::AskTime {
                    date: &date,
                    hours: &hours,
                })
            }
            Field::Party => self.text(Msg::AskParty),
            Field::Name => self.text(Msg::AskName),
        }
    }

    /// "Sab 28/11 · 20:00 · 4 persone · Rossi" for the draft as it stands.
    fn draft_line(&self) -> String {
        let lang = self.env.lang;
        let salon = self.env.is_salon();
        let mut parts = Vec::new();
        if let Some(d) = self.draft.date {
            parts.push(super::render::short_date(lang, d));
        }
        if let Some(t) = self.draft.time {
            parts.push(super::render::hh_mm(t));
        }
        if let Some(need) = self.draft.need(salon) {
            parts.extend(super::render::need_parts(
                lang,
                &need,
                self.env.settings.as_ref(),
            ));
        }
        if let Some(name) = self.draft.name.as_ref().and_then(Personal::value) {
            parts.push(fit(name, MAX_PART));
        }
        line(parts)
    }

    fn request_booking(&mut self, profile: Option<String>) {
        let salon = self.env.is_salon();
        let (Some(wish), Some(name)) = (self.draft.wish(salon), self.draft.name.clone()) else {
            self.ask_next(None, profile);
            return;
        };
        let notes = self.draft.notes.clone();
        self.request(wish, name, notes);
    }

    fn request(&mut self, wish: Wish, name: Personal<String>, notes: Option<Personal<String>>) {
        let request_id = self.derive("request", 0);
        let appointment_id = AppointmentId::from_uuid(derive(
            self.env.subject.as_uuid(),
            &request_id.to_string(),
            "appointment",
            0,
        ));
        self.emit(ConversationEvent::BookingRequested {
            request_id,
            appointment_id,
            wish,
            name,
            notes,
        });
    }

    /// A tap on one of our buttons or rows; false when the id means nothing now.
    fn tapped(&mut self, id: &str, input: &Input<'_>) -> bool {
        if let Some(token) = id.strip_prefix("confirm:") {
            if self.draft.is_empty() {
                return true; // a second tap: already requested
            }
            if self.awaiting == Awaiting::BookingConfirmation && token == self.draft.token() {
                self.request_booking(input.profile.clone());
            } else {
                self.ask_next(None, input.profile.clone());
            }
            return true;
        }
        if id == "change" && !self.draft.is_empty() {
            self.awaiting = Awaiting::Nothing;
            self.say(Msg::WhatToChange);
            return true;
        }
        if id == "keep" {
            self.keep();
            return true;
        }
        if let Some(n) = id
            .strip_prefix("svc:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            let service = self
                .env
                .salon()
                .and_then(|s| s.services.get(n))
                .map(|s| s.id.clone());
            if let Some(service) = service {
                let mut draft = self.draft.clone();
                draft.service = Some(service);
                self.continue_draft(draft, input.profile.clone());
                return true;
            }
        }
        if let Some(start) = id
            .strip_prefix("slot:")
            .and_then(|s| s.parse::<DateTime>().ok())
        {
            return self.choose(start);
        }
        let appointment = |prefix: &str| {
            id.strip_prefix(prefix)
                .and_then(|x| x.parse::<uuid::Uuid>().ok())
                .map(AppointmentId::from_uuid)
        };
        if let Some(a) = appointment("appt:") {
            if let Awaiting::BookingChoice { change, .. } = self.awaiting {
                self.picked(change, a, input.u);
                return true;
            }
        }
        if let Some(a) = appointment("cancel:") {
            self.request_cancel(a);
            return true;
        }
        if let Some(a) = appointment("move:") {
            if let Awaiting::RescheduleConfirmation {
                appointment_id,
                wish,
            } = self.awaiting.clone()
            {
                if appointment_id == a {
                    self.request_move(a, wish);
                    return true;
                }
            }
        }
        false
    }

    /// The customer picked an alternative (a row or a time in text).
    fn choose(&mut self, start: DateTime) -> bool {
        let Awaiting::Alternative { purpose, .. } = self.awaiting.clone() else {
            return false;
        };
        match purpose {
            AlternativesFor::Booking { request_id } => {
                let Some(Request::Booking {
                    wish, name, notes, ..
                }) = self.state.requests.get(&request_id).cloned()
                else {
                    return false;
                };
                let wish = Wish {
                    date: start.date(),
                    time: start.time(),
                    need: wish.need,
                };
                self.request(wish, name, notes);
            }
            AlternativesFor::Reschedule { appointment_id } => {
                let Some(b) = self.state.bookings.get(&appointment_id) else {
                    return false;
                };
                let wish = Wish {
                    date: start.date(),
                    time: start.time(),
                    need: b.need.clone(),
                };
                self.request_move(appointment_id, wish);
            }
        }
        true
    }

    fn decline_alternatives(&mut self, purpose: &AlternativesFor) {
        match purpose {
            AlternativesFor::Booking { request_id } => {
                if let Some(Request::Booking {
                    wish, name, notes, ..
                }) = self.state.requests.get(request_id)
                {
                    let mut draft =
                        BookingDraft::from_wish(wish, Some(name.clone()), notes.clone());
                    draft.date = None;
                    draft.time = None;
                    self.draft = draft;
                }
                self.awaiting = Awaiting::Detail { field: Field::Date };
                self.say(Msg::AskDate);
            }
            AlternativesFor::Reschedule { .. } => self.keep(),
        }
    }

    fn greet(&mut self) {
        let tenant = self.env.tenant();
        if self.env.settings.is_none() {
            self.say(Msg::BookingsClosed { tenant: &tenant });
            return;
        }
        let salon = self.env.is_salon();
        self.say(Msg::Greeting {
            tenant: &tenant,
            salon,
        });
    }

    fn hours(&mut self) {
        let lang = self.env.lang;
        match &self.env.settings {
            Some(s) => {
                let hours = super::render::opening_hours(lang, s.settings(), self.env.today());
                self.say(Msg::Hours { hours: &hours });
            }
            None => {
                let tenant = self.env.tenant();
                self.say(Msg::NoHours { tenant: &tenant });
            }
        }
    }

    fn address(&mut self) {
        let tenant = self.env.tenant();
        match self.env.ctx.address.as_deref().map(str::trim) {
            Some(address) if !address.is_empty() => {
                let address = fit(address, 300);
                self.say(Msg::Address {
                    tenant: &tenant,
                    address: &address,
                });
            }
            _ => self.say(Msg::NoAddress { tenant: &tenant }),
        }
    }

    fn not_understood(&mut self) {
        let sorry = self.text(Msg::NotUnderstood);
        match self.awaiting {
            Awaiting::Detail { .. } | Awaiting::BookingConfirmation => {
                self.ask_next(Some(sorry), None);
            }
            _ => {
                let salon = self.env.is_salon();
                let help = self.text(Msg::Help { salon });
                self.reply(
                    ReplyPurpose::Answer,
                    super::render::text(&format!("{sorry} {help}")),
                );
            }
        }
    }
}
