//! Collecting a booking: merging each message's details into the draft (bare answers count
//! for the question asked), asking for the first missing detail, the summary with Confirm /
//! Change, and the request once confirmed.

use super::catalogue::{label, Label, Msg};
use super::draft::{BookingDraft, Field};
use super::message::Input;
use super::render::{buttons, line, list, MAX_PART};
use super::state::Awaiting;
use super::turn::{derive, Turn};
use super::words;
use crate::availability::{PartySize, Wish};
use crate::conversation::ConversationEvent;
use crate::ids::AppointmentId;
use crate::personal::Personal;
use crate::reply::{fit, ReplyPurpose};
use crate::understanding::{understand, Intent, Language};

impl Turn<'_> {
    /// The draft with this message's details merged in (later mentions win), and whether it
    /// changed. A bare answer ("4", "8", "Rossi") counts for the detail being asked.
    pub(super) fn gather(&self, input: &Input<'_>) -> (BookingDraft, bool) {
        let u = input.u;
        let subject = self.env.subject;
        let mut d = self.draft.clone();
        let mut u = u.clone();
        if let Awaiting::Detail { field } = self.awaiting {
            let cue = |it: &str, en: &str, es: &str| match self.env.lang {
                Language::It => format!("{it} {}", input.text),
                Language::En => format!("{en} {}", input.text),
                Language::Es => format!("{es} {}", input.text),
            };
            let ctx = self.env.understanding();
            match field {
                Field::Party if u.party_size.is_none() => {
                    u.party_size = understand(&cue("per", "for", "para"), &ctx).party_size;
                }
                Field::Time if u.time.is_none() => {
                    u.time = understand(&cue("alle", "at", "a las"), &ctx).time;
                }
                Field::Name if u.name.is_none() && u.intent == Intent::Unknown => {
                    u.name = words::bare_name(input.text);
                }
                _ => {}
            }
        }
        if u.date.is_some() {
            d.date = u.date;
        }
        if u.time.is_some() {
            d.time = u.time;
        }
        if let Some(p) = u.party_size.and_then(|n| PartySize::new(n).ok()) {
            d.party = Some(p);
        }
        if let Some(n) = &u.name {
            d.name = Some(Personal::new(subject, fit(n, MAX_PART)));
        }
        if !u.notes.is_empty() {
            d.notes = Some(Personal::new(subject, fit(&u.notes.join("; "), 200)));
        }
        if let Some(salon) = self.env.salon() {
            if let Some(s) = words::find_service(input.text, salon) {
                d.service = Some(s);
            }
            // "Anna" in answer to "what name?" is the customer, not the stylist Anna.
            let naming = self.awaiting == Awaiting::Detail { field: Field::Name };
            if let Some(r) = words::find_resource(input.text, salon).filter(|_| !naming) {
                d.resource = Some(r);
            }
        }
        let changed = d != self.draft;
        (d, changed)
    }

    pub(super) fn continue_draft(&mut self, draft: BookingDraft, profile: Option<String>) {
        if self.env.settings.is_none() {
            let tenant = self.env.tenant();
            self.say(Msg::BookingsClosed { tenant: &tenant });
            return;
        }
        self.draft = draft;
        let problem = self.check_draft();
        self.ask_next(problem, profile);
    }

    /// Asks for the first missing detail, or shows the summary with Confirm / Change.
    pub(super) fn ask_next(&mut self, problem: Option<String>, profile: Option<String>) {
        let salon = self.env.is_salon();
        if self.draft.missing(salon) == Some(Field::Name) {
            if let Some(p) = profile {
                self.draft.name = Some(Personal::new(self.env.subject, fit(&p, MAX_PART)));
            }
        }
        let prefix = problem.map(|p| format!("{p}\n")).unwrap_or_default();
        let lang = self.env.lang;
        match self.draft.missing(salon) {
            Some(Field::Service) => {
                let rows = self
                    .env
                    .salon()
                    .map(|s| {
                        s.services
                            .iter()
                            .take(crate::reply::MAX_LIST_ROWS)
                            .enumerate()
                            .map(|(i, x)| {
                                let minutes = format!("{} min", x.duration.get());
                                (format!("svc:{i}"), x.name.clone(), Some(minutes))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let body = format!("{prefix}{}", self.text(Msg::AskService));
                self.reply(
                    ReplyPurpose::Answer,
                    list(&body, label(lang, Label::Services), rows),
                );
                self.awaiting = Awaiting::Detail {
                    field: Field::Service,
                };
            }
            Some(field) => {
                let question = self.question(field);
                self.reply(
                    ReplyPurpose::Answer,
                    super::render::text(&format!("{prefix}{question}")),
                );
                self.awaiting = Awaiting::Detail { field };
            }
            None => {
                let summary = self.draft_line();
                let body = format!("{prefix}{}", self.text(Msg::Summary { line: &summary }));
                let choices = [
                    (
                        format!("confirm:{}", self.draft.token()),
                        label(lang, Label::Confirm),
                    ),
                    ("change".to_string(), label(lang, Label::Change)),
                ];
                self.reply(ReplyPurpose::Answer, buttons(&body, &choices));
                self.awaiting = Awaiting::BookingConfirmation;
            }
        }
    }

    pub(super) fn question(&self, field: Field) -> String {
        match field {
            Field::Date | Field::Service => self.text(Msg::AskDate),
            Field::Time => {
                let lang = self.env.lang;
                let date = self
                    .draft
                    .date
                    .map(|d| super::render::short_date(lang, d))
                    .unwrap_or_default();
                let hours = match (&self.env.settings, self.draft.date) {
                    (Some(s), Some(d)) => super::render::periods(lang, s.periods_on(d)),
                    _ => String::new(),
                };
                self.text(Msg::AskTime {
                    date: &date,
                    hours: &hours,
                })
            }
            Field::Party => self.text(Msg::AskParty),
            Field::Name => self.text(Msg::AskName),
        }
    }

    /// "Sab 28/11 · 20:00 · 4 persone · Rossi" for the draft as it stands.
    pub(super) fn draft_line(&self) -> String {
        let lang = self.env.lang;
        let salon = self.env.is_salon();
        let mut parts = Vec::new();
        if let Some(d) = self.draft.date {
            parts.push(super::render::short_date(lang, d));
        }
        if let Some(t) = self.draft.time {
            parts.push(super::render::hh_mm(t));
        }
        if let Some(need) = self.draft.need(salon) {
            parts.extend(super::render::need_parts(
                lang,
                &need,
                self.env.settings.as_ref(),
            ));
        }
        if let Some(name) = self.draft.name.as_ref().and_then(Personal::value) {
            parts.push(fit(name, MAX_PART));
        }
        line(parts)
    }

    pub(super) fn request_booking(&mut self, profile: Option<String>) {
        let salon = self.env.is_salon();
        let (Some(wish), Some(name)) = (self.draft.wish(salon), self.draft.name.clone()) else {
            self.ask_next(None, profile);
            return;
        };
        let notes = self.draft.notes.clone();
        self.request(wish, name, notes);
    }

    pub(super) fn request(
        &mut self,
        wish: Wish,
        name: Personal<String>,
        notes: Option<Personal<String>>,
    ) {
        let request_id = self.derive("request", 0);
        let appointment_id = AppointmentId::from_uuid(derive(
            self.env.subject.as_uuid(),
            &request_id.to_string(),
            "appointment",
            0,
        ));
        self.emit(ConversationEvent::BookingRequested {
            request_id,
            appointment_id,
            wish,
            name,
            notes,
        });
    }
}
