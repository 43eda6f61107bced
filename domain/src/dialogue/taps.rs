//! Taps on the assistant's own buttons and rows, answered by their ids (`confirm:<token>`,
//! `change`, `keep`, `svc:<n>`, `slot:<local start>`, `appt:<id>`, `cancel:<id>`,
//! `move:<id>`, `attend:<id>` from a reminder), and choosing or declining alternatives.

use jiff::civil::DateTime;

use super::catalogue::Msg;
use super::draft::{BookingDraft, Field};
use super::message::Input;
use super::state::{Awaiting, Request};
use super::turn::Turn;
use crate::availability::Wish;
use crate::conversation::AlternativesFor;
use crate::ids::AppointmentId;

impl Turn<'_> {
    /// A tap on one of our buttons or rows; false when the id means nothing now.
    pub(super) fn tapped(&mut self, id: &str, input: &Input<'_>) -> bool {
        if let Some(token) = id.strip_prefix("confirm:") {
            if self.draft.is_empty() {
                return true; // a second tap: already requested
            }
            if self.awaiting == Awaiting::BookingConfirmation && token == self.draft.token() {
                self.request_booking(input.profile.clone());
            } else {
                self.ask_next(None, input.profile.clone());
            }
            return true;
        }
        if id == "change" && !self.draft.is_empty() {
            self.awaiting = Awaiting::Nothing;
            self.say(Msg::WhatToChange);
            return true;
        }
        if id == "keep" {
            self.keep();
            return true;
        }
        if let Some(n) = id
            .strip_prefix("svc:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            let service = self
                .env
                .salon()
                .and_then(|s| s.services.get(n))
                .map(|s| s.id.clone());
            if let Some(service) = service {
                let mut draft = self.draft.clone();
                draft.service = Some(service);
                self.continue_draft(draft, input.profile.clone());
                return true;
            }
        }
        if let Some(start) = id
            .strip_prefix("slot:")
            .and_then(|s| s.parse::<DateTime>().ok())
        {
            return self.choose(start);
        }
        let appointment = |prefix: &str| {
            id.strip_prefix(prefix)
                .and_then(|x| x.parse::<uuid::Uuid>().ok())
                .map(AppointmentId::from_uuid)
        };
        if let Some(a) = appointment("appt:") {
            if let Awaiting::BookingChoice { change, .. } = self.awaiting {
                self.picked(change, a, input.u);
                return true;
            }
        }
        if let Some(a) = appointment("attend:") {
            self.attend(a);
            return true;
        }
        if let Some(a) = appointment("cancel:") {
            self.request_cancel(a);
            return true;
        }
        if let Some(a) = appointment("move:") {
            if let Awaiting::RescheduleConfirmation {
                appointment_id,
                wish,
            } = self.awaiting.clone()
            {
                if appointment_id == a {
                    self.request_move(a, wish);
                    return true;
                }
            }
        }
        false
    }

    /// The customer picked an alternative (a row or a time in text).
    pub(super) fn choose(&mut self, start: DateTime) -> bool {
        let Awaiting::Alternative { purpose, .. } = self.awaiting.clone() else {
            return false;
        };
        match purpose {
            AlternativesFor::Booking { request_id } => {
                let Some(Request::Booking {
                    wish, name, notes, ..
                }) = self.state.requests.get(&request_id).cloned()
                else {
                    return false;
                };
                let wish = Wish {
                    date: start.date(),
                    time: start.time(),
                    need: wish.need,
                };
                self.request(wish, name, notes);
            }
            AlternativesFor::Reschedule { appointment_id, .. } => {
                let Some(wished) = self.wished(&purpose) else {
                    return false;
                };
                let wish = Wish {
                    date: start.date(),
                    time: start.time(),
                    need: wished.need,
                };
                self.request_move(appointment_id, wish);
            }
        }
        true
    }

    /// What the alternatives were offered instead of.
    pub(super) fn wished(&self, purpose: &AlternativesFor) -> Option<Wish> {
        match purpose {
            AlternativesFor::Booking { request_id } => match self.state.requests.get(request_id) {
                Some(Request::Booking { wish, .. }) => Some(wish.clone()),
                _ => None,
            },
            AlternativesFor::Reschedule { request_id, .. } => {
                match self.state.requests.get(request_id) {
                    Some(Request::Reschedule { wish, .. }) => Some(wish.clone()),
                    _ => None,
                }
            }
        }
    }

    pub(super) fn decline_alternatives(&mut self, purpose: &AlternativesFor) {
        match purpose {
            AlternativesFor::Booking { request_id } => {
                if let Some(Request::Booking {
                    wish, name, notes, ..
                }) = self.state.requests.get(request_id)
                {
                    let mut draft =
                        BookingDraft::from_wish(wish, Some(name.clone()), notes.clone());
                    draft.date = None;
                    draft.time = None;
                    self.draft = draft;
                }
                self.awaiting = Awaiting::Detail { field: Field::Date };
                self.say(Msg::AskDate);
            }
            AlternativesFor::Reschedule { .. } => self.keep(),
        }
    }
}
