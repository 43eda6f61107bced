//! The transitions of an appointment's life: which command is done, ignored as a repeat, or
//! refused in each status (the table in `tests.rs` lists them all).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Action, AppointmentCommand, AppointmentError, AppointmentEvent, AppointmentRequest,
    ConfirmedBy, Status,
};
use crate::availability::{Need, Slot};
use crate::ids::{AppointmentId, SubjectId, TenantId};
use crate::personal::Personal;

/// What the aggregate remembers of a requested appointment (no personal data).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Booked {
    pub(super) id: AppointmentId,
    pub(super) tenant: TenantId,
    pub(super) subject: Option<SubjectId>,
    /// Whose personal data the name, notes and reasons are.
    pub(super) data_subject: SubjectId,
    pub(super) request_id: Option<Uuid>,
    pub(super) need: Need,
    pub(super) slot: Slot,
    pub(super) held_as: AppointmentId,
    /// Every hold id this appointment has used, the current one included.
    pub(super) holds: BTreeSet<AppointmentId>,
    pub(super) status: Status,
    pub(super) notes: BTreeSet<Uuid>,
}

pub(super) fn request_new(
    request: AppointmentRequest,
) -> Result<Vec<AppointmentEvent>, AppointmentError> {
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
    pub(super) fn requested(request: AppointmentRequest) -> Self {
        Booked {
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
        }
    }

    pub(super) fn is_same_request(&self, request: &AppointmentRequest) -> bool {
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

    pub(super) fn decide(
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
                if status.can_move() {
                    once(E::AppointmentRescheduled {
                        from: self.slot.clone(),
                        to,
                        held_as,
                    })
                } else {
                    invalid(Action::Reschedule)
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
