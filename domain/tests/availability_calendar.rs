//! Periods crossing midnight, the DST days of Europe/Rome in 2026, and the order of alternatives.
#![allow(clippy::unwrap_used)]

#[path = "availability_support.rs"]
mod support;

use jiff::civil::{Date, Weekday};
use jiff::Timestamp;
use lyo_domain::availability::{
    alternatives, check, free_slots, BookingSettings, Slot, SlotRequest, Unavailable, When,
};
use support::*;

fn late_night(seating: u32) -> BookingSettings {
    let capacity = restaurant_capacity(seating, Some(20), vec![], vec![]);
    settings(vec![period("late", t(22, 0), t(6, 0))], capacity)
}

fn day_slots(s: &BookingSettings, date: Date, now: Timestamp) -> Vec<Slot> {
    let s = valid(s.clone());
    free_slots(
        &s,
        &[],
        &SlotRequest {
            date,
            when: When::AnyTime,
            need: party(2),
        },
        now,
    )
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn a_period_crossing_midnight_belongs_to_the_evening_it_starts() {
    let capacity = restaurant_capacity(60, Some(20), vec![], vec![]);
    let mut raw = settings(vec![period("dinner", t(19, 0), t(1, 0))], capacity);
    raw.weekly.day_mut(Weekday::Monday).clear();
    let s = valid(raw.clone());
    let sunday = d(2026, 5, 10);
    let monday = d(2026, 5, 11);
    let slots = day_slots(&raw, sunday, may_morning());
    assert_eq!(slots.len(), 11, "19:00 ... 00:00");
    let last = slots.last().unwrap();
    assert_eq!(
        (last.service_date, last.start),
        (sunday, at(monday, t(0, 0)))
    );
    let why = |date, time| check(&s, &[], &wish(date, time, party(2)), may_morning());
    assert_eq!(why(monday, t(0, 0)).unwrap().service_date, sunday);
    assert_eq!(why(monday, t(0, 30)), Err(Unavailable::EndsAfterClosing));
    assert_eq!(why(monday, t(20, 0)), Err(Unavailable::Closed));
    assert!(day_slots(&raw, monday, may_morning()).is_empty());
}

#[test]
fn spring_forward_skips_the_missing_hour_and_keeps_real_durations() {
    let raw = late_night(60);
    let saturday = d(2026, 3, 28);
    let sunday = d(2026, 3, 29);
    let now = rome(d(2026, 3, 20), t(9, 0));
    let slots = day_slots(&raw, saturday, now);
    let starts: Vec<_> = slots.iter().map(|s| s.start.time()).collect();
    let expected = [
        (22, 0),
        (22, 30),
        (23, 0),
        (23, 30),
        (0, 0),
        (0, 30),
        (1, 0),
        (1, 30),
    ]
    .into_iter()
    .chain([(3, 0), (3, 30), (4, 0), (4, 30), (5, 0)])
    .map(|(h, m)| t(h, m))
    .collect::<Vec<_>>();
    assert_eq!(starts, expected, "02:00 and 02:30 do not exist on 29 March");
    // 01:30 CET plus one real hour is 03:30 CEST.
    let half_past_one = &slots[7];
    assert_eq!(half_past_one.starts_at, ts("2026-03-29T00:30:00Z"));
    assert_eq!(half_past_one.ends_at, ts("2026-03-29T01:30:00Z"));
    let s = valid(raw);
    let gap = check(&s, &[], &wish(sunday, t(2, 30), party(2)), now);
    assert_eq!(gap, Err(Unavailable::TimeDoesNotExist));
    // A one-hour seating at 05:00 CEST ends exactly at closing.
    let ok = check(&s, &[], &wish(sunday, t(5, 0), party(2)), now).unwrap();
    assert_eq!(ok.starts_at, ts("2026-03-29T03:00:00Z"));
}

#[test]
fn fall_back_offers_each_repeated_time_once_at_its_first_occurrence() {
    let raw = late_night(60);
    let saturday = d(2026, 10, 24);
    let sunday = d(2026, 10, 25);
    let now = rome(d(2026, 10, 20), t(9, 0));
    let slots = day_slots(&raw, saturday, now);
    assert_eq!(slots.len(), 15, "22:00 ... 05:00, every civil time once");
    let s = valid(raw);
    let at_two = check(&s, &[], &wish(sunday, t(2, 0), party(2)), now).unwrap();
    let at_three = check(&s, &[], &wish(sunday, t(3, 0), party(2)), now).unwrap();
    assert_eq!(at_two.starts_at, ts("2026-10-25T00:00:00Z"), "02:00 CEST");
    assert_eq!(at_three.starts_at, ts("2026-10-25T02:00:00Z"), "03:00 CET");
    // Starts strictly increase even though the clock goes back.
    assert!(slots.windows(2).all(|w| w[0].starts_at < w[1].starts_at));
    // The last start, 05:00 CET, ends at closing (06:00 CET) exactly.
    assert_eq!(slots.last().unwrap().ends_at, ts("2026-10-25T05:00:00Z"));
}

#[test]
fn an_ordinary_dinner_on_both_change_days_has_its_usual_slots_in_the_right_offset() {
    let raw = settings(
        vec![dinner()],
        restaurant_capacity(120, Some(20), vec![], vec![]),
    );
    for (date, offset) in [(d(2026, 3, 29), "+02:00"), (d(2026, 10, 25), "+01:00")] {
        let now = rome(date, t(0, 0))
            .checked_sub(jiff::SignedDuration::from_hours(72))
            .unwrap();
        let slots = day_slots(&raw, date, now);
        assert_eq!(slots.len(), 5, "{date}");
        let expected: Timestamp = format!("{date}T19:00:00{offset}").parse().unwrap();
        assert_eq!(slots[0].starts_at, expected);
    }
}

#[test]
fn alternatives_come_from_the_same_day_first_then_by_distance_on_following_days() {
    let capacity = restaurant_capacity(90, None, tables(&[("T4", 4)]), vec![]);
    let s = valid(settings(vec![dinner()], capacity));
    let day = d(2026, 5, 8);
    let next = d(2026, 5, 9);
    let taken = vec![party_booking(day, t(20, 0), 90, 2, &["T4"])];
    let w = wish(day, t(20, 0), party(2));
    assert_eq!(check(&s, &taken, &w, may_morning()), Err(Unavailable::Full));
    let found = alternatives(&s, &taken, &w, may_morning(), 5);
    let got: Vec<_> = found.iter().map(|slot| slot.start).collect();
    let expected = vec![
        at(day, t(21, 30)),
        at(next, t(20, 0)),
        at(next, t(19, 30)),
        at(next, t(20, 30)),
        at(next, t(19, 0)),
    ];
    assert_eq!(got, expected);
    assert!(alternatives(&s, &taken, &w, may_morning(), 0).is_empty());
    let too_large = wish(day, t(20, 0), party(5));
    assert!(alternatives(&s, &taken, &too_large, may_morning(), 5).is_empty());
}

#[test]
fn alternatives_stop_after_fourteen_days() {
    let mut raw = settings(
        vec![dinner()],
        restaurant_capacity(120, Some(4), vec![], vec![]),
    );
    raw.weekly = lyo_domain::availability::WeeklyHours::default();
    raw.weekly.day_mut(Weekday::Friday).push(dinner());
    let s = valid(raw);
    let friday = d(2026, 5, 8);
    let found = alternatives(
        &s,
        &[],
        &wish(friday, t(20, 0), party(2)),
        may_morning(),
        50,
    );
    let dates: Vec<_> = found.iter().map(|slot| slot.service_date).collect();
    let fridays = [d(2026, 5, 8), d(2026, 5, 15), d(2026, 5, 22)];
    assert!(dates.iter().all(|date| fridays.contains(date)), "{dates:?}");
    assert_eq!(found.len(), 4 + 5 + 5);
}
