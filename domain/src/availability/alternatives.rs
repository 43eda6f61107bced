//! The nearest free alternatives to a wish that cannot be (or need not be) taken.
//!
//! Order (documented in docs/availability.md and relied on by the dialogue): first the free
//! slots of the wish's own date, then those of each following date up to
//! `ALTERNATIVE_DAYS` later, one date after another. Within a date, slots are ordered by the
//! distance in civil minutes between their local start and the wished time of day (a slot
//! after midnight counts from the service date's midnight, 00:30 = 24:30), the earlier on a
//! tie. The wished start itself is never an alternative. At most `max` are returned.

use jiff::civil::Date;
use jiff::Timestamp;

use super::calendar::{days_after, minutes_into};
use super::query::{Engine, Slot, Wish};
use super::schedule::Booking;
use super::validate::ValidSettings;

/// How many days after the wished date are searched.
pub const ALTERNATIVE_DAYS: i64 = 14;

/// Up to `max` free slots near the wish, in the order above; none for an impossible need.
pub fn alternatives(
    settings: &ValidSettings,
    bookings: &[Booking],
    wish: &Wish,
    now: Timestamp,
    max: usize,
) -> Vec<Slot> {
    let Ok(engine) = Engine::new(settings, bookings, &wish.need, now) else {
        return Vec::new();
    };
    let wished = wish.date.to_datetime(wish.time);
    let wished_minutes = minutes_into(wish.date, wished);
    let mut found = Vec::new();
    for offset in 0..=ALTERNATIVE_DAYS {
        if found.len() >= max {
            break;
        }
        let Some(date) = days_after(wish.date, offset) else {
            break;
        };
        found.extend(ordered_day(&engine, date, wished_minutes, wished));
    }
    found.truncate(max);
    found
}

/// Distance in civil minutes from the wished time of day, for one service date.
pub(crate) fn distance(slot: &Slot, wished_minutes: i64) -> (i64, Timestamp) {
    let minutes = minutes_into(slot.service_date, slot.start);
    ((minutes - wished_minutes).abs(), slot.starts_at)
}

fn ordered_day(
    engine: &Engine<'_>,
    date: Date,
    wished_minutes: i64,
    wished: jiff::civil::DateTime,
) -> Vec<Slot> {
    let mut slots: Vec<Slot> = engine
        .day(date, None)
        .into_iter()
        .filter(|s| s.start != wished)
        .collect();
    slots.sort_by_key(|s| distance(s, wished_minutes));
    slots
}
