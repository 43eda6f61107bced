//! The questions availability answers: which slots are free on a date (`free_slots`) and
//! whether one exact wish is (`check`), with the reason when it is not.
//!
//! Invariant: both go through `Engine::evaluate`, so `check` accepts a wish exactly when
//! `free_slots` for its date and time offers it, with the same assignment. A slot is offered
//! only if it starts on the grid of an open period, its whole duration ends inside that
//! period, it respects the lead times, and capacity holds over its whole interval.

use jiff::civil::{Date, DateTime, Time};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::calendar::{add_minutes, days_after, resolve_start, windows, Window};
use super::schedule::{Booking, Schedule};
use super::settings::{Capacity, Resource, RestaurantCapacity};
use super::tables::{choose_tables, could_ever_seat};
use super::units::{Minutes, PartySize, ResourceId, ServiceId, TableId};
use super::validate::ValidSettings;

/// What the customer needs a place for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Need {
    /// A restaurant party.
    Party { size: PartySize },
    /// A salon service, optionally with one resource only (a staff member asked for by name).
    Service {
        service: ServiceId,
        resource: Option<ResourceId>,
    },
}

/// Which part of the date a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    AnyTime,
    /// Exactly this local start time (on `date`, which may fall in the previous service
    /// date's after-midnight tail).
    At(Time),
    /// One service period of the date, by name (case-insensitive).
    Period(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    pub date: Date,
    pub when: When,
    pub need: Need,
}

/// An exact local date and time the customer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wish {
    pub date: Date,
    pub time: Time,
    pub need: Need,
}

/// What a slot would take when booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Assignment {
    /// Only a covers limit applies: no table is named.
    Covers,
    Tables(Vec<TableId>),
    Resource(ResourceId),
}

/// A bookable start: local time, instants, and what it would take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The date whose opening hours the slot belongs to (the evening before, after midnight).
    pub service_date: Date,
    pub period: String,
    /// Local civil start in the tenant's zone.
    pub start: DateTime,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub assignment: Assignment,
}

/// Why a wish cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    #[error("the party is larger than the place can seat")]
    PartyTooLarge,
    #[error("the need does not match this kind of business")]
    WrongKindOfNeed,
    #[error("no such service")]
    UnknownService,
    #[error("no such resource")]
    UnknownResource,
    #[error("the resource does not offer this service")]
    ResourceDoesNotOffer,
    #[error("too soon (or in the past)")]
    TooSoon,
    #[error("too far ahead")]
    TooFarAhead,
    #[error("closed that day")]
    Closed,
    #[error("outside opening hours")]
    OutsideHours,
    #[error("that local time does not exist (daylight saving change)")]
    TimeDoesNotExist,
    #[error("not a slot start (slots start every granularity step)")]
    OffGrid,
    #[error("it would end after the period closes")]
    EndsAfterClosing,
    #[error("fully booked")]
    Full,
}

/// The free slots of a date (its service periods, including their after-midnight tails), in
/// time order. An impossible need (unknown service, party too large) gives none.
pub fn free_slots(
    settings: &ValidSettings,
    bookings: &[Booking],
    request: &SlotRequest,
    now: Timestamp,
) -> Vec<Slot> {
    let Ok(engine) = Engine::new(settings, bookings, &request.need, now) else {
        return Vec::new();
    };
    match &request.when {
        When::At(time) => engine
            .check(request.date.to_datetime(*time))
            .ok()
            .into_iter()
            .collect(),
        When::AnyTime => engine.day(request.date, None),
        When::Period(name) => engine.day(request.date, Some(name)),
    }
}

/// Whether an exact local date and time can be booked, and what it would take.
pub fn check(
    settings: &ValidSettings,
    bookings: &[Booking],
    wish: &Wish,
    now: Timestamp,
) -> Result<Slot, Unavailable> {
    Engine::new(settings, bookings, &wish.need, now)?.check(wish.date.to_datetime(wish.time))
}

/// The resolved need with the settings, bookings and clock it is evaluated against.
pub(crate) struct Engine<'a> {
    settings: &'a ValidSettings,
    schedule: Schedule,
    earliest: Timestamp,
    today: Date,
    need: Resolved<'a>,
}

enum Resolved<'a> {
    Party(&'a RestaurantCapacity, u16),
    Service(Minutes, Vec<&'a Resource>),
}

impl<'a> Engine<'a> {
    pub fn new(
        settings: &'a ValidSettings,
        bookings: &[Booking],
        need: &Need,
        now: Timestamp,
    ) -> Result<Self, Unavailable> {
        let lead = settings.settings().lead.earliest;
        Ok(Engine {
            settings,
            schedule: Schedule::new(settings, bookings),
            earliest: add_minutes(now, lead).unwrap_or(Timestamp::MAX),
            today: now.to_zoned(settings.time_zone().clone()).date(),
            need: resolve(settings, need)?,
        })
    }

    fn duration(&self) -> Minutes {
        match &self.need {
            Resolved::Party(capacity, _) => capacity.seating,
            Resolved::Service(duration, _) => *duration,
        }
    }

    /// The free slots of a service date, optionally of one named period.
    pub fn day(&self, date: Date, period: Option<&str>) -> Vec<Slot> {
        let granularity = self.settings.settings().granularity;
        let mut slots = Vec::new();
        for window in windows(self.settings, date) {
            if period.is_some_and(|name| !window.period.name.eq_ignore_ascii_case(name.trim())) {
                continue;
            }
            for (local, start) in window.starts(self.settings.time_zone(), granularity) {
                if let Ok(slot) = self.evaluate(&window, local, start) {
                    slots.push(slot);
                }
            }
        }
        slots.sort_by_key(|s| s.starts_at);
        slots
    }

    pub fn check(&self, local: DateTime) -> Result<Slot, Unavailable> {
        let date = local.date();
        let latest = self.settings.settings().lead.latest_days;
        if date < self.today {
            return Err(Unavailable::TooSoon);
        }
        if days_after(self.today, i64::from(latest)).is_none_or(|last| date > last) {
            return Err(Unavailable::TooFarAhead);
        }
        let mut open = windows(self.settings, date);
        if let Ok(eve) = date.yesterday() {
            open.extend(windows(self.settings, eve));
        }
        let Some(window) = open.iter().find(|w| w.contains(local)) else {
            return Err(if open.iter().any(|w| w.service_date == date) {
                Unavailable::OutsideHours
            } else {
                Unavailable::Closed
            });
        };
        let start =
            resolve_start(self.settings.time_zone(), local).ok_or(Unavailable::TimeDoesNotExist)?;
        if !window.on_grid(local, self.settings.settings().granularity) {
            return Err(Unavailable::OffGrid);
        }
        self.evaluate(window, local, start)
    }

    /// Lead times, fit in the period and capacity for a start known to be on the grid.
    fn evaluate(
        &self,
        window: &Window<'_>,
        local: DateTime,
        start: Timestamp,
    ) -> Result<Slot, Unavailable> {
        let end = add_minutes(start, self.duration()).ok_or(Unavailable::EndsAfterClosing)?;
        if end > window.end {
            return Err(Unavailable::EndsAfterClosing);
        }
        let last = days_after(
            self.today,
            i64::from(self.settings.settings().lead.latest_days),
        );
        if last.is_none_or(|last| local.date() > last) {
            return Err(Unavailable::TooFarAhead);
        }
        if start < self.earliest {
            return Err(Unavailable::TooSoon);
        }
        let assignment = self.assign(start, end).ok_or(Unavailable::Full)?;
        Ok(Slot {
            service_date: window.service_date,
            period: window.period.name.clone(),
            start: local,
            starts_at: start,
            ends_at: end,
            assignment,
        })
    }

    fn assign(&self, start: Timestamp, end: Timestamp) -> Option<Assignment> {
        match &self.need {
            Resolved::Party(capacity, people) => {
                if let Some(max) = capacity.max_covers {
                    if self.schedule.peak_covers(start, end) + u32::from(*people) > max {
                        return None;
                    }
                }
                if capacity.tables.is_empty() {
                    return Some(Assignment::Covers);
                }
                let busy = self.schedule.tables_in_use(start, end);
                choose_tables(capacity, *people, &busy).map(Assignment::Tables)
            }
            Resolved::Service(_, resources) => resources
                .iter()
                .find(|r| !self.schedule.resource_busy(&r.id, start, end))
                .map(|r| Assignment::Resource(r.id.clone())),
        }
    }
}

fn resolve<'a>(settings: &'a ValidSettings, need: &Need) -> Result<Resolved<'a>, Unavailable> {
    match (&settings.settings().capacity, need) {
        (Capacity::Restaurant(capacity), Need::Party { size }) => {
            let people = size.get();
            let over_covers = capacity
                .max_covers
                .is_some_and(|max| u32::from(people) > max);
            if *size > capacity.largest_party || over_covers || !could_ever_seat(capacity, people) {
                return Err(Unavailable::PartyTooLarge);
            }
            Ok(Resolved::Party(capacity, people))
        }
        (Capacity::Salon(salon), Need::Service { service, resource }) => {
            let found = salon.services.iter().find(|s| &s.id == service);
            let duration = found.ok_or(Unavailable::UnknownService)?.duration;
            let offering: Vec<&Resource> = match resource {
                Some(id) => {
                    let r = salon.resources.iter().find(|r| &r.id == id);
                    let r = r.ok_or(Unavailable::UnknownResource)?;
                    if !r.services.contains(service) {
                        return Err(Unavailable::ResourceDoesNotOffer);
                    }
                    vec![r]
                }
                None => salon
                    .resources
                    .iter()
                    .filter(|r| r.services.contains(service))
                    .collect(),
            };
            Ok(Resolved::Service(duration, offering))
        }
        _ => Err(Unavailable::WrongKindOfNeed),
    }
}
