//! Settings validation: `BookingSettings` -> `ValidSettings`, the only form queries accept.
//!
//! Invariants of a `ValidSettings`: the time zone is a known IANA zone; granularity, seating
//! and service durations are positive; every period has a name unique in its day, whole-minute
//! bounds and a positive length (so it crosses midnight at most once); no two periods of a day
//! overlap, nor does a period crossing midnight overlap the next day's first periods (weekly
//! and around each exception); a restaurant limits covers and/or has tables, combinations name
//! at least two distinct known tables; a salon has services and resources, and every offered
//! service exists and every service is offered by someone.

use std::collections::HashSet;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::settings::{
    BookingSettings, Capacity, DayHours, RestaurantCapacity, SalonCapacity, ServicePeriod,
    ALL_WEEKDAYS,
};
use super::units::{ResourceId, ServiceId, TableId};

/// Which day's periods an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRef {
    Weekday(Weekday),
    Date(Date),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("slot granularity must be positive")]
    ZeroGranularity,
    #[error("a service period on {day:?} has no name")]
    UnnamedPeriod { day: DayRef },
    #[error("period {period:?} on {day:?} must start and end on whole minutes")]
    NotWholeMinutes { day: DayRef, period: String },
    #[error("period {period:?} on {day:?} starts and ends at the same time")]
    EmptyPeriod { day: DayRef, period: String },
    #[error("two periods on {day:?} are named {period:?}")]
    DuplicatePeriodName { day: DayRef, period: String },
    #[error("periods {first:?} and {second:?} on {day:?} overlap")]
    OverlappingPeriods {
        day: DayRef,
        first: String,
        second: String,
    },
    #[error("period {period:?} on {day:?} runs into the next day's opening hours")]
    OverlapsNextDay { day: DayRef, period: String },
    #[error("two exceptions for {0}")]
    DuplicateException(Date),
    #[error("seating duration must be positive")]
    ZeroSeating,
    #[error("maximum covers must be positive")]
    ZeroCovers,
    #[error("a restaurant needs a maximum of covers or tables")]
    NoCapacity,
    #[error("table {0} has no seats")]
    TableWithoutSeats(TableId),
    #[error("table {0} is listed twice")]
    DuplicateTable(TableId),
    #[error("a table combination needs at least two distinct tables")]
    CombinationTooSmall,
    #[error("a table combination names unknown table {0}")]
    UnknownTable(TableId),
    #[error("a salon needs at least one service")]
    NoServices,
    #[error("a salon needs at least one resource")]
    NoResources,
    #[error("service {0} must have a positive duration")]
    ZeroServiceDuration(ServiceId),
    #[error("service {0} is listed twice")]
    DuplicateService(ServiceId),
    #[error("resource {0} is listed twice")]
    DuplicateResource(ResourceId),
    #[error("resource {resource} offers unknown service {service}")]
    UnknownService {
        resource: ResourceId,
        service: ServiceId,
    },
    #[error("no resource offers service {0}")]
    ServiceNotOffered(ServiceId),
}

/// Settings that passed validation, with their time zone resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BookingSettings", into = "BookingSettings")]
pub struct ValidSettings {
    settings: BookingSettings,
    zone: TimeZone,
}

impl ValidSettings {
    pub fn settings(&self) -> &BookingSettings {
        &self.settings
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The periods of a service date: its exception if any, else its weekday's.
    pub fn periods_on(&self, date: Date) -> &[ServicePeriod] {
        periods_on(&self.settings, date)
    }
}

fn periods_on(settings: &BookingSettings, date: Date) -> &[ServicePeriod] {
    match settings.exceptions.iter().find(|e| e.date == date) {
        Some(e) => match &e.hours {
            DayHours::Closed => &[],
            DayHours::Special(periods) => periods,
        },
        None => settings.weekly.day(date.weekday()),
    }
}

impl TryFrom<BookingSettings> for ValidSettings {
    type Error = SettingsError;

    fn try_from(settings: BookingSettings) -> Result<Self, Self::Error> {
        settings.validate()
    }
}

impl From<ValidSettings> for BookingSettings {
    fn from(valid: ValidSettings) -> Self {
        valid.settings
    }
}

impl BookingSettings {
    pub fn validate(self) -> Result<ValidSettings, SettingsError> {
        let zone = TimeZone::get(&self.time_zone)
            .map_err(|_| SettingsError::UnknownTimeZone(self.time_zone.clone()))?;
        if self.granularity.is_zero() {
            return Err(SettingsError::ZeroGranularity);
        }
        self.check_hours()?;
        match &self.capacity {
            Capacity::Restaurant(r) => check_restaurant(r)?,
            Capacity::Salon(s) => check_salon(s)?,
        }
        Ok(ValidSettings {
            settings: self,
            zone,
        })
    }

    fn check_hours(&self) -> Result<(), SettingsError> {
        for (i, day) in ALL_WEEKDAYS.iter().enumerate() {
            let here = DayRef::Weekday(*day);
            check_day(here, self.weekly.day(*day))?;
            let next = self.weekly.day(ALL_WEEKDAYS[(i + 1) % 7]);
            check_next_day(here, self.weekly.day(*day), next)?;
        }
        let mut seen = HashSet::new();
        for exception in &self.exceptions {
            let date = exception.date;
            if !seen.insert(date) {
                return Err(SettingsError::DuplicateException(date));
            }
            let here = DayRef::Date(date);
            check_day(here, periods_on(self, date))?;
            if let Ok(before) = date.yesterday() {
                check_next_day(
                    DayRef::Date(before),
                    periods_on(self, before),
                    periods_on(self, date),
                )?;
            }
            if let Ok(after) = date.tomorrow() {
                check_next_day(here, periods_on(self, date), periods_on(self, after))?;
            }
        }
        Ok(())
    }
}

fn check_day(day: DayRef, periods: &[ServicePeriod]) -> Result<(), SettingsError> {
    let mut names = HashSet::new();
    for p in periods {
        if p.name.trim().is_empty() {
            return Err(SettingsError::UnnamedPeriod { day });
        }
        let named = |period: &ServicePeriod| period.name.clone();
        let whole = |t: jiff::civil::Time| t.second() == 0 && t.subsec_nanosecond() == 0;
        if !whole(p.from) || !whole(p.to) {
            return Err(SettingsError::NotWholeMinutes {
                day,
                period: named(p),
            });
        }
        if p.from == p.to {
            return Err(SettingsError::EmptyPeriod {
                day,
                period: named(p),
            });
        }
        if !names.insert(p.name.trim().to_lowercase()) {
            return Err(SettingsError::DuplicatePeriodName {
                day,
                period: named(p),
            });
        }
    }
    for (i, a) in periods.iter().enumerate() {
        for b in &periods[i + 1..] {
            let (a_from, a_to) = a.minute_span();
            let (b_from, b_to) = b.minute_span();
            if a_from < b_to && b_from < a_to {
                return Err(SettingsError::OverlappingPeriods {
                    day,
                    first: a.name.clone(),
                    second: b.name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// A period crossing midnight must end before any period of the next day starts.
fn check_next_day(
    day: DayRef,
    periods: &[ServicePeriod],
    next: &[ServicePeriod],
) -> Result<(), SettingsError> {
    for p in periods.iter().filter(|p| p.crosses_midnight()) {
        let tail_end = p.minute_span().1 - 24 * 60;
        if next.iter().any(|n| n.minute_span().0 < tail_end) {
            return Err(SettingsError::OverlapsNextDay {
                day,
                period: p.name.clone(),
            });
        }
    }
    Ok(())
}

fn check_restaurant(r: &RestaurantCapacity) -> Result<(), SettingsError> {
    if r.seating.is_zero() {
        return Err(SettingsError::ZeroSeating);
    }
    if r.max_covers == Some(0) {
        return Err(SettingsError::ZeroCovers);
    }
    if r.max_covers.is_none() && r.tables.is_empty() {
        return Err(SettingsError::NoCapacity);
    }
    let mut ids = HashSet::new();
    for t in &r.tables {
        if t.seats == 0 {
            return Err(SettingsError::TableWithoutSeats(t.id.clone()));
        }
        if !ids.insert(&t.id) {
            return Err(SettingsError::DuplicateTable(t.id.clone()));
        }
    }
    for c in &r.combinations {
        let distinct: HashSet<_> = c.tables.iter().collect();
        if distinct.len() < 2 || distinct.len() != c.tables.len() {
            return Err(SettingsError::CombinationTooSmall);
        }
        if let Some(unknown) = c.tables.iter().find(|t| !ids.contains(t)) {
            return Err(SettingsError::UnknownTable(unknown.clone()));
        }
    }
    Ok(())
}

fn check_salon(s: &SalonCapacity) -> Result<(), SettingsError> {
    if s.services.is_empty() {
        return Err(SettingsError::NoServices);
    }
    if s.resources.is_empty() {
        return Err(SettingsError::NoResources);
    }
    let mut services = HashSet::new();
    for service in &s.services {
        if service.duration.is_zero() {
            return Err(SettingsError::ZeroServiceDuration(service.id.clone()));
        }
        if !services.insert(&service.id) {
            return Err(SettingsError::DuplicateService(service.id.clone()));
        }
    }
    let mut resources = HashSet::new();
    for resource in &s.resources {
        if !resources.insert(&resource.id) {
            return Err(SettingsError::DuplicateResource(resource.id.clone()));
        }
        if let Some(unknown) = resource.services.iter().find(|s| !services.contains(s)) {
            return Err(SettingsError::UnknownService {
                resource: resource.id.clone(),
                service: unknown.clone(),
            });
        }
    }
    if let Some(lonely) = s
        .services
        .iter()
        .find(|service| !s.resources.iter().any(|r| r.services.contains(&service.id)))
    {
        return Err(SettingsError::ServiceNotOffered(lonely.id.clone()));
    }
    Ok(())
}
