//! Availability (issue 5): from a tenant's booking settings and its existing bookings, the free
//! slots of a date, whether one exact wish is bookable (and why not), and the nearest free
//! alternatives. Pure: no I/O, no clock (the reference instant `now` is an input), deterministic.
//!
//! Invariants every answer keeps (property-tested in `domain/tests/availability_props.rs`):
//! an offered slot starts on the granularity grid of one open service period and ends inside it;
//! it respects the lead times; adding it to the bookings keeps covers within the maximum at every
//! instant, and tables and resources exclusive. Times are the tenant's local civil times, resolved
//! with jiff in its IANA zone; see `calendar.rs` and docs/availability.md for DST rules.
//!
//! Layout: `units` (newtypes), `settings` (stored form), `validate` (-> `ValidSettings`),
//! `calendar` (windows and candidate starts), `schedule` (what bookings occupy), `tables`
//! (table choice), `query` (`free_slots`, `check`), `alternatives`.

mod alternatives;
mod calendar;
mod query;
mod schedule;
mod settings;
mod tables;
mod units;
mod validate;

pub use alternatives::{alternatives, ALTERNATIVE_DAYS};
pub use query::{check, free_slots, Assignment, Need, Slot, SlotRequest, Unavailable, When, Wish};
pub use schedule::{Booking, Load};
pub(crate) use settings::ALL_WEEKDAYS;
pub use settings::{
    BookingSettings, Capacity, DateException, DayHours, LeadTime, Resource, RestaurantCapacity,
    SalonCapacity, Service, ServicePeriod, Table, TableCombination, WeeklyHours,
};
pub use units::{EmptyParty, Minutes, PartySize, ResourceId, ServiceId, TableId};
pub use validate::{DayRef, SettingsError, ValidSettings};
