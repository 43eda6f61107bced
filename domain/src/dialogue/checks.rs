//! Checking a wish against the tenant's settings alone (no bookings) before asking the
//! customer to confirm: a closed day, a time outside the hours, a party too large or a staff
//! member who does not do the service is said at once, and the detail is asked again.
//! Whether the slot is free is for the schedule to decide when the request arrives.

use jiff::civil::Date;

use super::catalogue::Msg;
use super::render::{periods, short_date, MAX_PART};
use super::turn::Turn;
use crate::availability::{check, Capacity, Unavailable, ValidSettings};
use crate::reply::fit;

/// How many problems one message can reveal (each clears one detail).
const MAX_PROBLEMS: usize = 3;

impl Turn<'_> {
    /// Clears the details the settings rule out, and says why.
    pub(super) fn check_draft(&mut self) -> Option<String> {
        let settings = self.env.settings.clone()?;
        let today = self.env.today();
        let lead = settings.settings().lead;
        let mut problems = Vec::new();
        if let Some(date) = self.draft.date {
            if date < today {
                self.draft.date = None;
                problems.push(self.text(Msg::TooSoon));
            } else if (date - today).get_days() > i32::from(lead.latest_days) {
                self.draft.date = None;
                problems.push(self.text(Msg::TooFarAhead {
                    days: lead.latest_days,
                }));
            } else if settings.periods_on(date).is_empty() {
                self.draft.date = None;
                let d = short_date(self.env.lang, date);
                problems.push(self.text(Msg::Closed { date: &d }));
            }
        }
        if let (Capacity::Restaurant(r), Some(party)) =
            (&settings.settings().capacity, self.draft.party)
        {
            if party > r.largest_party {
                self.draft.party = None;
                let max = r.largest_party.get();
                problems.push(self.text(Msg::PartyTooLarge { max }));
            }
        }
        let salon = self.env.is_salon();
        for _ in 0..MAX_PROBLEMS {
            let Some(wish) = self.draft.wish(salon) else {
                break;
            };
            let Err(reason) = check(&settings, &[], &wish, self.env.now) else {
                break;
            };
            if reason == Unavailable::Full {
                break;
            }
            let said = self.problem(&reason, wish.date, &settings);
            self.clear_for(&reason);
            problems.extend(said);
        }
        (!problems.is_empty()).then(|| problems.join("\n"))
    }

    /// The detail a reason rules out.
    fn clear_for(&mut self, reason: &Unavailable) {
        let d = &mut self.draft;
        match reason {
            Unavailable::TooSoon
            | Unavailable::OutsideHours
            | Unavailable::OffGrid
            | Unavailable::EndsAfterClosing
            | Unavailable::TimeDoesNotExist => d.time = None,
            Unavailable::TooFarAhead | Unavailable::Closed => d.date = None,
            Unavailable::PartyTooLarge => d.party = None,
            Unavailable::UnknownService | Unavailable::WrongKindOfNeed => {
                d.service = None;
                d.party = None;
            }
            Unavailable::UnknownResource | Unavailable::ResourceDoesNotOffer => d.resource = None,
            Unavailable::Full => {}
        }
    }

    /// What to tell the customer about a reason (some are fixed silently).
    pub(super) fn problem(
        &self,
        reason: &Unavailable,
        date: Date,
        settings: &ValidSettings,
    ) -> Option<String> {
        let lang = self.env.lang;
        let day = short_date(lang, date);
        Some(match reason {
            Unavailable::TooSoon => self.text(Msg::TooSoon),
            Unavailable::TooFarAhead => self.text(Msg::TooFarAhead {
                days: settings.settings().lead.latest_days,
            }),
            Unavailable::Closed => self.text(Msg::Closed { date: &day }),
            Unavailable::OutsideHours
            | Unavailable::OffGrid
            | Unavailable::EndsAfterClosing
            | Unavailable::TimeDoesNotExist => {
                let hours = periods(lang, settings.periods_on(date));
                self.text(Msg::NotBookableTime {
                    date: &day,
                    hours: &hours,
                })
            }
            Unavailable::PartyTooLarge => {
                let max = match &settings.settings().capacity {
                    Capacity::Restaurant(r) => r.largest_party.get(),
                    Capacity::Salon(_) => 1,
                };
                self.text(Msg::PartyTooLarge { max })
            }
            Unavailable::ResourceDoesNotOffer => {
                let staff = self
                    .draft
                    .resource
                    .as_ref()
                    .map(|r| {
                        let name = self
                            .env
                            .salon()
                            .and_then(|s| s.resources.iter().find(|x| &x.id == r))
                            .map_or(r.as_str(), |x| x.name.as_str());
                        fit(name, MAX_PART)
                    })
                    .unwrap_or_default();
                self.text(Msg::StaffDoesNotOffer { staff: &staff })
            }
            Unavailable::UnknownService
            | Unavailable::UnknownResource
            | Unavailable::WrongKindOfNeed
            | Unavailable::Full => return None,
        })
    }
}
