//! What the dialogue remembers of a conversation, rebuilt from its events alone (`apply`), so a
//! replay decides exactly as the first run did.
//!
//! Invariants: `outcomes` holds every request id whose outcome was recorded (an outcome is
//! recorded at most once); `bookings` holds the customer's appointments as the outcomes and
//! staff notifications reported them; `awaiting` is what the last reply asked for.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::draft::BookingDraft;
use crate::availability::{Need, Slot, Wish};
use crate::conversation::{
    AlternativesFor, BookingStatus, ConversationEvent, RecordedOutcome, StaffChange,
};
use crate::ids::{AppointmentId, SubjectId};
use crate::personal::Personal;
use crate::understanding::Language;

/// What the assistant's last question waits for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Awaiting {
    #[default]
    Nothing,
    /// One missing detail of the draft.
    Detail {
        field: super::Field,
    },
    /// The summary with Confirm / Change buttons.
    BookingConfirmation,
    /// A list of alternatives (set by `AlternativesOffered`).
    Alternative {
        purpose: AlternativesFor,
        slots: Vec<Slot>,
    },
    /// Which of several bookings to cancel or move.
    BookingChoice {
        change: ChangeKind,
        appointments: Vec<AppointmentId>,
    },
    CancelConfirmation {
        appointment_id: AppointmentId,
    },
    /// When to move the booking to.
    NewTime {
        appointment_id: AppointmentId,
    },
    RescheduleConfirmation {
        appointment_id: AppointmentId,
        wish: Wish,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Cancel,
    Reschedule,
}

/// A request sent and what it asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Request {
    Booking {
        appointment_id: AppointmentId,
        wish: Wish,
        name: Personal<String>,
        notes: Option<Personal<String>>,
    },
    Cancellation {
        appointment_id: AppointmentId,
    },
    Reschedule {
        appointment_id: AppointmentId,
        wish: Wish,
    },
}

/// One of the customer's appointments, as far as this conversation knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownBooking {
    pub slot: Slot,
    pub need: Need,
    pub name: Personal<String>,
    pub status: BookingStatus,
}

impl KnownBooking {
    pub fn is_upcoming(&self, now: Timestamp) -> bool {
        matches!(
            self.status,
            BookingStatus::Confirmed | BookingStatus::AwaitingStaff
        ) && self.slot.starts_at > now
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DialogueState {
    /// Learnt from the first message (the aggregate id).
    pub subject: Option<SubjectId>,
    /// The language of the last message read.
    pub language: Option<Language>,
    /// Messages not understood in a row.
    pub misses: u8,
    pub handed_off: bool,
    pub opted_out: bool,
    pub draft: BookingDraft,
    pub awaiting: Awaiting,
    pub requests: BTreeMap<Uuid, Request>,
    pub outcomes: HashSet<Uuid>,
    pub bookings: BTreeMap<AppointmentId, KnownBooking>,
    /// Reminders decided (sent or skipped): each is decided once.
    #[serde(default)]
    pub reminders: HashSet<Uuid>,
    /// Appointments whose customer confirmed they will come.
    #[serde(default)]
    pub attending: HashSet<AppointmentId>,
    /// Staff changes the customer was told of: each is told once, also when a replay brings an
    /// older change after a newer one.
    #[serde(default)]
    pub notified: HashSet<(AppointmentId, StaffChange)>,
}

impl DialogueState {
    pub fn apply(&mut self, event: &ConversationEvent) {
        match event {
            ConversationEvent::MessageReceived(m) => {
                self.subject.get_or_insert(m.content.subject());
            }
            ConversationEvent::MessageRead {
                language,
                understood,
                ..
            } => {
                self.language = Some(*language);
                self.misses = if *understood {
                    0
                } else {
                    self.misses.saturating_add(1)
                };
            }
            ConversationEvent::BookingDraftChanged { draft } => self.draft = draft.clone(),
            ConversationEvent::AwaitingChanged { awaiting } => self.awaiting = awaiting.clone(),
            ConversationEvent::AlternativesOffered { purpose, slots } => {
                self.awaiting = Awaiting::Alternative {
                    purpose: purpose.clone(),
                    slots: slots.clone(),
                }
            }
            ConversationEvent::BookingRequested {
                request_id,
                appointment_id,
                wish,
                name,
                notes,
            } => {
                self.draft = BookingDraft::default();
                self.awaiting = Awaiting::Nothing;
                let request = Request::Booking {
                    appointment_id: *appointment_id,
                    wish: wish.clone(),
                    name: name.clone(),
                    notes: notes.clone(),
                };
                self.requests.insert(*request_id, request);
            }
            ConversationEvent::CancellationRequested {
                request_id,
                appointment_id,
            } => {
                self.awaiting = Awaiting::Nothing;
                let request = Request::Cancellation {
                    appointment_id: *appointment_id,
                };
                self.requests.insert(*request_id, request);
            }
            ConversationEvent::RescheduleRequested {
                request_id,
                appointment_id,
                wish,
            } => {
                self.awaiting = Awaiting::Nothing;
                let request = Request::Reschedule {
                    appointment_id: *appointment_id,
                    wish: wish.clone(),
                };
                self.requests.insert(*request_id, request);
            }
            ConversationEvent::BookingOutcomeRecorded {
                request_id,
                appointment_id,
                outcome,
            } => {
                self.outcomes.insert(*request_id);
                self.record(*request_id, *appointment_id, outcome);
            }
            ConversationEvent::AppointmentChangeNotified {
                appointment_id,
                change,
            } => {
                self.notified.insert((*appointment_id, *change));
                if let Some(b) = self.bookings.get_mut(appointment_id) {
                    b.status = staff_status(*change);
                }
            }
            ConversationEvent::HandedOffToStaff { .. } => {
                self.handed_off = true;
                self.awaiting = Awaiting::Nothing;
            }
            ConversationEvent::HandedBack => {
                self.handed_off = false;
                self.misses = 0;
            }
            ConversationEvent::OptedOut => {
                self.opted_out = true;
                self.awaiting = Awaiting::Nothing;
            }
            ConversationEvent::OptedIn => self.opted_out = false,
            ConversationEvent::ReminderSent { reminder_id, .. }
            | ConversationEvent::ReminderSkipped { reminder_id, .. } => {
                self.reminders.insert(*reminder_id);
            }
            ConversationEvent::AttendanceConfirmed { appointment_id } => {
                self.attending.insert(*appointment_id);
            }
            ConversationEvent::MessageStatusChanged(_) | ConversationEvent::ReplyQueued { .. } => {}
        }
    }

    fn record(
        &mut self,
        request_id: Uuid,
        appointment_id: AppointmentId,
        outcome: &RecordedOutcome,
    ) {
        match outcome {
            RecordedOutcome::Booked { slot, status } => {
                if let Some(Request::Booking { wish, name, .. }) = self.requests.get(&request_id) {
                    let booking = KnownBooking {
                        slot: slot.clone(),
                        need: wish.need.clone(),
                        name: name.clone(),
                        status: *status,
                    };
                    self.bookings.insert(appointment_id, booking);
                }
            }
            RecordedOutcome::Cancelled => {
                if let Some(b) = self.bookings.get_mut(&appointment_id) {
                    b.status = BookingStatus::Cancelled;
                }
            }
            RecordedOutcome::Moved { slot } => {
                if let Some(b) = self.bookings.get_mut(&appointment_id) {
                    b.slot = slot.clone();
                }
            }
            RecordedOutcome::BookingUnavailable { .. }
            | RecordedOutcome::CancellationRefused { .. }
            | RecordedOutcome::MoveUnavailable { .. } => {}
        }
    }

    /// Whether the customer asked to cancel `appointment_id` and no answer came yet.
    pub fn cancelling(&self, appointment_id: AppointmentId) -> bool {
        self.requests.iter().any(|(id, r)| {
            matches!(r, Request::Cancellation { appointment_id: a } if *a == appointment_id)
                && !self.outcomes.contains(id)
        })
    }

    /// The customer's upcoming appointments, soonest first.
    pub fn upcoming(&self, now: Timestamp) -> Vec<(AppointmentId, &KnownBooking)> {
        let mut found: Vec<_> = self
            .bookings
            .iter()
            .filter(|(_, b)| b.is_upcoming(now))
            .map(|(id, b)| (*id, b))
            .collect();
        found.sort_by_key(|(_, b)| b.slot.starts_at);
        found
    }
}

/// The status a booking has after staff changed it.
pub(crate) fn staff_status(change: StaffChange) -> BookingStatus {
    match change {
        StaffChange::Confirmed => BookingStatus::Confirmed,
        StaffChange::Rejected => BookingStatus::Rejected,
        StaffChange::Cancelled => BookingStatus::Cancelled,
    }
}
