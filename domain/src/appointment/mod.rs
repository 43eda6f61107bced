//! The `Appointment` aggregate: one booking (a table or a salon appointment) from request to
//! completion. Aggregate id: the appointment's id ([`AppointmentId`]).
//!
//! An appointment is requested only once its slot is held on the tenant's `Schedule` (the
//! capacity boundary, ADR 0009): the schedule decides *whether* there is room, the appointment
//! records *what happens to the booking*. A process manager keeps the two in step: it releases
//! the hold when an appointment stops holding its slot ([`Status::holds_slot`]) and reserves the
//! new slot before a move.
//!
//! Invariants:
//! - life: requested -> confirmed (at once when auto-confirmed) | rejected; requested or
//!   confirmed -> rescheduled (same status) | cancelled; confirmed -> arrived -> seated ->
//!   completed, seated and completed reachable directly; confirmed -> no-show. Anything else is
//!   an `InvalidTransition` error;
//! - a command whose effect already holds (confirm twice, cancel twice, a move under a hold id
//!   already used, a note id already added) emits nothing, so a replaying process manager
//!   changes nothing;
//! - personal data (name, notes, reasons) is `Personal` under the customer's subject; the state
//!   keeps none of it, only the subject id.

mod life;
mod model;

pub use model::{Action, AppointmentError, AppointmentRequest, CancelledBy, ConfirmedBy, Status};

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::availability::{Need, Slot};
use crate::ids::{AppointmentId, SubjectId, TenantId};
use crate::personal::Personal;
use crate::schedule::ScheduleId;
use life::{request_new, Booked};

#[derive(Debug, Clone)]
pub enum AppointmentCommand {
    RequestAppointment(Box<AppointmentRequest>),
    ConfirmAppointment {
        by: ConfirmedBy,
    },
    RejectAppointment {
        reason: Option<Personal<String>>,
    },
    /// Move to `to`, already held on its schedule under `held_as`.
    RescheduleAppointment {
        to: Slot,
        held_as: AppointmentId,
    },
    CancelAppointment {
        by: CancelledBy,
        reason: Option<Personal<String>>,
    },
    AddNote {
        note_id: Uuid,
        text: Personal<String>,
    },
    RecordArrival,
    SeatCustomer,
    CompleteAppointment,
    MarkNoShow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AppointmentEvent {
    /// v1
    AppointmentRequested(Box<AppointmentRequest>),
    /// v1
    AppointmentConfirmed { by: ConfirmedBy },
    /// v1
    AppointmentRejected { reason: Option<Personal<String>> },
    /// v1: `held_as` is the id the schedule of `to` holds it under.
    AppointmentRescheduled {
        from: Slot,
        to: Slot,
        held_as: AppointmentId,
    },
    /// v1
    AppointmentCancelled {
        by: CancelledBy,
        reason: Option<Personal<String>>,
    },
    /// v1
    AppointmentNoteAdded {
        note_id: Uuid,
        text: Personal<String>,
    },
    /// v1
    CustomerArrived {},
    /// v1
    CustomerSeated {},
    /// v1
    AppointmentCompleted {},
    /// v1
    AppointmentNoShow {},
}

impl DomainEvent for AppointmentEvent {
    fn event_type(&self) -> String {
        match self {
            AppointmentEvent::AppointmentRequested(_) => "AppointmentRequested",
            AppointmentEvent::AppointmentConfirmed { .. } => "AppointmentConfirmed",
            AppointmentEvent::AppointmentRejected { .. } => "AppointmentRejected",
            AppointmentEvent::AppointmentRescheduled { .. } => "AppointmentRescheduled",
            AppointmentEvent::AppointmentCancelled { .. } => "AppointmentCancelled",
            AppointmentEvent::AppointmentNoteAdded { .. } => "AppointmentNoteAdded",
            AppointmentEvent::CustomerArrived {} => "CustomerArrived",
            AppointmentEvent::CustomerSeated {} => "CustomerSeated",
            AppointmentEvent::AppointmentCompleted {} => "AppointmentCompleted",
            AppointmentEvent::AppointmentNoShow {} => "AppointmentNoShow",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Appointment {
    booked: Option<Booked>,
}

impl Appointment {
    pub fn status(&self) -> Option<Status> {
        self.booked.as_ref().map(|b| b.status)
    }

    pub fn id(&self) -> Option<AppointmentId> {
        self.booked.as_ref().map(|b| b.id)
    }

    pub fn tenant(&self) -> Option<TenantId> {
        self.booked.as_ref().map(|b| b.tenant)
    }

    /// The customer, when the booking has one.
    pub fn subject(&self) -> Option<SubjectId> {
        self.booked.as_ref().and_then(|b| b.subject)
    }

    /// The subject the personal data of this appointment (name, notes, reasons) belongs to:
    /// the customer's, or the one staff created for the name of a booking without a customer.
    pub fn data_subject(&self) -> Option<SubjectId> {
        self.booked.as_ref().map(|b| b.data_subject)
    }

    pub fn request_id(&self) -> Option<Uuid> {
        self.booked.as_ref().and_then(|b| b.request_id)
    }

    pub fn need(&self) -> Option<&Need> {
        self.booked.as_ref().map(|b| &b.need)
    }

    /// The current slot.
    pub fn slot(&self) -> Option<&Slot> {
        self.booked.as_ref().map(|b| &b.slot)
    }

    /// The id the current slot is held under on its schedule.
    pub fn held_as(&self) -> Option<AppointmentId> {
        self.booked.as_ref().map(|b| b.held_as)
    }

    /// Whether `hold` is (or was) an id this appointment's slot was held under: a move under
    /// it has been recorded.
    pub fn has_held(&self, hold: AppointmentId) -> bool {
        self.booked
            .as_ref()
            .is_some_and(|b| b.holds.contains(&hold))
    }

    /// The schedule holding the current slot.
    pub fn schedule(&self) -> Option<ScheduleId> {
        self.booked
            .as_ref()
            .map(|b| ScheduleId::for_slot(b.tenant, &b.slot))
    }

    fn decide(
        &self,
        command: AppointmentCommand,
    ) -> Result<Vec<AppointmentEvent>, AppointmentError> {
        match (command, &self.booked) {
            (AppointmentCommand::RequestAppointment(request), None) => request_new(*request),
            (AppointmentCommand::RequestAppointment(request), Some(booked)) => {
                if booked.is_same_request(&request) {
                    Ok(Vec::new())
                } else {
                    Err(AppointmentError::AlreadyRequested)
                }
            }
            (_, None) => Err(AppointmentError::NotFound),
            (command, Some(booked)) => booked.decide(command),
        }
    }
}

impl Aggregate for Appointment {
    const TYPE: &'static str = "Appointment";
    type Command = AppointmentCommand;
    type Event = AppointmentEvent;
    type Error = AppointmentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: AppointmentCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AppointmentError> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: AppointmentEvent) {
        if let AppointmentEvent::AppointmentRequested(request) = event {
            self.booked = Some(Booked::requested(*request));
            return;
        }
        let Some(booked) = &mut self.booked else {
            return;
        };
        match event {
            AppointmentEvent::AppointmentRequested(_) => {}
            AppointmentEvent::AppointmentConfirmed { .. } => booked.status = Status::Confirmed,
            AppointmentEvent::AppointmentRejected { .. } => booked.status = Status::Rejected,
            AppointmentEvent::AppointmentRescheduled { to, held_as, .. } => {
                booked.slot = to;
                booked.held_as = held_as;
                booked.holds.insert(held_as);
            }
            AppointmentEvent::AppointmentCancelled { .. } => booked.status = Status::Cancelled,
            AppointmentEvent::AppointmentNoteAdded { note_id, .. } => {
                booked.notes.insert(note_id);
            }
            AppointmentEvent::CustomerArrived {} => booked.status = Status::Arrived,
            AppointmentEvent::CustomerSeated {} => booked.status = Status::Seated,
            AppointmentEvent::AppointmentCompleted {} => booked.status = Status::Completed,
            AppointmentEvent::AppointmentNoShow {} => booked.status = Status::NoShow,
        }
    }
}

#[cfg(test)]
mod tests;
