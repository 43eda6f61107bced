//! The values of an appointment's life: what is requested, who acts, where it stands, and the
//! errors of a transition that is not allowed.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::availability::{Need, Slot};
use crate::ids::{AppointmentId, SubjectId, TenantId};
use crate::personal::Personal;

/// A booking to record, once its slot is held on the schedule under `appointment_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentRequest {
    pub appointment_id: AppointmentId,
    pub tenant: TenantId,
    /// The customer; absent for a booking staff take by phone or at the door.
    pub subject: Option<SubjectId>,
    /// The conversation's booking request that led here, when it came by chat.
    pub request_id: Option<Uuid>,
    pub slot: Slot,
    pub need: Need,
    /// The name the table is under. Under `subject` when there is one.
    pub name: Personal<String>,
    /// Anything the customer asked for (allergies, a high chair). Under the same subject.
    pub notes: Option<Personal<String>>,
    /// The tenant confirms automatically: the request is confirmed at once.
    pub auto_confirm: bool,
}

/// Who confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmedBy {
    /// The tenant's auto-confirm setting.
    Automatic,
    Staff,
}

/// Who cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Customer,
    Staff,
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Its slot is held; staff have yet to confirm.
    Requested,
    Confirmed,
    Rejected,
    Cancelled,
    Arrived,
    Seated,
    Completed,
    NoShow,
}

impl Status {
    /// Whether the appointment should still occupy its slot on the schedule. When it stops
    /// (rejected, cancelled, no-show) the process manager releases it there.
    pub fn holds_slot(self) -> bool {
        !matches!(self, Status::Rejected | Status::Cancelled | Status::NoShow)
    }

    /// Whether the appointment may still move: only a booking still ahead (an arrived or
    /// seated one keeps its table).
    pub fn can_move(self) -> bool {
        matches!(self, Status::Requested | Status::Confirmed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Requested => "awaiting confirmation",
            Status::Confirmed => "confirmed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Arrived => "under way (the customer has arrived)",
            Status::Seated => "under way (the customer is seated)",
            Status::Completed => "completed",
            Status::NoShow => "marked as a no-show",
        })
    }
}

/// What a command tried to do, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Confirm,
    Reject,
    Reschedule,
    Cancel,
    RecordArrival,
    Seat,
    Complete,
    MarkNoShow,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Confirm => "confirm",
            Action::Reject => "reject",
            Action::Reschedule => "reschedule",
            Action::Cancel => "cancel",
            Action::RecordArrival => "record the arrival for",
            Action::Seat => "seat",
            Action::Complete => "complete",
            Action::MarkNoShow => "mark as a no-show",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppointmentError {
    #[error("no such appointment")]
    NotFound,
    #[error("this appointment was already requested with other details")]
    AlreadyRequested,
    #[error("cannot {action} an appointment that is {status}")]
    InvalidTransition { action: Action, status: Status },
    #[error("a booking needs a name")]
    MissingName,
    #[error("a note or reason cannot be empty")]
    EmptyText,
    #[error("personal data must belong to the appointment's customer")]
    ForeignPersonalData,
}
