//! What happens in a conversation: the inbound record (messages, statuses) and the dialogue's
//! decisions (replies, drafts, requests, outcomes, hand-off, opt-out). Catalogued in
//! `docs/events.md`; every variant is version 1.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{InboundMessage, StatusReport};
use crate::availability::{Slot, Unavailable, Wish};
use crate::dialogue::{Awaiting, BookingDraft};
use crate::ids::AppointmentId;
use crate::personal::Personal;
use crate::reply::Reply;
use crate::understanding::{Intent, Language};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ConversationEvent {
    MessageReceived(Box<InboundMessage>),
    MessageStatusChanged(StatusReport),
    /// What the dialogue made of a message it answered (not of one only recorded).
    MessageRead {
        message_id: String,
        language: Language,
        intent: Intent,
        /// False when the assistant could not make sense of it; three in a row hand off.
        understood: bool,
    },
    /// A reply for the outbound queue. All of it is personal: it may quote the customer.
    ReplyQueued {
        reply_id: Uuid,
        reply: Personal<Reply>,
    },
    /// What has been collected for a new booking so far (empty: nothing, or abandoned).
    BookingDraftChanged {
        draft: BookingDraft,
    },
    /// What the assistant now waits for from the customer.
    AwaitingChanged {
        awaiting: Awaiting,
    },
    /// The customer confirmed: the process manager asks the schedule for this wish.
    BookingRequested {
        request_id: Uuid,
        appointment_id: AppointmentId,
        wish: Wish,
        name: Personal<String>,
        notes: Option<Personal<String>>,
    },
    /// Free slots near a wish that could not be had, offered as a list.
    AlternativesOffered {
        purpose: AlternativesFor,
        slots: Vec<Slot>,
    },
    CancellationRequested {
        request_id: Uuid,
        appointment_id: AppointmentId,
    },
    RescheduleRequested {
        request_id: Uuid,
        appointment_id: AppointmentId,
        wish: Wish,
    },
    /// The answer to one of this conversation's requests; the source of "my bookings".
    BookingOutcomeRecorded {
        request_id: Uuid,
        appointment_id: AppointmentId,
        outcome: RecordedOutcome,
    },
    /// Staff changed one of the customer's appointments and the customer was told.
    AppointmentChangeNotified {
        appointment_id: AppointmentId,
        change: StaffChange,
    },
    HandedOffToStaff {
        reason: HandOffReason,
    },
    HandedBack,
    /// A reminder of an upcoming appointment was queued (its `ReplyQueued` follows).
    ReminderSent {
        reminder_id: Uuid,
        appointment_id: AppointmentId,
    },
    /// A reminder was due but not sent, and why; it is never tried again.
    ReminderSkipped {
        reminder_id: Uuid,
        appointment_id: AppointmentId,
        reason: ReminderSkip,
    },
    /// The customer tapped "Confirm" on a reminder: they will come.
    AttendanceConfirmed {
        appointment_id: AppointmentId,
    },
    OptedOut,
    OptedIn,
}

/// What a list of alternatives is for: choosing a row re-requests it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AlternativesFor {
    /// A new booking: the name, notes and need come from this earlier request.
    Booking { request_id: Uuid },
    /// Moving a booking: the wish comes from this earlier request.
    Reschedule {
        appointment_id: AppointmentId,
        request_id: Uuid,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    /// Requested; staff still have to confirm it.
    AwaitingStaff,
    Rejected,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RecordedOutcome {
    Booked { slot: Slot, status: BookingStatus },
    BookingUnavailable { reason: Unavailable },
    Cancelled,
    CancellationRefused { reason: CancelRefusal },
    Moved { slot: Slot },
    MoveUnavailable { reason: Unavailable },
}

/// Why the appointment side would not cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelRefusal {
    /// Past the tenant's cancellation deadline.
    TooLate,
    /// Already cancelled, rejected, completed or unknown.
    NotActive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffChange {
    Confirmed,
    Rejected,
    Cancelled,
}

/// Why a due reminder was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderSkip {
    /// The customer opted out (STOP).
    OptedOut,
    /// Staff hold the chat.
    HandedOff,
    /// The conversation knows no such booking, or it is cancelled, rejected, being cancelled
    /// or already begun.
    NotActive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOffReason {
    /// The customer asked for a person.
    Asked,
    /// Several messages in a row were not understood.
    Misunderstood,
}

impl ConversationEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageReceived(_) => "MessageReceived",
            Self::MessageStatusChanged(_) => "MessageStatusChanged",
            Self::MessageRead { .. } => "MessageRead",
            Self::ReplyQueued { .. } => "ReplyQueued",
            Self::BookingDraftChanged { .. } => "BookingDraftChanged",
            Self::AwaitingChanged { .. } => "AwaitingChanged",
            Self::BookingRequested { .. } => "BookingRequested",
            Self::AlternativesOffered { .. } => "AlternativesOffered",
            Self::CancellationRequested { .. } => "CancellationRequested",
            Self::RescheduleRequested { .. } => "RescheduleRequested",
            Self::BookingOutcomeRecorded { .. } => "BookingOutcomeRecorded",
            Self::AppointmentChangeNotified { .. } => "AppointmentChangeNotified",
            Self::HandedOffToStaff { .. } => "HandedOffToStaff",
            Self::HandedBack => "HandedBack",
            Self::ReminderSent { .. } => "ReminderSent",
            Self::ReminderSkipped { .. } => "ReminderSkipped",
            Self::AttendanceConfirmed { .. } => "AttendanceConfirmed",
            Self::OptedOut => "OptedOut",
            Self::OptedIn => "OptedIn",
        }
    }
}
