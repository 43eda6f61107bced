//! Salons (service + resource), date exceptions and lead times.
#![allow(clippy::unwrap_used)]

#[path = "availability_support.rs"]
mod support;

use lyo_domain::availability::{
    check, free_slots, Assignment, DateException, DayHours, ResourceId, SlotRequest, Unavailable,
    When,
};
use support::*;

fn day() -> jiff::civil::Date {
    d(2026, 5, 8)
}

fn salon() -> lyo_domain::availability::ValidSettings {
    valid(settings(
        vec![period("day", t(9, 0), t(19, 0))],
        salon_capacity(),
    ))
}

fn who(r: &str) -> Result<Assignment, Unavailable> {
    Ok(Assignment::Resource(ResourceId::new(r)))
}

#[test]
fn salon_services_go_to_the_first_free_resource_that_offers_them() {
    let s = salon();
    let cases = vec![
        (
            "nobody booked",
            vec![],
            service("taglio", None),
            t(10, 0),
            who("anna"),
        ),
        (
            "anna busy",
            vec![salon_booking(day(), t(9, 30), 90, "colore", "anna")],
            service("taglio", None),
            t(10, 0),
            who("marco"),
        ),
        (
            "both busy",
            vec![
                salon_booking(day(), t(10, 0), 30, "taglio", "anna"),
                salon_booking(day(), t(9, 45), 30, "taglio", "marco"),
            ],
            service("taglio", None),
            t(10, 0),
            Err(Unavailable::Full),
        ),
        (
            "colour only by anna",
            vec![],
            service("colore", None),
            t(10, 0),
            who("anna"),
        ),
        (
            "colour when anna is busy",
            vec![salon_booking(day(), t(11, 0), 30, "taglio", "anna")],
            service("colore", None),
            t(10, 0),
            Err(Unavailable::Full),
        ),
        (
            "preferred staff member",
            vec![],
            service("taglio", Some("marco")),
            t(10, 0),
            who("marco"),
        ),
        (
            "preferred staff member busy",
            vec![salon_booking(day(), t(10, 0), 30, "taglio", "marco")],
            service("taglio", Some("marco")),
            t(10, 0),
            Err(Unavailable::Full),
        ),
        (
            "staff member who does not offer it",
            vec![],
            service("colore", Some("marco")),
            t(10, 0),
            Err(Unavailable::ResourceDoesNotOffer),
        ),
        (
            "unknown staff member",
            vec![],
            service("taglio", Some("luca")),
            t(10, 0),
            Err(Unavailable::UnknownResource),
        ),
        (
            "unknown service",
            vec![],
            service("barba", None),
            t(10, 0),
            Err(Unavailable::UnknownService),
        ),
        (
            "colour ending at closing",
            vec![],
            service("colore", None),
            t(17, 30),
            who("anna"),
        ),
        (
            "colour past closing",
            vec![],
            service("colore", None),
            t(18, 0),
            Err(Unavailable::EndsAfterClosing),
        ),
        (
            "a party at a salon",
            vec![],
            party(2),
            t(10, 0),
            Err(Unavailable::WrongKindOfNeed),
        ),
    ];
    for (name, bookings, need, time, expected) in cases {
        let got = check(&s, &bookings, &wish(day(), time, need), may_morning());
        assert_eq!(got.map(|slot| slot.assignment), expected, "{name}");
    }
}

#[test]
fn a_staff_member_who_does_not_offer_the_service_has_no_free_slots() {
    let s = salon();
    let request = |need| SlotRequest {
        date: day(),
        when: When::AnyTime,
        need,
    };
    assert!(free_slots(
        &s,
        &[],
        &request(service("colore", Some("marco"))),
        may_morning()
    )
    .is_empty());
    // A 90-minute colour on a 30-minute grid from 09:00 to 19:00: 09:00 ... 17:30.
    assert_eq!(
        free_slots(&s, &[], &request(service("colore", None)), may_morning()).len(),
        18
    );
    assert_eq!(
        free_slots(
            &s,
            &[],
            &request(service("taglio", Some("marco"))),
            may_morning()
        )
        .len(),
        20
    );
}

#[test]
fn exceptions_close_a_date_or_replace_its_hours() {
    let mut raw = settings(
        vec![dinner()],
        restaurant_capacity(120, Some(20), vec![], vec![]),
    );
    raw.exceptions = vec![
        DateException {
            date: d(2026, 5, 9),
            hours: DayHours::Closed,
        },
        DateException {
            date: d(2026, 5, 10),
            hours: DayHours::Special(vec![period("brunch", t(11, 0), t(14, 0))]),
        },
    ];
    let s = valid(raw);
    let now = may_morning();
    let why = |date, time| check(&s, &[], &wish(date, time, party(2)), now);
    assert_eq!(why(d(2026, 5, 9), t(20, 0)), Err(Unavailable::Closed));
    assert_eq!(
        why(d(2026, 5, 10), t(20, 0)).unwrap_err(),
        Unavailable::OutsideHours
    );
    assert_eq!(why(d(2026, 5, 10), t(11, 30)).unwrap().period, "brunch");
    assert!(why(d(2026, 5, 11), t(20, 0)).is_ok());
    let all_day = |date| SlotRequest {
        date,
        when: When::AnyTime,
        need: party(2),
    };
    assert!(free_slots(&s, &[], &all_day(d(2026, 5, 9)), now).is_empty());
    let brunch: Vec<_> = free_slots(&s, &[], &all_day(d(2026, 5, 10)), now)
        .iter()
        .map(|s| s.start.time())
        .collect();
    assert_eq!(brunch, vec![t(11, 0), t(11, 30), t(12, 0)]);
}

#[test]
fn lead_times_bound_how_soon_and_how_far_ahead() {
    let mut raw = settings(
        vec![dinner()],
        restaurant_capacity(60, Some(20), vec![], vec![]),
    );
    raw.lead.earliest = lyo_domain::availability::Minutes(90);
    raw.lead.latest_days = 30;
    let s = valid(raw);
    let now = rome(day(), t(18, 15));
    let why = |date, time| check(&s, &[], &wish(date, time, party(2)), now);
    assert_eq!(why(day(), t(19, 30)), Err(Unavailable::TooSoon));
    assert!(why(day(), t(19, 45)).is_err());
    assert!(why(day(), t(20, 0)).is_ok());
    assert_eq!(why(d(2026, 5, 7), t(20, 0)), Err(Unavailable::TooSoon));
    assert!(why(d(2026, 6, 7), t(20, 0)).is_ok());
    assert_eq!(why(d(2026, 6, 8), t(20, 0)), Err(Unavailable::TooFarAhead));
    let tonight = SlotRequest {
        date: day(),
        when: When::AnyTime,
        need: party(2),
    };
    let first = free_slots(&s, &[], &tonight, now)
        .first()
        .map(|slot| slot.start.time());
    assert_eq!(first, Some(t(20, 0)));
}
