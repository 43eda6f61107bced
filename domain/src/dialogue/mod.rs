//! The dialogue: what the assistant answers, decided purely from the conversation's state, one
//! input (an inbound message or an outcome) and the tenant's `DialogueContext`. Nothing here
//! reads a clock: "now" is the inbound message's own timestamp, so a replay decides the same.
//!
//! Layout: `state` (what the conversation remembers, rebuilt from events), `draft` (a booking
//! being collected), `message` (answering an inbound message), `collect` (details, questions,
//! summary, request), `checks` (the wish against the settings), `taps` (button and row ids,
//! alternatives), `changes` (cancelling and moving), `outcomes` (answers from the appointment
//! side and staff), `reminders` (a due reminder, and the `attend:<id>` tap), `turn` (collects one decision's
//! events and replies, with derived ids),
//! `catalogue` (every sentence in it/en/es), `render` (dates, summaries, hours, bounded reply
//! bodies), `words` (services, staff, bare names, tap ids).
//!
//! Invariants: every reply passes `ReplyBody::validate` (rendering bounds every part, and
//! `render::checked` guards the result); after an opt-out nothing but its confirmation is sent
//! until an opt-in; after a hand-off nothing is sent until staff hand back; ids of replies and
//! requests are uuid v5 of the subject and the cause, so handling the same input twice decides
//! the same ids. See docs/dialogue.md.

mod catalogue;
mod changes;
mod checks;
mod collect;
mod draft;
mod message;
mod outcomes;
mod reminders;
mod render;
mod state;
mod taps;
mod turn;
mod words;

pub use draft::{BookingDraft, Field};
pub use message::on_message;
pub use outcomes::{
    on_booking_outcome, on_cancellation_outcome, on_hand_back, on_reschedule_outcome,
    on_staff_change,
};
pub use reminders::on_reminder;
pub use state::{Awaiting, ChangeKind, DialogueState, KnownBooking, Request};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::availability::{BookingSettings, Capacity, SalonCapacity, ValidSettings};
use crate::ids::SubjectId;
use crate::understanding::{self, Language};

/// Messages not understood in a row before the chat is handed to staff.
pub const HAND_OFF_AFTER: u8 = 3;

/// What the dialogue needs to know about the tenant, supplied with each command (built from
/// the tenant's settings read model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialogueContext {
    pub tenant_name: String,
    /// The languages the tenant speaks; the first is the default.
    pub languages: Vec<Language>,
    /// IANA zone name ("Europe/Rome"); dates and times are rendered in it.
    pub time_zone: String,
    pub address: Option<String>,
    /// `None`: the assistant chats but says bookings are not open.
    pub booking: Option<BookingSettings>,
    /// Whether bookings confirm without staff (informational: the outcome says which).
    pub auto_confirm: bool,
}

impl DialogueContext {
    pub fn default_language(&self) -> Language {
        self.languages.first().copied().unwrap_or(Language::It)
    }
}

/// The context resolved for one decision.
pub(crate) struct Env<'a> {
    pub ctx: &'a DialogueContext,
    pub lang: Language,
    pub zone: TimeZone,
    /// `None` when the tenant has no (valid) booking settings.
    pub settings: Option<ValidSettings>,
    /// The inbound message's timestamp; outcomes, which never look at it, pass the epoch.
    pub now: Timestamp,
    pub subject: SubjectId,
}

impl<'a> Env<'a> {
    pub fn new(
        ctx: &'a DialogueContext,
        lang: Option<Language>,
        now: Timestamp,
        subject: SubjectId,
    ) -> Self {
        Env {
            ctx,
            lang: lang.unwrap_or_else(|| ctx.default_language()),
            zone: TimeZone::get(&ctx.time_zone).unwrap_or(TimeZone::UTC),
            settings: ctx.booking.clone().and_then(|b| b.validate().ok()),
            now,
            subject,
        }
    }

    pub fn salon(&self) -> Option<&SalonCapacity> {
        match &self.settings.as_ref()?.settings().capacity {
            Capacity::Salon(salon) => Some(salon),
            Capacity::Restaurant(_) => None,
        }
    }

    pub fn is_salon(&self) -> bool {
        self.salon().is_some()
    }

    pub fn today(&self) -> Date {
        self.now.to_zoned(self.zone.clone()).date()
    }

    pub fn tenant(&self) -> String {
        crate::reply::fit(self.ctx.tenant_name.trim(), render::MAX_PART)
    }

    /// The understanding context for a message in this conversation.
    pub fn understanding(&self) -> understanding::Context {
        let mut periods: Vec<understanding::ServicePeriod> = Vec::new();
        if let Some(s) = &self.settings {
            let week = &s.settings().weekly;
            let all = crate::availability::ALL_WEEKDAYS
                .iter()
                .flat_map(|day| week.day(*day));
            for p in all {
                if !periods.iter().any(|q| q.name.eq_ignore_ascii_case(&p.name)) {
                    periods.push(understanding::ServicePeriod {
                        name: p.name.clone(),
                        from: p.from,
                        to: p.to,
                    });
                }
            }
        }
        understanding::Context {
            now: self.now,
            time_zone: self.zone.clone(),
            default_language: self.lang,
            forced_language: None,
            service_periods: periods,
        }
    }
}
