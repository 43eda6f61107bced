//! The tenant's booking settings as they are stored (in `Tenant` events) and edited: time zone,
//! weekly service periods, date exceptions, slot granularity, lead times and capacity.
//!
//! These types are plain data and accept anything serde can read; `BookingSettings::validate`
//! (in `validate.rs`) turns them into `ValidSettings`, the only form the queries accept.
//! All times of day are local civil times in the tenant's zone. A period whose `to` is not after
//! its `from` ends on the next day (19:00–01:00), so it crosses midnight exactly once.

use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};

use super::units::{Minutes, PartySize, ResourceId, ServiceId, TableId};

/// Everything availability needs to know about a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingSettings {
    /// IANA name, e.g. "Europe/Rome".
    pub time_zone: String,
    pub weekly: WeeklyHours,
    /// At most one per date; replaces that date's weekly periods.
    #[serde(default)]
    pub exceptions: Vec<DateException>,
    /// Slots start every `granularity` minutes from each period's start.
    pub granularity: Minutes,
    pub lead: LeadTime,
    pub capacity: Capacity,
}

/// A named opening window (lunch 12:00–15:00, dinner 19:00–01:00, a salon day 09:00–19:00).
/// A booking must start and end inside one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePeriod {
    pub name: String,
    pub from: Time,
    /// Not after `from` means the next day.
    pub to: Time,
}

impl ServicePeriod {
    pub fn new(name: impl Into<String>, from: Time, to: Time) -> Self {
        Self {
            name: name.into(),
            from,
            to,
        }
    }

    pub fn crosses_midnight(&self) -> bool {
        self.to <= self.from
    }

    /// Minutes from the start of its day to its start and its end (the end may exceed 1440).
    pub(crate) fn minute_span(&self) -> (i32, i32) {
        let from = minute_of_day(self.from);
        let mut to = minute_of_day(self.to);
        if to <= from {
            to += 24 * 60;
        }
        (from, to)
    }
}

pub(crate) fn minute_of_day(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

/// The periods of each weekday; an empty day is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeeklyHours {
    pub monday: Vec<ServicePeriod>,
    pub tuesday: Vec<ServicePeriod>,
    pub wednesday: Vec<ServicePeriod>,
    pub thursday: Vec<ServicePeriod>,
    pub friday: Vec<ServicePeriod>,
    pub saturday: Vec<ServicePeriod>,
    pub sunday: Vec<ServicePeriod>,
}

impl WeeklyHours {
    /// The same periods every day of the week.
    pub fn every_day(periods: Vec<ServicePeriod>) -> Self {
        let mut week = Self::default();
        for day in ALL_WEEKDAYS {
            *week.day_mut(day) = periods.clone();
        }
        week
    }

    pub fn day(&self, day: Weekday) -> &[ServicePeriod] {
        match day {
            Weekday::Monday => &self.monday,
            Weekday::Tuesday => &self.tuesday,
            Weekday::Wednesday => &self.wednesday,
            Weekday::Thursday => &self.thursday,
            Weekday::Friday => &self.friday,
            Weekday::Saturday => &self.saturday,
            Weekday::Sunday => &self.sunday,
        }
    }

    pub fn day_mut(&mut self, day: Weekday) -> &mut Vec<ServicePeriod> {
        match day {
            Weekday::Monday => &mut self.monday,
            Weekday::Tuesday => &mut self.tuesday,
            Weekday::Wednesday => &mut self.wednesday,
            Weekday::Thursday => &mut self.thursday,
            Weekday::Friday => &mut self.friday,
            Weekday::Saturday => &mut self.saturday,
            Weekday::Sunday => &mut self.sunday,
        }
    }
}

pub(crate) const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// A date that does not follow the weekly hours (a holiday, a private event, a late opening).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateException {
    pub date: Date,
    pub hours: DayHours,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "periods")]
pub enum DayHours {
    Closed,
    /// Replaces the weekday's periods entirely.
    Special(Vec<ServicePeriod>),
}

/// How close to now and how far ahead a booking may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadTime {
    /// A slot starts at least this long after now.
    pub earliest: Minutes,
    /// A slot's local start date is at most this many days after today's local date.
    pub latest_days: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Capacity {
    Restaurant(RestaurantCapacity),
    Salon(SalonCapacity),
}

/// Covers and/or tables; at least one of the two limits must be set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestaurantCapacity {
    /// How long a party keeps its table (and counts as covers).
    pub seating: Minutes,
    pub largest_party: PartySize,
    /// People seated at the same moment, over all bookings.
    #[serde(default)]
    pub max_covers: Option<u32>,
    #[serde(default)]
    pub tables: Vec<Table>,
    /// Tables that may be pushed together, each usable only as listed.
    #[serde(default)]
    pub combinations: Vec<TableCombination>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub id: TableId,
    pub seats: u16,
}

/// A set of at least two tables that together seat the sum of their seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCombination {
    pub tables: Vec<TableId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalonCapacity {
    pub services: Vec<Service>,
    /// In order of preference: with no preferred resource, the first free one takes a slot.
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub duration: Minutes,
}

/// A staff member or chair, and the services it offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub id: ResourceId,
    pub name: String,
    pub services: Vec<ServiceId>,
}
