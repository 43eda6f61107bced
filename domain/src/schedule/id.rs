//! Which schedule decides a wish: the tenant's schedule of the wish's *service date*, which is
//! the evening before when the wished time falls in the after-midnight tail of that evening's
//! period (00:30 after a 19:00–01:00 dinner). Every wish for one slot therefore reaches the same
//! aggregate, whichever civil date the customer named.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::availability::{Slot, ValidSettings, Wish};
use crate::ids::TenantId;

/// The identity of one `Schedule`: a tenant and a service date. Its aggregate id is
/// `"{tenant uuid}/{YYYY-MM-DD}"` (the `Display` form); it holds no personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScheduleId {
    tenant: TenantId,
    date: Date,
}

impl ScheduleId {
    pub fn new(tenant: TenantId, date: Date) -> Self {
        Self { tenant, date }
    }

    /// The schedule that must decide `wish` (see [`service_date_of`]).
    pub fn for_wish(tenant: TenantId, settings: &ValidSettings, wish: &Wish) -> Self {
        Self::new(tenant, service_date_of(settings, wish))
    }

    /// The schedule that holds a slot: the one of its service date.
    pub fn for_slot(tenant: TenantId, slot: &Slot) -> Self {
        Self::new(tenant, slot.service_date)
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn date(&self) -> Date {
        self.date
    }

    /// The cqrs-es aggregate id, `"{tenant}/{date}"`.
    pub fn aggregate_id(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.date)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a schedule id is \"{{tenant uuid}}/{{YYYY-MM-DD}}\"")]
pub struct BadScheduleId;

impl FromStr for ScheduleId {
    type Err = BadScheduleId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (tenant, date) = s.split_once('/').ok_or(BadScheduleId)?;
        Ok(Self {
            tenant: tenant.parse().map_err(|_| BadScheduleId)?,
            date: date.parse().map_err(|_| BadScheduleId)?,
        })
    }
}

/// The service date a wish belongs to: the evening before when its local time lies in the
/// after-midnight tail of a period of that evening, else its own date. Validation keeps a tail
/// clear of the next day's periods, so the answer is unique; it is the `service_date` of the
/// slot `availability::check` returns for the wish, and the date to use for a refused wish too
/// (a closed day, a time outside hours: the refusal does not depend on bookings anyway).
pub fn service_date_of(settings: &ValidSettings, wish: &Wish) -> Date {
    let Ok(eve) = wish.date.yesterday() else {
        return wish.date;
    };
    let in_tail = settings
        .periods_on(eve)
        .iter()
        .any(|p| p.crosses_midnight() && wish.time < p.to);
    if in_tail {
        eve
    } else {
        wish.date
    }
}
