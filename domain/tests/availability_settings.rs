//! Settings validation and their stored (JSON) form.
#![allow(clippy::unwrap_used)]

#[path = "availability_support.rs"]
mod support;

use jiff::civil::Weekday;
use lyo_domain::availability::{
    BookingSettings, Capacity, DateException, DayHours, DayRef, Minutes, SalonCapacity,
    SettingsError, TableId, ValidSettings,
};
use support::*;

fn restaurant() -> BookingSettings {
    let capacity = restaurant_capacity(
        120,
        None,
        tables(&[("A", 4), ("B", 4)]),
        combos(&[&["A", "B"]]),
    );
    settings(
        vec![period("lunch", t(12, 0), t(15, 0)), dinner()],
        capacity,
    )
}

type Change = Box<dyn FnOnce(&mut BookingSettings)>;

fn with(change: impl FnOnce(&mut BookingSettings)) -> Result<ValidSettings, SettingsError> {
    let mut raw = restaurant();
    change(&mut raw);
    raw.validate()
}

#[test]
fn valid_settings_pass() {
    assert!(restaurant().validate().is_ok());
    assert!(
        settings(vec![period("day", t(9, 0), t(19, 0))], salon_capacity())
            .validate()
            .is_ok()
    );
    assert!(
        with(|s| *s.weekly.day_mut(Weekday::Friday) = vec![period("late", t(19, 0), t(1, 0))])
            .is_ok()
    );
}

#[test]
fn invalid_settings_say_what_is_wrong() {
    let fri = DayRef::Weekday(Weekday::Friday);
    let set_friday = |periods: Vec<_>| {
        move |s: &mut BookingSettings| *s.weekly.day_mut(Weekday::Friday) = periods
    };
    let cases: Vec<(&str, Change, SettingsError)> = vec![
        (
            "zone",
            Box::new(|s| s.time_zone = "Mars/Olympus".into()),
            SettingsError::UnknownTimeZone("Mars/Olympus".into()),
        ),
        (
            "grid",
            Box::new(|s| s.granularity = Minutes(0)),
            SettingsError::ZeroGranularity,
        ),
        (
            "overlap",
            Box::new(set_friday(vec![
                period("a", t(12, 0), t(15, 0)),
                period("b", t(14, 0), t(16, 0)),
            ])),
            SettingsError::OverlappingPeriods {
                day: fri,
                first: "a".into(),
                second: "b".into(),
            },
        ),
        (
            "overlap after midnight",
            Box::new(set_friday(vec![
                period("late", t(20, 0), t(2, 0)),
                period("bar", t(23, 0), t(23, 30)),
            ])),
            SettingsError::OverlappingPeriods {
                day: fri,
                first: "late".into(),
                second: "bar".into(),
            },
        ),
        (
            "into saturday",
            Box::new(|s| {
                *s.weekly.day_mut(Weekday::Friday) = vec![period("late", t(20, 0), t(13, 0))]
            }),
            SettingsError::OverlapsNextDay {
                day: fri,
                period: "late".into(),
            },
        ),
        (
            "empty",
            Box::new(set_friday(vec![period("x", t(12, 0), t(12, 0))])),
            SettingsError::EmptyPeriod {
                day: fri,
                period: "x".into(),
            },
        ),
        (
            "unnamed",
            Box::new(set_friday(vec![period(" ", t(12, 0), t(13, 0))])),
            SettingsError::UnnamedPeriod { day: fri },
        ),
        (
            "same name",
            Box::new(set_friday(vec![
                period("cena", t(12, 0), t(13, 0)),
                period("Cena", t(19, 0), t(20, 0)),
            ])),
            SettingsError::DuplicatePeriodName {
                day: fri,
                period: "Cena".into(),
            },
        ),
        (
            "seconds",
            Box::new(set_friday(vec![period(
                "x",
                jiff::civil::Time::constant(12, 0, 30, 0),
                t(13, 0),
            )])),
            SettingsError::NotWholeMinutes {
                day: fri,
                period: "x".into(),
            },
        ),
        (
            "exception into next day",
            Box::new(|s| {
                let late = DayHours::Special(vec![period("party", t(21, 0), t(13, 0))]);
                s.exceptions.push(DateException {
                    date: d(2026, 5, 8),
                    hours: late,
                });
            }),
            SettingsError::OverlapsNextDay {
                day: DayRef::Date(d(2026, 5, 8)),
                period: "party".into(),
            },
        ),
        (
            "two exceptions",
            Box::new(|s| {
                let closed = || DateException {
                    date: d(2026, 5, 8),
                    hours: DayHours::Closed,
                };
                s.exceptions = vec![closed(), closed()];
            }),
            SettingsError::DuplicateException(d(2026, 5, 8)),
        ),
        (
            "no capacity",
            Box::new(|s| s.capacity = restaurant_capacity(90, None, vec![], vec![])),
            SettingsError::NoCapacity,
        ),
        (
            "zero covers",
            Box::new(|s| s.capacity = restaurant_capacity(90, Some(0), vec![], vec![])),
            SettingsError::ZeroCovers,
        ),
        (
            "zero seating",
            Box::new(|s| s.capacity = restaurant_capacity(0, Some(9), vec![], vec![])),
            SettingsError::ZeroSeating,
        ),
        (
            "seatless table",
            Box::new(|s| s.capacity = restaurant_capacity(90, None, tables(&[("A", 0)]), vec![])),
            SettingsError::TableWithoutSeats(TableId::new("A")),
        ),
        (
            "twice the same table",
            Box::new(|s| {
                s.capacity = restaurant_capacity(90, None, tables(&[("A", 2), ("A", 4)]), vec![])
            }),
            SettingsError::DuplicateTable(TableId::new("A")),
        ),
        (
            "combination of one",
            Box::new(|s| {
                s.capacity =
                    restaurant_capacity(90, None, tables(&[("A", 2)]), combos(&[&["A", "A"]]))
            }),
            SettingsError::CombinationTooSmall,
        ),
        (
            "combination of unknown",
            Box::new(|s| {
                s.capacity =
                    restaurant_capacity(90, None, tables(&[("A", 2)]), combos(&[&["A", "Z"]]))
            }),
            SettingsError::UnknownTable(TableId::new("Z")),
        ),
        (
            "no resources",
            Box::new(|s| {
                s.capacity = Capacity::Salon(SalonCapacity {
                    services: vec![],
                    resources: vec![],
                });
            }),
            SettingsError::NoServices,
        ),
    ];
    for (name, change, expected) in cases {
        assert_eq!(with(change).unwrap_err(), expected, "{name}");
    }
}

#[test]
fn salon_services_must_exist_and_be_offered() {
    let Capacity::Salon(mut salon) = salon_capacity() else {
        unreachable!()
    };
    salon.resources[1]
        .services
        .push(lyo_domain::availability::ServiceId::new("barba"));
    let raw = settings(vec![dinner()], Capacity::Salon(salon.clone()));
    assert!(matches!(
        raw.validate(),
        Err(SettingsError::UnknownService { .. })
    ));
    salon.resources[1].services.pop();
    salon.resources[0]
        .services
        .retain(|s| s.as_str() != "colore");
    let raw = settings(vec![dinner()], Capacity::Salon(salon));
    assert!(matches!(
        raw.validate(),
        Err(SettingsError::ServiceNotOffered(_))
    ));
}

#[test]
fn settings_round_trip_through_json_and_refuse_invalid_json() {
    let mut raw = restaurant();
    raw.exceptions.push(DateException {
        date: d(2026, 12, 25),
        hours: DayHours::Closed,
    });
    let valid = raw.clone().validate().unwrap();
    let json = serde_json::to_string(&valid).unwrap();
    let back: ValidSettings = serde_json::from_str(&json).unwrap();
    assert_eq!(back, valid);
    assert_eq!(serde_json::from_str::<BookingSettings>(&json).unwrap(), raw);
    let short_times = json.replace("\"12:00:00\"", "\"12:00\"");
    assert!(serde_json::from_str::<ValidSettings>(&short_times).is_ok());
    let broken = json.replace("Europe/Rome", "Europe/Atlantis");
    assert!(serde_json::from_str::<ValidSettings>(&broken).is_err());
    assert!(serde_json::from_str::<lyo_domain::availability::PartySize>("0").is_err());
}
