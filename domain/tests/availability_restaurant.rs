//! Restaurants: covers only, tables only, both, combinable tables, unassigned bookings.
#![allow(clippy::unwrap_used)]

#[path = "availability_support.rs"]
mod support;

use lyo_domain::availability::{
    check, free_slots, Assignment, Booking, SlotRequest, TableId, Unavailable, When,
};
use support::*;

const MAY: (i16, i8, i8) = (2026, 5, 8);

fn day() -> jiff::civil::Date {
    d(MAY.0, MAY.1, MAY.2)
}

fn tabled(ids: &[&str]) -> Assignment {
    Assignment::Tables(ids.iter().map(|id| TableId::new(*id)).collect())
}

/// (case, capacity, bookings, party, wished time, expected).
type Case = (
    &'static str,
    u32,
    Option<u32>,
    Vec<(&'static str, u16)>,
    Vec<&'static [&'static str]>,
);

fn run(
    (name, seating, covers, table_list, combinations): Case,
    bookings: Vec<Booking>,
    people: u16,
    time: jiff::civil::Time,
    expected: Result<Assignment, Unavailable>,
) {
    let capacity = restaurant_capacity(seating, covers, tables(&table_list), combos(&combinations));
    let s = valid(settings(vec![dinner()], capacity));
    let got = check(
        &s,
        &bookings,
        &wish(day(), time, party(people)),
        may_morning(),
    );
    assert_eq!(got.map(|slot| slot.assignment), expected, "{name}");
}

#[test]
fn covers_only_counts_every_overlapping_party() {
    let covers = |max| ("covers", 120, Some(max), vec![], vec![]);
    let six_at_8 = || vec![party_booking(day(), t(20, 0), 120, 6, &[])];
    run(covers(10), vec![], 4, t(20, 0), Ok(Assignment::Covers));
    run(covers(10), six_at_8(), 4, t(20, 0), Ok(Assignment::Covers));
    run(covers(10), six_at_8(), 5, t(20, 0), Err(Unavailable::Full));
    // 19:00–21:00 overlaps 20:00–22:00 for its second hour.
    run(covers(10), six_at_8(), 5, t(19, 0), Err(Unavailable::Full));
    // 21:00 still overlaps; nothing after 21:00 fits a two-hour seating before 23:00.
    run(covers(10), six_at_8(), 5, t(21, 0), Err(Unavailable::Full));
    run(
        covers(10),
        vec![],
        11,
        t(20, 0),
        Err(Unavailable::PartyTooLarge),
    );
}

#[test]
fn covers_peak_is_taken_inside_the_interval_not_only_at_its_start() {
    // 4 from 19:00 to 20:00 and 4 from 20:00 to 21:00: never more than 4 at once.
    let bookings = vec![
        party_booking(day(), t(19, 0), 60, 4, &[]),
        party_booking(day(), t(20, 0), 60, 4, &[]),
        party_booking(day(), t(20, 30), 30, 2, &[]),
    ];
    let covers = ("covers", 120, Some(8), vec![], vec![]);
    // 19:00–21:00 sees 4, then 4+2 from 20:30: a party of 2 fits, 3 does not.
    run(
        covers.clone(),
        bookings.clone(),
        2,
        t(19, 0),
        Ok(Assignment::Covers),
    );
    run(covers, bookings, 3, t(19, 0), Err(Unavailable::Full));
}

#[test]
fn tables_only_gives_the_smallest_table_that_fits() {
    let three = || {
        (
            "tables",
            120,
            None,
            vec![("T2", 2), ("T6", 6), ("T4", 4)],
            vec![],
        )
    };
    run(three(), vec![], 2, t(20, 0), Ok(tabled(&["T2"])));
    run(three(), vec![], 3, t(20, 0), Ok(tabled(&["T4"])));
    run(three(), vec![], 1, t(20, 0), Ok(tabled(&["T2"])));
    let t4_taken = vec![party_booking(day(), t(19, 30), 120, 4, &["T4"])];
    run(three(), t4_taken.clone(), 3, t(20, 0), Ok(tabled(&["T6"])));
    // The T4 booking ends at 21:30: a 21:00 seating still overlaps, touching ends do not.
    let t4_early = vec![
        party_booking(day(), t(19, 0), 120, 4, &["T4"]),
        party_booking(day(), t(19, 0), 120, 4, &["T6"]),
    ];
    run(three(), t4_early, 3, t(21, 0), Ok(tabled(&["T4"])));
    let all = vec![
        party_booking(day(), t(20, 0), 120, 2, &["T2"]),
        party_booking(day(), t(20, 0), 120, 4, &["T4"]),
        party_booking(day(), t(20, 0), 120, 5, &["T6"]),
    ];
    run(three(), all, 2, t(20, 0), Err(Unavailable::Full));
    run(
        three(),
        vec![],
        7,
        t(20, 0),
        Err(Unavailable::PartyTooLarge),
    );
}

#[test]
fn tables_and_covers_both_have_to_hold() {
    let both = || {
        (
            "both",
            120,
            Some(8),
            vec![("A", 4), ("B", 4), ("C", 4)],
            vec![],
        )
    };
    run(both(), vec![], 4, t(20, 0), Ok(tabled(&["A"])));
    let two = vec![
        party_booking(day(), t(20, 0), 120, 4, &["A"]),
        party_booking(day(), t(20, 0), 120, 4, &["B"]),
    ];
    // Table C is free, but 8 covers are already seated.
    run(both(), two, 1, t(20, 0), Err(Unavailable::Full));
    let one = vec![party_booking(day(), t(20, 0), 120, 4, &["A"])];
    run(both(), one, 4, t(20, 0), Ok(tabled(&["B"])));
}

#[test]
fn combinable_tables_are_used_only_when_no_single_table_fits() {
    let combined = || {
        let list = vec![("A", 4), ("B", 4), ("C", 2), ("D", 10)];
        let groups: Vec<&'static [&'static str]> = vec![&["A", "B", "C"], &["A", "B"]];
        ("combined", 120, None, list, groups)
    };
    run(combined(), vec![], 8, t(20, 0), Ok(tabled(&["D"])));
    let d_taken = vec![party_booking(day(), t(20, 0), 120, 9, &["D"])];
    run(
        combined(),
        d_taken.clone(),
        8,
        t(20, 0),
        Ok(tabled(&["A", "B"])),
    );
    run(
        combined(),
        d_taken.clone(),
        10,
        t(20, 0),
        Ok(tabled(&["A", "B", "C"])),
    );
    let a_taken = vec![
        d_taken[0].clone(),
        party_booking(day(), t(20, 0), 120, 3, &["A"]),
    ];
    run(combined(), a_taken.clone(), 4, t(20, 0), Ok(tabled(&["B"])));
    run(combined(), a_taken, 8, t(20, 0), Err(Unavailable::Full));
    run(
        combined(),
        vec![],
        11,
        t(20, 0),
        Err(Unavailable::PartyTooLarge),
    );
}

#[test]
fn a_booking_without_tables_is_placed_before_new_parties() {
    let case = ("walk-in", 120, None, vec![("T2", 2), ("T4", 4)], vec![]);
    let walk_in = vec![party_booking(day(), t(20, 0), 120, 2, &[])];
    run(
        case.clone(),
        walk_in.clone(),
        2,
        t(20, 0),
        Ok(tabled(&["T4"])),
    );
    let two_walk_ins = vec![
        walk_in[0].clone(),
        party_booking(day(), t(19, 30), 120, 3, &[]),
    ];
    run(case, two_walk_ins, 2, t(20, 0), Err(Unavailable::Full));
}

#[test]
fn free_slots_of_a_dinner_fit_the_seating_before_closing() {
    let capacity = restaurant_capacity(120, Some(10), vec![], vec![]);
    let s = valid(settings(
        vec![period("lunch", t(12, 0), t(15, 0)), dinner()],
        capacity,
    ));
    let starts = |when: When| -> Vec<jiff::civil::Time> {
        let request = SlotRequest {
            date: day(),
            when,
            need: party(2),
        };
        free_slots(&s, &[], &request, may_morning())
            .iter()
            .map(|s| s.start.time())
            .collect()
    };
    let dinner_starts = vec![t(19, 0), t(19, 30), t(20, 0), t(20, 30), t(21, 0)];
    assert_eq!(starts(When::Period("Dinner".into())), dinner_starts);
    assert_eq!(
        starts(When::Period("lunch".into())),
        vec![t(12, 0), t(12, 30), t(13, 0)]
    );
    assert_eq!(starts(When::AnyTime).len(), 8);
    assert_eq!(starts(When::At(t(20, 30))), vec![t(20, 30)]);
    assert_eq!(starts(When::At(t(21, 30))), vec![]);
    assert_eq!(starts(When::Period("brunch".into())), vec![]);
}

#[test]
fn a_wish_outside_the_grid_or_the_hours_says_why() {
    let capacity = restaurant_capacity(120, Some(10), vec![], vec![]);
    let s = valid(settings(vec![dinner()], capacity));
    let why = |time| check(&s, &[], &wish(day(), time, party(2)), may_morning()).unwrap_err();
    assert_eq!(why(t(20, 10)), Unavailable::OffGrid);
    assert_eq!(why(t(21, 30)), Unavailable::EndsAfterClosing);
    assert_eq!(why(t(23, 0)), Unavailable::OutsideHours);
    assert_eq!(why(t(13, 0)), Unavailable::OutsideHours);
    let salon_need = check(
        &s,
        &[],
        &wish(day(), t(20, 0), service("taglio", None)),
        may_morning(),
    );
    assert_eq!(salon_need, Err(Unavailable::WrongKindOfNeed));
}
