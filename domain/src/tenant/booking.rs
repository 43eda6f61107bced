//! The tenant's booking settings (`availability::BookingSettings`) as the aggregate accepts them.
//!
//! One time zone: the profile's `time_zone` is the truth. Booking settings must carry the same
//! zone when they are set, and when the profile's zone changes the aggregate moves them along
//! with it (an explicit `TenantBookingSettingsChanged`), so the two never differ.

use super::TenantError;
use crate::availability::{BookingSettings, DayRef, SettingsError};

/// Checks `booking` against the rules of availability and the tenant's zone.
pub(crate) fn check(booking: &BookingSettings, tenant_zone: &str) -> Result<(), TenantError> {
    if booking.time_zone != tenant_zone {
        return Err(TenantError::BookingTimeZoneMismatch {
            booking: booking.time_zone.clone(),
            tenant: tenant_zone.to_string(),
        });
    }
    booking
        .clone()
        .validate()
        .map(|_| ())
        .map_err(TenantError::InvalidBooking)
}

/// The field of `booking` an error is about, as a client names it (`capacity.tables`).
pub fn settings_field(error: &SettingsError) -> String {
    use SettingsError as E;
    match error {
        E::UnknownTimeZone(_) => "time_zone".into(),
        E::ZeroGranularity => "granularity".into(),
        E::UnnamedPeriod { day }
        | E::NotWholeMinutes { day, .. }
        | E::EmptyPeriod { day, .. }
        | E::DuplicatePeriodName { day, .. }
        | E::OverlappingPeriods { day, .. }
        | E::OverlapsNextDay { day, .. } => match day {
            DayRef::Weekday(weekday) => format!("weekly.{}", format!("{weekday:?}").to_lowercase()),
            DayRef::Date(date) => format!("exceptions.{date}"),
        },
        E::DuplicateException(_) => "exceptions".into(),
        E::ZeroSeating => "capacity.seating".into(),
        E::ZeroCovers => "capacity.max_covers".into(),
        E::NoCapacity => "capacity".into(),
        E::TableWithoutSeats(_) | E::DuplicateTable(_) => "capacity.tables".into(),
        E::CombinationTooSmall | E::UnknownTable(_) => "capacity.combinations".into(),
        E::NoServices | E::ZeroServiceDuration(_) | E::DuplicateService(_) => {
            "capacity.services".into()
        }
        E::NoResources
        | E::DuplicateResource(_)
        | E::UnknownService { .. }
        | E::ServiceNotOffered(_) => "capacity.resources".into(),
    }
}
