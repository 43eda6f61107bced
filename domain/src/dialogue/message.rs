//! Answering one inbound message: opt-out and hand-off first, then taps on our own buttons and
//! rows by id (`taps`), then the question the assistant is waiting on, then the message's
//! intent; booking details go to `collect`, cancelling and moving to `changes`.

use jiff::Timestamp;

use super::catalogue::Msg;
use super::draft::BookingDraft;
use super::state::{Awaiting, ChangeKind, DialogueState};
use super::turn::Turn;
use super::{words, DialogueContext, Env, HAND_OFF_AFTER};
use crate::conversation::{AlternativesFor, ConversationEvent, HandOffReason, InboundMessage};
use crate::personal::Personal;
use crate::reply::{fit, ReplyPurpose};
use crate::understanding::{understand, Intent, Understanding};

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
    if SILENT_KINDS.contains(&message.kind.as_str()) {
        return Vec::new();
    }
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

/// Message types that are not said to the assistant: a reaction, a deletion, an edit (the
/// edited text is not re-read), a system notice. They are recorded and not answered.
const SILENT_KINDS: [&str; 4] = ["reaction", "revoke", "edit", "system"];

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
                    let wished = self.wished(&purpose).map(|w| w.time);
                    let time = u.time.or(on_date.map(|s| s.start.time())).or(wished);
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
