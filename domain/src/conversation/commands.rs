//! What the Conversation is asked to do: record what WhatsApp delivers (and answer it when a
//! dialogue context comes along), and hear the outcomes the process manager brings back.

use uuid::Uuid;

use super::{InboundMessage, StatusReport};
use crate::availability::{Slot, Unavailable};
use crate::dialogue::DialogueContext;
use crate::ids::AppointmentId;

#[derive(Debug, Clone)]
pub enum ConversationCommand {
    /// Record a message; answer it when `context` is given and the message may be answered.
    ReceiveMessage {
        message: Box<InboundMessage>,
        context: Option<Box<DialogueContext>>,
    },
    RecordStatus(StatusReport),
    /// The schedule's answer to a `BookingRequested`.
    RecordBookingOutcome {
        request_id: Uuid,
        outcome: BookingOutcome,
        context: Box<DialogueContext>,
    },
    /// The appointment's answer to a `CancellationRequested`.
    RecordCancellationOutcome {
        request_id: Uuid,
        appointment_id: AppointmentId,
        outcome: CancellationOutcome,
        context: Box<DialogueContext>,
    },
    /// The schedule's answer to a `RescheduleRequested`.
    RecordRescheduleOutcome {
        request_id: Uuid,
        appointment_id: AppointmentId,
        outcome: RescheduleOutcome,
        context: Box<DialogueContext>,
    },
    /// Staff changed one of the customer's appointments: tell the customer.
    NotifyAppointment {
        appointment_id: AppointmentId,
        change: AppointmentChange,
        context: Box<DialogueContext>,
    },
    /// Staff give the chat back to the assistant.
    HandBack,
    /// The reminder scheduler: remind the customer of an upcoming appointment. `reminder_id`
    /// is derived from the appointment, the offset and the slot's start, so a repeat (a crash
    /// before the scheduler marked it sent, a second process, a rebuilt schedule) is a no-op.
    /// `now` is the scheduler's clock: a booking that starts before it is not reminded of.
    RemindOf {
        reminder_id: Uuid,
        appointment_id: AppointmentId,
        now: jiff::Timestamp,
        context: Box<DialogueContext>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingOutcome {
    Confirmed {
        appointment_id: AppointmentId,
        slot: Slot,
    },
    /// Held for the tenant's staff to confirm.
    AwaitingStaff {
        appointment_id: AppointmentId,
        slot: Slot,
    },
    /// Nearest first, as `availability::alternatives` returns them (the dialogue shows 5).
    Unavailable {
        reason: Unavailable,
        alternatives: Vec<Slot>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancellationOutcome {
    Cancelled,
    Refused { reason: super::CancelRefusal },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RescheduleOutcome {
    Moved {
        slot: Slot,
    },
    Unavailable {
        reason: Unavailable,
        alternatives: Vec<Slot>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentChange {
    ConfirmedByStaff,
    /// `reason` is staff's own words, passed on to the customer as written.
    RejectedByStaff {
        reason: Option<String>,
    },
    CancelledByStaff {
        reason: Option<String>,
    },
}
