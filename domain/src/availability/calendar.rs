//! From settings to concrete open windows and candidate start times on a service date, in the
//! tenant's zone, across daylight-saving changes.
//!
//! Invariants: a window belongs to the service date whose periods define it, and may end on the
//! next civil day; its bounds are instants (local bounds resolved with jiff's "compatible" rule:
//! a bound in a gap moves forward, a bound in a fold takes the earlier offset). Candidate starts
//! step through *civil* time from the period's start by the granularity; a civil time that does
//! not exist (spring-forward gap) yields no candidate; one that occurs twice (fall-back fold) is
//! offered once, at its earlier occurrence. Durations are elapsed time, so a two-hour seating on
//! a DST day still lasts 120 real minutes.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

use super::settings::ServicePeriod;
use super::units::Minutes;
use super::validate::ValidSettings;

/// One service period on one service date.
#[derive(Debug, Clone)]
pub(crate) struct Window<'a> {
    pub service_date: Date,
    pub period: &'a ServicePeriod,
    pub from: DateTime,
    pub to: DateTime,
    pub end: Timestamp,
}

impl Window<'_> {
    /// Whether a civil date-time lies in `[from, to)`.
    pub fn contains(&self, local: DateTime) -> bool {
        self.from <= local && local < self.to
    }

    /// Whether `local` is a whole number of granularity steps after the period's start.
    pub fn on_grid(&self, local: DateTime, granularity: Minutes) -> bool {
        let offset = local.duration_since(self.from);
        let step = granularity.as_duration();
        !step.is_zero() && offset.as_secs() % step.as_secs() == 0
    }

    /// The civil candidate starts, in order, with the instants they resolve to.
    pub fn starts(&self, zone: &TimeZone, granularity: Minutes) -> Vec<(DateTime, Timestamp)> {
        let step = granularity.as_duration();
        let mut out = Vec::new();
        let mut local = self.from;
        while local < self.to && !step.is_zero() {
            if let Some(start) = resolve_start(zone, local) {
                out.push((local, start));
            }
            match local.checked_add(step) {
                Ok(next) => local = next,
                Err(_) => break,
            }
        }
        out
    }
}

/// The open windows of a service date, in period order as configured.
pub(crate) fn windows(settings: &ValidSettings, date: Date) -> Vec<Window<'_>> {
    let zone = settings.time_zone();
    settings
        .periods_on(date)
        .iter()
        .filter_map(|period| {
            let from = date.to_datetime(period.from);
            let end_date = if period.crosses_midnight() {
                date.tomorrow().ok()?
            } else {
                date
            };
            let to = end_date.to_datetime(period.to);
            let end = zone.to_ambiguous_timestamp(to).compatible().ok()?;
            Some(Window {
                service_date: date,
                period,
                from,
                to,
                end,
            })
        })
        .collect()
}

/// The instant a local start time stands for: none in a gap, the earlier one in a fold.
pub(crate) fn resolve_start(zone: &TimeZone, local: DateTime) -> Option<Timestamp> {
    let ambiguous = zone.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => None,
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
            ambiguous.earlier().ok()
        }
    }
}

/// `start + minutes`, or `None` past the end of representable time.
pub(crate) fn add_minutes(start: Timestamp, minutes: Minutes) -> Option<Timestamp> {
    start.checked_add(minutes.as_duration()).ok()
}

/// Civil minutes from the service date's midnight to `local` (may exceed 1440).
pub(crate) fn minutes_into(service_date: Date, local: DateTime) -> i64 {
    let midnight = service_date.to_datetime(jiff::civil::Time::midnight());
    local.duration_since(midnight).as_mins()
}

/// The date `days` after `date`, if representable.
pub(crate) fn days_after(date: Date, days: i64) -> Option<Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    date.checked_add(span).ok()
}
