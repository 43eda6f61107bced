//! The `Schedule` aggregate: the consistency boundary of the capacity rule (ADR 0009). One per
//! tenant and service date (aggregate id `"{tenant}/{YYYY-MM-DD}"`, [`ScheduleId`]); it holds
//! the bookings of that date and decides every reservation on it with `availability::check`.
//!
//! Invariants:
//! - every held booking was accepted by `check` against all bookings held at that moment (less
//!   the one it replaces), with the settings the command carried; its slot's service date is
//!   this schedule's date, so two racers for one slot always meet on the same aggregate and the
//!   event store lets only one of them append;
//! - an id is answered once: reserved or refused, and a released id stays released. A command
//!   repeated by a replaying process manager emits nothing, so no second decision is ever made;
//! - no personal data: a schedule knows appointment ids, instants, party sizes, tables and
//!   resources only.

mod id;

pub use id::{service_date_of, BadScheduleId, ScheduleId};

use std::collections::BTreeMap;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::availability::{
    check, Assignment, Booking, BookingSettings, Load, Minutes, Need, SettingsError, Slot,
    Unavailable, Wish,
};
use crate::ids::AppointmentId;

/// A request to hold a slot for an appointment.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// The schedule this command is sent to; the wish must belong to its date.
    pub schedule: ScheduleId,
    /// The key the booking is held under: the appointment's id for its first slot, an id
    /// derived from the triggering event for a move (ADR 0009).
    pub appointment_id: AppointmentId,
    pub wish: Wish,
    /// The tenant's current settings; validated here.
    pub settings: BookingSettings,
    /// The reference instant for lead times.
    pub now: Timestamp,
    /// A booking this one replaces (a move): when it is held on this schedule it does not count
    /// against the new one, and a successful reservation releases it in the same append.
    pub replacing: Option<AppointmentId>,
}

#[derive(Debug, Clone)]
pub enum ScheduleCommand {
    Reserve(Box<Reservation>),
    Release { appointment_id: AppointmentId },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduleEvent {
    /// v1: the slot is held; `booking` is what later decisions count (tables, resource).
    SlotReserved {
        appointment_id: AppointmentId,
        slot: Slot,
        booking: Booking,
    },
    /// v1: the wish could not be held, and why. Final for this id.
    ReservationRefused {
        appointment_id: AppointmentId,
        wish: Wish,
        reason: Unavailable,
    },
    /// v1: the booking no longer occupies the schedule; `replaced_by` on a same-day move.
    SlotReleased {
        appointment_id: AppointmentId,
        replaced_by: Option<AppointmentId>,
    },
}

impl DomainEvent for ScheduleEvent {
    fn event_type(&self) -> String {
        match self {
            ScheduleEvent::SlotReserved { .. } => "SlotReserved",
            ScheduleEvent::ReservationRefused { .. } => "ReservationRefused",
            ScheduleEvent::SlotReleased { .. } => "SlotReleased",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("the booking settings are not valid: {0}")]
    InvalidSettings(#[from] SettingsError),
    #[error(
        "a wish for the service date {belongs_to} cannot be decided on the schedule of {schedule}"
    )]
    WrongDate {
        schedule: jiff::civil::Date,
        belongs_to: jiff::civil::Date,
    },
}

/// What became of one id on this schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum Answer {
    Held { slot: Slot, booking: Booking },
    Refused { reason: Unavailable },
    Released,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Schedule {
    answers: BTreeMap<AppointmentId, Answer>,
}

impl Schedule {
    /// What this schedule answered for an id, if it has seen it.
    pub fn answer(&self, id: AppointmentId) -> Option<&Answer> {
        self.answers.get(&id)
    }

    /// The bookings currently held, by id.
    pub fn held(&self) -> impl Iterator<Item = (AppointmentId, &Slot, &Booking)> {
        self.answers.iter().filter_map(|(id, answer)| match answer {
            Answer::Held { slot, booking } => Some((*id, slot, booking)),
            _ => None,
        })
    }

    fn holds(&self, id: AppointmentId) -> bool {
        matches!(self.answers.get(&id), Some(Answer::Held { .. }))
    }

    fn reserve(&self, r: Reservation) -> Result<Vec<ScheduleEvent>, ScheduleError> {
        if self.answers.contains_key(&r.appointment_id) {
            return Ok(Vec::new());
        }
        let settings = r.settings.validate()?;
        let wrong_date = |belongs_to| ScheduleError::WrongDate {
            schedule: r.schedule.date(),
            belongs_to,
        };
        let belongs_to = service_date_of(&settings, &r.wish);
        if belongs_to != r.schedule.date() {
            return Err(wrong_date(belongs_to));
        }
        let replaced = r.replacing.filter(|id| self.holds(*id));
        let others: Vec<Booking> = self
            .held()
            .filter(|(id, _, _)| Some(*id) != replaced)
            .map(|(_, _, booking)| booking.clone())
            .collect();
        let refused = |reason| ScheduleEvent::ReservationRefused {
            appointment_id: r.appointment_id,
            wish: r.wish.clone(),
            reason,
        };
        let slot = match check(&settings, &others, &r.wish, r.now) {
            Ok(slot) => slot,
            Err(reason) => return Ok(vec![refused(reason)]),
        };
        if slot.service_date != r.schedule.date() {
            return Err(wrong_date(slot.service_date));
        }
        let Some(booking) = booking_of(&slot, &r.wish.need) else {
            return Ok(vec![refused(Unavailable::WrongKindOfNeed)]);
        };
        let mut events = vec![ScheduleEvent::SlotReserved {
            appointment_id: r.appointment_id,
            slot,
            booking,
        }];
        if let Some(old) = replaced {
            events.push(ScheduleEvent::SlotReleased {
                appointment_id: old,
                replaced_by: Some(r.appointment_id),
            });
        }
        Ok(events)
    }

    fn release(&self, appointment_id: AppointmentId) -> Vec<ScheduleEvent> {
        if !self.holds(appointment_id) {
            return Vec::new();
        }
        vec![ScheduleEvent::SlotReleased {
            appointment_id,
            replaced_by: None,
        }]
    }
}

/// What a slot taken for `need` occupies; `None` when `check` assigned something the need
/// cannot take (it never does).
fn booking_of(slot: &Slot, need: &Need) -> Option<Booking> {
    let load = match (need, &slot.assignment) {
        (Need::Party { size }, Assignment::Tables(tables)) => Load::Party {
            size: *size,
            tables: tables.clone(),
        },
        (Need::Party { size }, Assignment::Covers) => Load::Party {
            size: *size,
            tables: Vec::new(),
        },
        (Need::Service { service, .. }, Assignment::Resource(resource)) => Load::Service {
            service: service.clone(),
            resource: resource.clone(),
        },
        _ => return None,
    };
    let minutes = slot.ends_at.duration_since(slot.starts_at).as_mins();
    Some(Booking {
        start: slot.starts_at,
        duration: Minutes(u32::try_from(minutes).ok()?),
        load,
    })
}

impl Aggregate for Schedule {
    const TYPE: &'static str = "Schedule";
    type Command = ScheduleCommand;
    type Event = ScheduleEvent;
    type Error = ScheduleError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ScheduleCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ScheduleError> {
        let events = match command {
            ScheduleCommand::Reserve(reservation) => self.reserve(*reservation)?,
            ScheduleCommand::Release { appointment_id } => self.release(appointment_id),
        };
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ScheduleEvent) {
        let (id, answer) = match event {
            ScheduleEvent::SlotReserved {
                appointment_id,
                slot,
                booking,
            } => (appointment_id, Answer::Held { slot, booking }),
            ScheduleEvent::ReservationRefused {
                appointment_id,
                reason,
                ..
            } => (appointment_id, Answer::Refused { reason }),
            ScheduleEvent::SlotReleased { appointment_id, .. } => {
                (appointment_id, Answer::Released)
            }
        };
        self.answers.insert(id, answer);
    }
}

#[cfg(test)]
mod tests;
