//! Answers from the appointment side (through the process manager) and staff actions, turned
//! into replies. Each is recorded at most once: a request id whose outcome is known, or a
//! staff change the conversation already reflects, emits nothing.

use jiff::Timestamp;
use uuid::Uuid;

use super::catalogue::{label, Label, Msg};
use super::draft::{BookingDraft, Field};
use super::render::{hh_mm, line, list, short_date, text, when, MAX_OFFERED};
use super::state::{Awaiting, DialogueState, Request};
use super::turn::Turn;
use super::{DialogueContext, Env};
use crate::availability::{Assignment, Slot, Wish};
use crate::conversation::{
    AlternativesFor, AppointmentChange, BookingOutcome, BookingStatus, CancelRefusal,
    CancellationOutcome, ConversationEvent, RecordedOutcome, RescheduleOutcome, StaffChange,
};
use crate::ids::AppointmentId;
use crate::reply::{fit, ReplyPurpose};

/// Outcomes never look at "now" (nothing they decide depends on it).
fn outcome_turn<'a>(
    state: &'a DialogueState,
    ctx: &'a DialogueContext,
    cause: String,
) -> Option<Turn<'a>> {
    let subject = state.subject?;
    let env = Env::new(ctx, state.language, Timestamp::UNIX_EPOCH, subject);
    Some(Turn::new(state, env, cause))
}

pub fn on_booking_outcome(
    state: &DialogueState,
    request_id: Uuid,
    outcome: BookingOutcome,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    if state.outcomes.contains(&request_id) {
        return Vec::new();
    }
    let Some(Request::Booking {
        appointment_id,
        wish,
        name,
        notes,
    }) = state.requests.get(&request_id).cloned()
    else {
        return Vec::new();
    };
    let Some(mut turn) = outcome_turn(state, ctx, request_id.to_string()) else {
        return Vec::new();
    };
    match outcome {
        BookingOutcome::Confirmed {
            appointment_id,
            slot,
        } => {
            let booked = turn.slot_line(&slot, &wish.need, &name);
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::Booked {
                    slot,
                    status: BookingStatus::Confirmed,
                },
            });
            let tenant = turn.env.tenant();
            let body = text(&turn.text(Msg::Confirmed {
                line: &booked,
                tenant: &tenant,
            }));
            turn.reply(ReplyPurpose::BookingConfirmed, body);
        }
        BookingOutcome::AwaitingStaff {
            appointment_id,
            slot,
        } => {
            let booked = turn.slot_line(&slot, &wish.need, &name);
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::Booked {
                    slot,
                    status: BookingStatus::AwaitingStaff,
                },
            });
            turn.say(Msg::AwaitingStaff { line: &booked });
        }
        BookingOutcome::Unavailable {
            reason,
            alternatives,
        } => {
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::BookingUnavailable { reason },
            });
            let restart = BookingDraft::from_wish(&wish, Some(name), notes);
            turn.offer_alternatives(
                AlternativesFor::Booking { request_id },
                &wish,
                alternatives,
                Some(restart),
            );
        }
    }
    turn.finish()
}

pub fn on_cancellation_outcome(
    state: &DialogueState,
    request_id: Uuid,
    appointment_id: AppointmentId,
    outcome: CancellationOutcome,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    if state.outcomes.contains(&request_id)
        || !matches!(
            state.requests.get(&request_id),
            Some(Request::Cancellation { .. })
        )
    {
        return Vec::new();
    }
    let Some(mut turn) = outcome_turn(state, ctx, request_id.to_string()) else {
        return Vec::new();
    };
    let booked = state
        .bookings
        .get(&appointment_id)
        .map(|b| turn.booking_line(b, &b.slot))
        .unwrap_or_default();
    match outcome {
        CancellationOutcome::Cancelled => {
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::Cancelled,
            });
            let body = text(&turn.text(Msg::Cancelled { line: &booked }));
            turn.reply(ReplyPurpose::BookingCancelled, body);
        }
        CancellationOutcome::Refused { reason } => {
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::CancellationRefused { reason },
            });
            let tenant = turn.env.tenant();
            turn.say(Msg::CancelRefused {
                too_late: reason == CancelRefusal::TooLate,
                tenant: &tenant,
            });
        }
    }
    turn.finish()
}

pub fn on_reschedule_outcome(
    state: &DialogueState,
    request_id: Uuid,
    appointment_id: AppointmentId,
    outcome: RescheduleOutcome,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    if state.outcomes.contains(&request_id) {
        return Vec::new();
    }
    let Some(Request::Reschedule { wish, .. }) = state.requests.get(&request_id).cloned() else {
        return Vec::new();
    };
    let Some(mut turn) = outcome_turn(state, ctx, request_id.to_string()) else {
        return Vec::new();
    };
    match outcome {
        RescheduleOutcome::Moved { slot } => {
            let moved = match state.bookings.get(&appointment_id) {
                Some(b) => turn.slot_line(&slot, &wish.need, &b.name),
                None => when(turn.env.lang, slot.start),
            };
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::Moved { slot },
            });
            let body = text(&turn.text(Msg::Moved { line: &moved }));
            turn.reply(ReplyPurpose::BookingRescheduled, body);
        }
        RescheduleOutcome::Unavailable {
            reason,
            alternatives,
        } => {
            turn.emit(ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome: RecordedOutcome::MoveUnavailable { reason },
            });
            turn.offer_alternatives(
                AlternativesFor::Reschedule {
                    appointment_id,
                    request_id,
                },
                &wish,
                alternatives,
                None,
            );
        }
    }
    turn.finish()
}

pub fn on_staff_change(
    state: &DialogueState,
    appointment_id: AppointmentId,
    change: AppointmentChange,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    let Some(b) = state.bookings.get(&appointment_id) else {
        return Vec::new();
    };
    let (kind, reason) = match &change {
        AppointmentChange::ConfirmedByStaff => (StaffChange::Confirmed, None),
        AppointmentChange::RejectedByStaff { reason } => (StaffChange::Rejected, reason.as_deref()),
        AppointmentChange::CancelledByStaff { reason } => {
            (StaffChange::Cancelled, reason.as_deref())
        }
    };
    let status = super::state::staff_status(kind);
    if b.status == status || state.notified.contains(&(appointment_id, kind)) {
        return Vec::new();
    }
    let cause = format!("{appointment_id}/{kind:?}");
    let Some(mut turn) = outcome_turn(state, ctx, cause) else {
        return Vec::new();
    };
    turn.emit(ConversationEvent::AppointmentChangeNotified {
        appointment_id,
        change: kind,
    });
    let booked = turn.booking_line(b, &b.slot);
    let (purpose, mut body) = match kind {
        StaffChange::Confirmed => (
            ReplyPurpose::BookingConfirmed,
            turn.text(Msg::StaffConfirmed { line: &booked }),
        ),
        StaffChange::Rejected => (
            ReplyPurpose::BookingCancelled,
            turn.text(Msg::StaffRejected { line: &booked }),
        ),
        StaffChange::Cancelled => (
            ReplyPurpose::BookingCancelled,
            turn.text(Msg::StaffCancelled { line: &booked }),
        ),
    };
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        let reason = fit(reason, 300);
        body = format!(
            "{body}\n{}",
            turn.text(Msg::StaffReason { reason: &reason })
        );
    }
    turn.reply(purpose, text(&body));
    turn.finish()
}

pub fn on_hand_back(state: &DialogueState) -> Vec<ConversationEvent> {
    if state.handed_off {
        vec![ConversationEvent::HandedBack]
    } else {
        Vec::new()
    }
}

impl Turn<'_> {
    /// Up to five alternatives as a list; with none, the customer is asked for another day.
    fn offer_alternatives(
        &mut self,
        purpose: AlternativesFor,
        wish: &Wish,
        alternatives: Vec<Slot>,
        restart: Option<BookingDraft>,
    ) {
        let lang = self.env.lang;
        let what = line([short_date(lang, wish.date), hh_mm(wish.time)]);
        let mut slots: Vec<Slot> = Vec::new();
        for s in alternatives {
            if slots.len() < MAX_OFFERED && !slots.iter().any(|x| x.start == s.start) {
                slots.push(s);
            }
        }
        if slots.is_empty() {
            self.say(Msg::NothingNear { what: &what });
            match (&purpose, restart) {
                (AlternativesFor::Booking { .. }, Some(mut draft)) => {
                    draft.date = None;
                    draft.time = None;
                    self.draft = draft;
                    self.awaiting = Awaiting::Detail { field: Field::Date };
                }
                (AlternativesFor::Reschedule { appointment_id, .. }, _) => {
                    self.awaiting = Awaiting::NewTime {
                        appointment_id: *appointment_id,
                    };
                }
                _ => self.awaiting = Awaiting::Nothing,
            }
            return;
        }
        let rows = slots
            .iter()
            .map(|s| {
                let id = format!("slot:{}T{}", s.start.date(), hh_mm(s.start.time()));
                (id, when(lang, s.start), self.slot_note(s))
            })
            .collect();
        self.emit(ConversationEvent::AlternativesOffered { purpose, slots });
        let body = self.text(Msg::Taken { what: &what });
        self.reply(
            ReplyPurpose::Answer,
            list(&body, label(lang, Label::FreeTimes), rows),
        );
    }

    /// A row's description: the staff member for salons, the service period otherwise.
    fn slot_note(&self, slot: &Slot) -> Option<String> {
        let name = match &slot.assignment {
            Assignment::Resource(r) => self
                .env
                .salon()
                .and_then(|s| s.resources.iter().find(|x| &x.id == r))
                .map_or(r.as_str(), |x| x.name.as_str()),
            _ => slot.period.as_str(),
        };
        (!name.trim().is_empty()).then(|| fit(name, crate::reply::MAX_ROW_DESCRIPTION))
    }
}
