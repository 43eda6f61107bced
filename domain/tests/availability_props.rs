//! Properties of availability over random valid settings and schedules built by booking what
//! it offers: offered slots lie inside opening hours, never exceed capacity (recounted here
//! independently), stop being offered once booked until full, and alternatives are valid free
//! slots in the documented order.
#![allow(clippy::unwrap_used)]

#[path = "availability_support.rs"]
mod support;

use std::collections::HashSet;

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;
use lyo_domain::availability::{
    alternatives, check, free_slots, Booking, BookingSettings, Capacity, DateException, DayHours,
    LeadTime, Load, Minutes, Need, PartySize, Resource, ResourceId, RestaurantCapacity,
    SalonCapacity, Service, ServiceId, ServicePeriod, Slot, SlotRequest, Table, TableCombination,
    TableId, Unavailable, ValidSettings, WeeklyHours, When, Wish, ALTERNATIVE_DAYS,
};
use proptest::prelude::*;
use support::{booking_of, d};

const ZONES: [&str; 5] = [
    "Europe/Rome",
    "America/New_York",
    "UTC",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

/// Days around DST changes: Rome and New York in spring and autumn, Lord Howe (30 minutes).
fn base_dates() -> Vec<Date> {
    vec![
        d(2026, 3, 27),
        d(2026, 10, 23),
        d(2026, 3, 6),
        d(2026, 10, 30),
        d(2026, 4, 3),
        d(2026, 5, 8),
    ]
}

fn minute(m: u16) -> Time {
    Time::new(
        i8::try_from(m / 60).unwrap(),
        i8::try_from(m % 60).unwrap(),
        0,
        0,
    )
    .unwrap()
}

/// Up to three periods from sorted marks at or after 02:00; the last may cross midnight and
/// end by 02:00, so no day ever runs into the next one.
fn day_periods() -> impl Strategy<Value = Vec<ServicePeriod>> {
    (
        proptest::collection::btree_set(24u16..288, 0..7),
        any::<bool>(),
        0u16..=24,
    )
        .prop_map(|(marks, cross, tail)| {
            let marks: Vec<u16> = marks.into_iter().map(|m| m * 5).collect();
            let mut periods: Vec<ServicePeriod> = marks
                .chunks_exact(2)
                .enumerate()
                .map(|(i, p)| ServicePeriod::new(format!("p{i}"), minute(p[0]), minute(p[1])))
                .collect();
            if cross {
                if let Some(last) = periods.last_mut() {
                    last.to = minute(tail * 5);
                }
            }
            periods
        })
}

fn restaurant() -> impl Strategy<Value = Capacity> {
    let tables = proptest::collection::vec(1u16..=8, 0..5);
    let combos = proptest::collection::vec((0usize..5, 0usize..5), 0..3);
    (
        prop_oneof![Just(30u32), Just(60), Just(90), Just(120)],
        1u16..=10,
        proptest::option::of(1u32..=16),
        tables,
        combos,
    )
        .prop_map(|(seating, largest, covers, seats, pairs)| {
            let tables: Vec<Table> = seats
                .iter()
                .enumerate()
                .map(|(i, s)| Table {
                    id: TableId::new(format!("T{i}")),
                    seats: *s,
                })
                .collect();
            let combinations = pairs
                .into_iter()
                .filter(|(a, b)| a != b && *a < tables.len() && *b < tables.len())
                .map(|(a, b)| TableCombination {
                    tables: vec![tables[a].id.clone(), tables[b].id.clone()],
                })
                .collect();
            Capacity::Restaurant(RestaurantCapacity {
                seating: Minutes(seating),
                largest_party: PartySize::new(largest).unwrap(),
                max_covers: if tables.is_empty() {
                    Some(covers.unwrap_or(8))
                } else {
                    covers
                },
                tables,
                combinations,
            })
        })
}

fn salon() -> impl Strategy<Value = Capacity> {
    let durations =
        proptest::collection::vec(prop_oneof![Just(15u32), Just(30), Just(45), Just(90)], 1..4);
    (
        durations,
        1usize..4,
        proptest::collection::vec(any::<bool>(), 12),
    )
        .prop_map(|(durations, people, extra)| {
            let services: Vec<Service> = durations
                .iter()
                .enumerate()
                .map(|(i, m)| Service {
                    id: ServiceId::new(format!("s{i}")),
                    name: format!("s{i}"),
                    duration: Minutes(*m),
                })
                .collect();
            let resources = (0..people)
                .map(|r| Resource {
                    id: ResourceId::new(format!("r{r}")),
                    name: format!("r{r}"),
                    services: services
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % people == r || extra[(r * 4 + i) % 12])
                        .map(|(_, s)| s.id.clone())
                        .collect(),
                })
                .collect();
            Capacity::Salon(SalonCapacity {
                services,
                resources,
            })
        })
}

fn settings() -> impl Strategy<Value = ValidSettings> {
    let week = proptest::collection::vec(day_periods(), 7);
    let exceptions =
        proptest::collection::vec((0i64..8, proptest::option::of(day_periods())), 0..3);
    let lead = (0u32..240, 0u16..20);
    let grid = prop_oneof![Just(10u32), Just(15), Just(20), Just(30), Just(60)];
    (
        0usize..ZONES.len(),
        week,
        exceptions,
        grid,
        lead,
        prop_oneof![restaurant(), salon()],
        0usize..6,
    )
        // Random periods can be legitimately invalid (e.g. empty on a date where the zone skips
        // those hours): the properties are about valid settings, so those are discarded.
        .prop_filter_map(
            "settings must validate",
            |(zone, week, exceptions, grid, (earliest, latest_days), capacity, base)| {
                let mut weekly = WeeklyHours::default();
                for (day, periods) in lyo_weekdays().into_iter().zip(week) {
                    *weekly.day_mut(day) = periods;
                }
                let base = base_dates()[base];
                let mut seen = HashSet::new();
                let exceptions = exceptions
                    .into_iter()
                    .filter(|(offset, _)| seen.insert(*offset))
                    .map(|(offset, hours)| DateException {
                        date: base.checked_add(jiff::Span::new().days(offset)).unwrap(),
                        hours: hours.map_or(DayHours::Closed, DayHours::Special),
                    })
                    .collect();
                let raw = BookingSettings {
                    time_zone: ZONES[zone].to_string(),
                    weekly,
                    exceptions,
                    granularity: Minutes(grid),
                    lead: LeadTime {
                        earliest: Minutes(earliest),
                        latest_days,
                    },
                    capacity,
                };
                raw.validate().ok()
            },
        )
}

fn lyo_weekdays() -> [jiff::civil::Weekday; 7] {
    use jiff::civil::Weekday::*;
    [
        Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
    ]
}

/// A need drawn from the settings: a party up to one over the largest, or a known service with
/// maybe a resource (which may not offer it).
fn need_for(s: &ValidSettings, pick: (u16, usize, usize, bool)) -> Need {
    match &s.settings().capacity {
        Capacity::Restaurant(r) => Need::Party {
            size: PartySize::new(1 + pick.0 % (r.largest_party.get() + 1)).unwrap(),
        },
        Capacity::Salon(salon) => Need::Service {
            service: salon.services[pick.1 % salon.services.len()].id.clone(),
            resource: pick
                .3
                .then(|| salon.resources[pick.2 % salon.resources.len()].id.clone()),
        },
    }
}

type Pick = (u16, usize, usize, bool, i64, usize);

fn pick() -> impl Strategy<Value = Pick> {
    (
        any::<u16>(),
        any::<usize>(),
        any::<usize>(),
        any::<bool>(),
        0i64..8,
        any::<usize>(),
    )
}

/// The test's dates: `offset` days after the reference day (two days before the base date).
fn date_of(s: &ValidSettings, offset: i64) -> Date {
    base_of(s)
        .checked_add(jiff::Span::new().days(offset - 2))
        .unwrap()
}

/// The base date is kept in the settings as an exception-free marker: the first exception's
/// date when there is one, else the first base date around a DST change of the zone.
fn base_of(s: &ValidSettings) -> Date {
    s.settings()
        .exceptions
        .first()
        .map_or_else(|| zone_base(s.settings().time_zone.as_str()), |e| e.date)
}

fn zone_base(zone: &str) -> Date {
    match zone {
        "America/New_York" => d(2026, 3, 6),
        "Australia/Lord_Howe" => d(2026, 4, 3),
        "UTC" => d(2026, 10, 30),
        "Asia/Kolkata" => d(2026, 5, 8),
        _ => d(2026, 10, 23),
    }
}

/// Two days before the base date at 10:17 UTC: lead times then matter on the first days.
fn reference_now(s: &ValidSettings) -> Timestamp {
    let day = date_of(s, 0);
    day.at(10, 17, 0, 0)
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp()
}

/// Books offered slots for random needs: a schedule the engine itself considered valid.
fn fill(s: &ValidSettings, picks: &[Pick]) -> Vec<Booking> {
    let now = reference_now(s);
    let mut bookings = Vec::new();
    for p in picks {
        let need = need_for(s, (p.0, p.1, p.2, p.3));
        let request = SlotRequest {
            date: date_of(s, p.4 % 4),
            when: When::AnyTime,
            need: need.clone(),
        };
        let slots = free_slots(s, &bookings, &request, now);
        if !slots.is_empty() {
            let slot = &slots[p.5 % slots.len()];
            let booking = booking_of(slot, &need);
            bookings.push(booking);
            assert_capacity_holds(s, &bookings);
        }
    }
    bookings
}

/// Opening hours, grid, DST resolution, duration and lead time, recomputed from the raw settings.
fn assert_inside_hours(s: &ValidSettings, slot: &Slot, need: &Need, now: Timestamp) {
    let raw = s.settings();
    let zone = s.time_zone();
    let periods = match raw.exceptions.iter().find(|e| e.date == slot.service_date) {
        Some(DateException {
            hours: DayHours::Closed,
            ..
        }) => panic!("slot on a closed date: {slot:?}"),
        Some(DateException {
            hours: DayHours::Special(p),
            ..
        }) => p.clone(),
        None => raw.weekly.day(slot.service_date.weekday()).to_vec(),
    };
    let period = periods
        .iter()
        .find(|p| p.name == slot.period)
        .expect("slot names a period of its date");
    let from = slot.service_date.to_datetime(period.from);
    let to_date = if period.to <= period.from {
        slot.service_date.tomorrow().unwrap()
    } else {
        slot.service_date
    };
    let to = to_date.to_datetime(period.to);
    assert!(
        from <= slot.start && slot.start < to,
        "{slot:?} outside {period:?}"
    );
    let step = i64::from(raw.granularity.get());
    assert_eq!(
        slot.start.duration_since(from).as_mins() % step,
        0,
        "off grid: {slot:?}"
    );
    let ambiguous = zone.to_ambiguous_timestamp(slot.start);
    assert!(
        !matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }),
        "nonexistent: {slot:?}"
    );
    assert_eq!(slot.starts_at, ambiguous.earlier().unwrap());
    let closes = zone.to_ambiguous_timestamp(to).compatible().unwrap();
    assert!(slot.ends_at <= closes, "{slot:?} ends after {to}");
    let minutes = slot.ends_at.duration_since(slot.starts_at).as_mins();
    let expected = match (&raw.capacity, need) {
        (Capacity::Restaurant(r), _) => r.seating.get(),
        (Capacity::Salon(salon), Need::Service { service, .. }) => salon
            .services
            .iter()
            .find(|x| &x.id == service)
            .unwrap()
            .duration
            .get(),
        _ => unreachable!(),
    };
    assert_eq!(minutes, i64::from(expected));
    assert!(
        slot.starts_at
            >= now
                .checked_add(jiff::SignedDuration::from_mins(i64::from(
                    raw.lead.earliest.get()
                )))
                .unwrap()
    );
    let today = now.to_zoned(zone.clone()).date();
    assert!(
        slot.start.date()
            <= today
                .checked_add(jiff::Span::new().days(i64::from(raw.lead.latest_days)))
                .unwrap()
    );
}

/// Covers at every booking's start, table and resource exclusivity, seats and skills.
fn assert_capacity_holds(s: &ValidSettings, bookings: &[Booking]) {
    let overlap = |a: &Booking, b: &Booking| a.start < b.end() && b.start < a.end();
    match &s.settings().capacity {
        Capacity::Restaurant(r) => {
            for b in bookings {
                let Load::Party { size, tables } = &b.load else {
                    panic!("salon booking in a restaurant")
                };
                let seats: u32 = tables
                    .iter()
                    .map(|id| u32::from(r.tables.iter().find(|t| &t.id == id).unwrap().seats))
                    .sum();
                assert!(
                    r.tables.is_empty() || seats >= u32::from(size.get()),
                    "party of {size:?} on {tables:?}"
                );
                if let Some(max) = r.max_covers {
                    let seated: u32 = bookings
                        .iter()
                        .filter(|o| o.start <= b.start && b.start < o.end())
                        .map(|o| match &o.load {
                            Load::Party { size, .. } => u32::from(size.get()),
                            _ => 0,
                        })
                        .sum();
                    assert!(seated <= max, "{seated} covers at {} over {max}", b.start);
                }
            }
            for (i, a) in bookings.iter().enumerate() {
                for b in &bookings[i + 1..] {
                    if let (Load::Party { tables: ta, .. }, Load::Party { tables: tb, .. }) =
                        (&a.load, &b.load)
                    {
                        assert!(
                            !overlap(a, b) || ta.iter().all(|t| !tb.contains(t)),
                            "table shared: {a:?} {b:?}"
                        );
                    }
                }
            }
        }
        Capacity::Salon(salon) => {
            for (i, a) in bookings.iter().enumerate() {
                let Load::Service { service, resource } = &a.load else {
                    panic!("party at a salon")
                };
                let offers = salon.resources.iter().find(|r| &r.id == resource).unwrap();
                assert!(
                    offers.services.contains(service),
                    "{resource} does not offer {service}"
                );
                for b in &bookings[i + 1..] {
                    let Load::Service {
                        resource: other, ..
                    } = &b.load
                    else {
                        panic!()
                    };
                    assert!(
                        !overlap(a, b) || resource != other,
                        "{resource} double-booked"
                    );
                }
            }
        }
    }
}

fn wish_at(slot: &Slot, need: &Need) -> Wish {
    Wish {
        date: slot.start.date(),
        time: slot.start.time(),
        need: need.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn offered_slots_are_inside_hours_and_within_capacity(s in settings(), picks in proptest::collection::vec(pick(), 0..24), probe in pick()) {
        let bookings = fill(&s, &picks);
        let now = reference_now(&s);
        let need = need_for(&s, (probe.0, probe.1, probe.2, probe.3));
        for offset in 0..8 {
            let request = SlotRequest { date: date_of(&s, offset), when: When::AnyTime, need: need.clone() };
            for slot in free_slots(&s, &bookings, &request, now) {
                assert_inside_hours(&s, &slot, &need, now);
                let mut with_it = bookings.clone();
                with_it.push(booking_of(&slot, &need));
                assert_capacity_holds(&s, &with_it);
                prop_assert_eq!(check(&s, &bookings, &wish_at(&slot, &need), now), Ok(slot.clone()));
            }
        }
    }

    #[test]
    fn a_slot_booked_until_full_is_no_longer_offered(s in settings(), picks in proptest::collection::vec(pick(), 0..10), probe in pick()) {
        let mut bookings = fill(&s, &picks);
        let now = reference_now(&s);
        let need = need_for(&s, (probe.0, probe.1, probe.2, probe.3));
        let request = SlotRequest { date: date_of(&s, probe.4), when: When::AnyTime, need: need.clone() };
        let slots = free_slots(&s, &bookings, &request, now);
        prop_assume!(!slots.is_empty());
        let chosen = slots[probe.5 % slots.len()].clone();
        let wish = wish_at(&chosen, &need);
        let mut taken = 0;
        let last = loop {
            match check(&s, &bookings, &wish, now) {
                Ok(slot) => {
                    prop_assert_eq!(slot.starts_at, chosen.starts_at);
                    bookings.push(booking_of(&slot, &need));
                    assert_capacity_holds(&s, &bookings);
                    taken += 1;
                    prop_assert!(taken <= 64, "never fills up");
                }
                Err(why) => break why,
            }
        };
        prop_assert_eq!(last, Unavailable::Full);
        let again = free_slots(&s, &bookings, &request, now);
        prop_assert!(again.iter().all(|slot| slot.starts_at != chosen.starts_at));
    }

    #[test]
    fn alternatives_are_free_slots_in_the_documented_order(s in settings(), picks in proptest::collection::vec(pick(), 0..12), probe in pick(), minutes in 0u16..1440, max in 0usize..9) {
        let bookings = fill(&s, &picks);
        let now = reference_now(&s);
        let need = need_for(&s, (probe.0, probe.1, probe.2, probe.3));
        let wish = Wish { date: date_of(&s, probe.4), time: minute(minutes - minutes % 5), need: need.clone() };
        let found = alternatives(&s, &bookings, &wish, now, max);
        prop_assert!(found.len() <= max);
        let wished = wish.date.to_datetime(wish.time);
        let key = |slot: &Slot| {
            let midnight = slot.service_date.to_datetime(Time::midnight());
            let from_midnight = slot.start.duration_since(midnight).as_mins();
            (slot.service_date, (from_midnight - i64::from(minutes - minutes % 5)).abs(), slot.starts_at)
        };
        for slot in &found {
            prop_assert_eq!(check(&s, &bookings, &wish_at(slot, &need), now), Ok(slot.clone()));
            prop_assert!(slot.start != wished);
            let last = wish.date.checked_add(jiff::Span::new().days(ALTERNATIVE_DAYS)).unwrap();
            prop_assert!(wish.date <= slot.service_date && slot.service_date <= last);
        }
        prop_assert!(found.windows(2).all(|w| key(&w[0]) < key(&w[1])), "out of order: {:?}", found);
        // Nothing nearer was left out: every free slot of the dates covered, not returned,
        // sorts after the last one returned.
        if let Some(last) = found.last() {
            let mut date = wish.date;
            while date <= last.service_date {
                let request = SlotRequest { date, when: When::AnyTime, need: need.clone() };
                for slot in free_slots(&s, &bookings, &request, now) {
                    if slot.start != wished && !found.contains(&slot) {
                        prop_assert!(key(&slot) > key(last), "{:?} skipped", slot);
                    }
                }
                date = date.tomorrow().unwrap();
            }
        }
    }
}
