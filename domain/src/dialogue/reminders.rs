//! Reminders of upcoming bookings: the scheduler's `RemindOf` decided against what the
//! conversation knows, and the customer's `attend:<id>` tap on a reminder.
//!
//! Invariants: a reminder id is decided once (`ReminderSent` or `ReminderSkipped`), so the
//! scheduler may repeat a command after a crash, from a second process or after a rebuild of its
//! schedule and nothing is sent twice; nothing is sent to an opted-out customer, during a
//! hand-off, or for a booking that is not upcoming (cancelled, rejected, being cancelled, begun).

use jiff::Timestamp;
use uuid::Uuid;

use super::catalogue::{label, Label, Msg};
use super::render::{buttons, text};
use super::state::DialogueState;
use super::turn::Turn;
use super::{DialogueContext, Env};
use crate::conversation::{ConversationEvent, ReminderSkip};
use crate::ids::AppointmentId;
use crate::reply::ReplyPurpose;

/// The scheduler says a reminder of `appointment_id` is due at `now`.
pub fn on_reminder(
    state: &DialogueState,
    reminder_id: Uuid,
    appointment_id: AppointmentId,
    now: Timestamp,
    ctx: &DialogueContext,
) -> Vec<ConversationEvent> {
    if state.reminders.contains(&reminder_id) {
        return Vec::new();
    }
    let Some(subject) = state.subject else {
        return Vec::new();
    };
    let booking = state
        .bookings
        .get(&appointment_id)
        .filter(|b| b.is_upcoming(now) && !state.cancelling(appointment_id));
    let skip = if state.opted_out {
        Some(ReminderSkip::OptedOut)
    } else if state.handed_off {
        Some(ReminderSkip::HandedOff)
    } else if booking.is_none() {
        Some(ReminderSkip::NotActive)
    } else {
        None
    };
    if let Some(reason) = skip {
        return vec![ConversationEvent::ReminderSkipped {
            reminder_id,
            appointment_id,
            reason,
        }];
    }
    let Some(b) = booking else {
        return Vec::new();
    };
    let env = Env::new(ctx, state.language, now, subject);
    let mut turn = Turn::new(state, env, reminder_id.to_string());
    turn.emit(ConversationEvent::ReminderSent {
        reminder_id,
        appointment_id,
    });
    let lang = turn.env.lang;
    let booked = turn.booking_line(b, &b.slot);
    let tenant = turn.env.tenant();
    let body = turn.text(Msg::Reminder {
        line: &booked,
        tenant: &tenant,
    });
    let choices = [
        (
            format!("attend:{appointment_id}"),
            label(lang, Label::Confirm),
        ),
        (
            format!("cancel:{appointment_id}"),
            label(lang, Label::CancelIt),
        ),
    ];
    turn.reply(ReplyPurpose::Reminder, buttons(&body, &choices));
    turn.finish()
}

impl Turn<'_> {
    /// "Confirm" on a reminder: recorded once per appointment, thanked every time.
    pub(super) fn attend(&mut self, appointment_id: AppointmentId) {
        let upcoming = self
            .state
            .bookings
            .get(&appointment_id)
            .is_some_and(|b| b.is_upcoming(self.env.now));
        if !upcoming {
            self.say(Msg::NoBookings);
            return;
        }
        if !self.state.attending.contains(&appointment_id) {
            self.emit(ConversationEvent::AttendanceConfirmed { appointment_id });
        }
        let tenant = self.env.tenant();
        let body = text(&self.text(Msg::AttendanceConfirmed { tenant: &tenant }));
        self.reply(ReplyPurpose::Answer, body);
    }
}
