//! Cancelling and moving the customer's own bookings: find the upcoming ones (a list when
//! several), confirm with buttons, then request. The bookings known here are those the
//! outcomes of this conversation's requests reported.

use super::catalogue::{label, Label, Msg};
use super::render::{buttons, hh_mm, line, list, need_parts, short_date, when, MAX_PART};
use super::state::{Awaiting, ChangeKind, KnownBooking};
use super::turn::Turn;
use crate::availability::{check, Need, PartySize, Slot, Unavailable, Wish};
use crate::conversation::ConversationEvent;
use crate::ids::AppointmentId;
use crate::personal::Personal;
use crate::reply::{fit, ReplyPurpose};
use crate::understanding::Understanding;

impl Turn<'_> {
    pub(super) fn start_change(&mut self, change: ChangeKind, u: &Understanding) {
        let upcoming: Vec<(AppointmentId, KnownBooking)> = self
            .state
            .upcoming(self.env.now)
            .into_iter()
            .map(|(id, b)| (id, b.clone()))
            .collect();
        let on_date: Vec<AppointmentId> = upcoming
            .iter()
            .filter(|(_, b)| Some(b.slot.start.date()) == u.date)
            .map(|(id, _)| *id)
            .collect();
        match (upcoming.as_slice(), on_date.as_slice()) {
            ([], _) => {
                self.awaiting = Awaiting::Nothing;
                self.say(Msg::NoBookings);
            }
            ([(id, _)], _) | (_, [id]) => self.picked(change, *id, u),
            (several, _) => {
                let lang = self.env.lang;
                let rows: Vec<_> = several
                    .iter()
                    .take(crate::reply::MAX_LIST_ROWS)
                    .map(|(id, b)| {
                        let what = line(need_parts(lang, &b.need, self.env.settings.as_ref()));
                        (format!("appt:{id}"), when(lang, b.slot.start), Some(what))
                    })
                    .collect();
                let body = self.text(Msg::PickBooking { change });
                self.reply(
                    ReplyPurpose::Answer,
                    list(&body, label(lang, Label::Bookings), rows),
                );
                self.awaiting = Awaiting::BookingChoice {
                    change,
                    appointments: several.iter().take(10).map(|(id, _)| *id).collect(),
                };
            }
        }
    }

    /// One booking chosen: confirm the cancellation, or ask (or propose) the new time.
    pub(super) fn picked(&mut self, change: ChangeKind, id: AppointmentId, u: &Understanding) {
        let Some(b) = self.state.bookings.get(&id).cloned() else {
            self.say(Msg::NoBookings);
            return;
        };
        let lang = self.env.lang;
        let booking = self.booking_line(&b, &b.slot);
        match change {
            ChangeKind::Cancel => {
                let body = self.text(Msg::ConfirmCancel { line: &booking });
                let choices = [
                    (format!("cancel:{id}"), label(lang, Label::CancelIt)),
                    ("keep".to_string(), label(lang, Label::Keep)),
                ];
                self.reply(ReplyPurpose::Answer, buttons(&body, &choices));
                self.awaiting = Awaiting::CancelConfirmation { appointment_id: id };
            }
            ChangeKind::Reschedule => {
                if u.date.is_some() || u.time.is_some() || u.party_size.is_some() {
                    self.propose_move(id, u);
                } else {
                    self.say(Msg::AskNewTime { line: &booking });
                    self.awaiting = Awaiting::NewTime { appointment_id: id };
                }
            }
        }
    }

    /// The booking with the new date, time or party from the message, checked against the
    /// settings, put to the customer with Move / Keep.
    pub(super) fn propose_move(&mut self, id: AppointmentId, u: &Understanding) {
        let Some(b) = self.state.bookings.get(&id).cloned() else {
            self.say(Msg::NoBookings);
            return;
        };
        let mut need = b.need.clone();
        if let (Need::Party { size }, Some(p)) =
            (&mut need, u.party_size.and_then(|n| PartySize::new(n).ok()))
        {
            *size = p;
        }
        let wish = Wish {
            date: u.date.unwrap_or(b.slot.start.date()),
            time: u.time.unwrap_or(b.slot.start.time()),
            need,
        };
        let lang = self.env.lang;
        let from = self.booking_line(&b, &b.slot);
        if let Some(settings) = self.env.settings.clone() {
            if let Err(reason) = check(&settings, &[], &wish, self.env.now) {
                if reason != Unavailable::Full {
                    let problem = self.problem(&reason, wish.date, &settings);
                    let ask = self.text(Msg::AskNewTime { line: &from });
                    let body = problem.map_or(ask.clone(), |p| format!("{p}\n{ask}"));
                    self.reply(ReplyPurpose::Answer, super::render::text(&body));
                    self.awaiting = Awaiting::NewTime { appointment_id: id };
                    return;
                }
            }
        }
        let mut to = vec![short_date(lang, wish.date), hh_mm(wish.time)];
        if wish.need != b.need {
            to.extend(need_parts(lang, &wish.need, self.env.settings.as_ref()));
        }
        let to = line(to);
        let body = self.text(Msg::ConfirmMove {
            from: &from,
            to: &to,
        });
        let choices = [
            (format!("move:{id}"), label(lang, Label::MoveIt)),
            ("keep".to_string(), label(lang, Label::Keep)),
        ];
        self.reply(ReplyPurpose::Answer, buttons(&body, &choices));
        self.awaiting = Awaiting::RescheduleConfirmation {
            appointment_id: id,
            wish,
        };
    }

    pub(super) fn request_cancel(&mut self, appointment_id: AppointmentId) {
        if !self
            .state
            .bookings
            .get(&appointment_id)
            .is_some_and(|b| b.is_upcoming(self.env.now))
        {
            self.say(Msg::NoBookings);
            return;
        }
        let request_id = self.derive("request", 0);
        self.emit(ConversationEvent::CancellationRequested {
            request_id,
            appointment_id,
        });
    }

    pub(super) fn request_move(&mut self, appointment_id: AppointmentId, wish: Wish) {
        let request_id = self.derive("request", 0);
        self.emit(ConversationEvent::RescheduleRequested {
            request_id,
            appointment_id,
            wish,
        });
    }

    pub(super) fn keep(&mut self) {
        self.awaiting = Awaiting::Nothing;
        self.say(Msg::KeepIt);
    }

    /// "Sab 28/11 · 20:00 · 4 persone · Rossi" for a known booking at `slot`.
    pub(super) fn booking_line(&self, b: &KnownBooking, slot: &Slot) -> String {
        self.slot_line(slot, &b.need, &b.name)
    }

    pub(super) fn slot_line(&self, slot: &Slot, need: &Need, name: &Personal<String>) -> String {
        let lang = self.env.lang;
        let mut parts = vec![
            short_date(lang, slot.start.date()),
            hh_mm(slot.start.time()),
        ];
        parts.extend(need_parts(lang, need, self.env.settings.as_ref()));
        if let Some(n) = name.value() {
            parts.push(fit(n, MAX_PART));
        }
        line(parts)
    }
}
