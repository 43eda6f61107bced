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

mod model;

pub use model::{Action, AppointmentError, AppointmentRequest, CancelledBy, ConfirmedBy, Status};

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::availability::{Need, Slot};
use crate::ids::{AppointmentId, SubjectId, TenantId};
use crate::personal::Personal;
use crate::schedule::ScheduleId;

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

/// What the aggregate remembers of a requested appointment (no personal data).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Booked {
    id: AppointmentId,
    tenant: TenantId,
    subject: Option<SubjectId>,
    /// Whose personal data the name, notes and reasons are.
    data_subject: SubjectId,
    request_id: Option<Uuid>,
    need: Need,
    slot: Slot,
    held_as: AppointmentId,
    /// Every hold id this appointment has used, the current one included.
    holds: BTreeSet<AppointmentId>,
    status: Status,
    notes: BTreeSet<Uuid>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
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

fn request_new(request: AppointmentRequest) -> Result<Vec<AppointmentEvent>, AppointmentError> {
    if !has_text(&request.name) {
        return Err(AppointmentError::MissingName);
    }
    if request.notes.as_ref().is_some_and(|n| !has_text(n)) {
        return Err(AppointmentError::EmptyText);
    }
    let owner = request.subject.unwrap_or(request.name.subject());
    let foreign = |p: &Personal<String>| p.subject() != owner;
    if foreign(&request.name) || request.notes.as_ref().is_some_and(foreign) {
        return Err(AppointmentError::ForeignPersonalData);
    }
    let auto = request.auto_confirm;
    let mut events = vec![AppointmentEvent::AppointmentRequested(Box::new(request))];
    if auto {
        events.push(AppointmentEvent::AppointmentConfirmed {
            by: ConfirmedBy::Automatic,
        });
    }
    Ok(events)
}

fn has_text(text: &Personal<String>) -> bool {
    text.value().is_some_and(|v| !v.trim().is_empty())
}

impl Booked {
    fn is_same_request(&self, request: &AppointmentRequest) -> bool {
        self.id == request.appointment_id
            && self.tenant == request.tenant
            && self.subject == request.subject
            && self.request_id == request.request_id
    }

    /// Checks free text given with a command: present, and the customer's.
    fn own_text(&self, text: &Personal<String>) -> Result<(), AppointmentError> {
        if !has_text(text) {
            return Err(AppointmentError::EmptyText);
        }
        if text.subject() != self.data_subject {
            return Err(AppointmentError::ForeignPersonalData);
        }
        Ok(())
    }

    fn decide(
        &self,
        command: AppointmentCommand,
    ) -> Result<Vec<AppointmentEvent>, AppointmentError> {
        use AppointmentEvent as E;
        use Status::*;
        let status = self.status;
        let invalid = |action| Err(AppointmentError::InvalidTransition { action, status });
        let once = |event| Ok(vec![event]);
        let nothing = || Ok(Vec::new());
        match command {
            // Answered by `Appointment::decide` before it gets here.
            AppointmentCommand::RequestAppointment(_) => nothing(),
            AppointmentCommand::ConfirmAppointment { by } => match status {
                Requested => once(E::AppointmentConfirmed { by }),
                Confirmed | Arrived | Seated | Completed => nothing(),
                _ => invalid(Action::Confirm),
            },
            AppointmentCommand::RejectAppointment { reason } => {
                reason.as_ref().map(|r| self.own_text(r)).transpose()?;
                match status {
                    Requested => once(E::AppointmentRejected { reason }),
                    Rejected => nothing(),
                    _ => invalid(Action::Reject),
                }
            }
            AppointmentCommand::RescheduleAppointment { to, held_as } => {
                if self.holds.contains(&held_as) {
                    return nothing();
                }
                match status {
                    Requested | Confirmed => once(E::AppointmentRescheduled {
                        from: self.slot.clone(),
                        to,
                        held_as,
                    }),
                    _ => invalid(Action::Reschedule),
                }
            }
            AppointmentCommand::CancelAppointment { by, reason } => {
                reason.as_ref().map(|r| self.own_text(r)).transpose()?;
                match status {
                    Requested | Confirmed => once(E::AppointmentCancelled { by, reason }),
                    Cancelled => nothing(),
                    _ => invalid(Action::Cancel),
                }
            }
            AppointmentCommand::AddNote { note_id, text } => {
                self.own_text(&text)?;
                if self.notes.contains(&note_id) {
                    return nothing();
                }
                once(E::AppointmentNoteAdded { note_id, text })
            }
            AppointmentCommand::RecordArrival => match status {
                Confirmed => once(E::CustomerArrived {}),
                Arrived | Seated | Completed => nothing(),
                _ => invalid(Action::RecordArrival),
            },
            AppointmentCommand::SeatCustomer => match status {
                Confirmed | Arrived => once(E::CustomerSeated {}),
                Seated | Completed => nothing(),
                _ => invalid(Action::Seat),
            },
            AppointmentCommand::CompleteAppointment => match status {
                Confirmed | Arrived | Seated => once(E::AppointmentCompleted {}),
                Completed => nothing(),
                _ => invalid(Action::Complete),
            },
            AppointmentCommand::MarkNoShow => match status {
                Confirmed => once(E::AppointmentNoShow {}),
                NoShow => nothing(),
                _ => invalid(Action::MarkNoShow),
            },
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
            let request = *request;
            self.booked = Some(Booked {
                id: request.appointment_id,
                tenant: request.tenant,
                subject: request.subject,
                data_subject: request.subject.unwrap_or(request.name.subject()),
                request_id: request.request_id,
                need: request.need,
                slot: request.slot,
                held_as: request.appointment_id,
                holds: BTreeSet::from([request.appointment_id]),
                status: Status::Requested,
                notes: BTreeSet::new(),
            });
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
