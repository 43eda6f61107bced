//! Builders shared by the availability tests (included with `#[path]`; also compiled on its
//! own as an empty test target, hence the allow).
#![allow(dead_code, clippy::unwrap_used)]

use jiff::civil::{Date, DateTime, Time};
use jiff::Timestamp;
use lyo_domain::availability::{
    Booking, BookingSettings, Capacity, LeadTime, Load, Minutes, Need, PartySize, Resource,
    ResourceId, RestaurantCapacity, SalonCapacity, Service, ServiceId, ServicePeriod, Slot, Table,
    TableCombination, TableId, ValidSettings, WeeklyHours, Wish,
};

pub const ROME: &str = "Europe/Rome";

pub fn t(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

pub fn d(year: i16, month: i8, day: i8) -> Date {
    Date::constant(year, month, day)
}

pub fn at(date: Date, time: Time) -> DateTime {
    date.to_datetime(time)
}

/// The instant of a local date-time in Rome (earlier offset in a fold).
pub fn rome(date: Date, time: Time) -> Timestamp {
    let zone = jiff::tz::TimeZone::get(ROME).unwrap();
    zone.to_ambiguous_timestamp(at(date, time))
        .earlier()
        .unwrap()
}

pub fn period(name: &str, from: Time, to: Time) -> ServicePeriod {
    ServicePeriod::new(name, from, to)
}

pub fn dinner() -> ServicePeriod {
    period("dinner", t(19, 0), t(23, 0))
}

pub fn party(people: u16) -> Need {
    Need::Party {
        size: PartySize::new(people).unwrap(),
    }
}

pub fn service(id: &str, resource: Option<&str>) -> Need {
    Need::Service {
        service: ServiceId::new(id),
        resource: resource.map(ResourceId::new),
    }
}

pub fn tables(list: &[(&str, u16)]) -> Vec<Table> {
    list.iter()
        .map(|(id, seats)| Table {
            id: TableId::new(*id),
            seats: *seats,
        })
        .collect()
}

pub fn combos(list: &[&[&str]]) -> Vec<TableCombination> {
    list.iter()
        .map(|c| TableCombination {
            tables: c.iter().map(|id| TableId::new(*id)).collect(),
        })
        .collect()
}

pub fn restaurant_capacity(
    seating: u32,
    max_covers: Option<u32>,
    tables: Vec<Table>,
    combinations: Vec<TableCombination>,
) -> Capacity {
    Capacity::Restaurant(RestaurantCapacity {
        seating: Minutes(seating),
        largest_party: PartySize::new(12).unwrap(),
        max_covers,
        tables,
        combinations,
    })
}

/// Anna does cuts and colour, Marco only cuts; a cut takes 30 minutes, colour 90.
pub fn salon_capacity() -> Capacity {
    let svc = |id: &str, minutes| Service {
        id: ServiceId::new(id),
        name: id.to_string(),
        duration: Minutes(minutes),
    };
    let res = |id: &str, offers: &[&str]| Resource {
        id: ResourceId::new(id),
        name: id.to_string(),
        services: offers.iter().map(|s| ServiceId::new(*s)).collect(),
    };
    Capacity::Salon(SalonCapacity {
        services: vec![svc("taglio", 30), svc("colore", 90)],
        resources: vec![
            res("anna", &["taglio", "colore"]),
            res("marco", &["taglio"]),
        ],
    })
}

/// Rome, the same periods every day, 30-minute grid, no lead time, 60 days ahead.
pub fn settings(periods: Vec<ServicePeriod>, capacity: Capacity) -> BookingSettings {
    BookingSettings {
        time_zone: ROME.to_string(),
        weekly: WeeklyHours::every_day(periods),
        exceptions: Vec::new(),
        granularity: Minutes(30),
        lead: LeadTime {
            earliest: Minutes(0),
            latest_days: 60,
        },
        capacity,
    }
}

pub fn valid(settings: BookingSettings) -> ValidSettings {
    settings.validate().unwrap()
}

/// Mid-May 2026 (no DST change near), at 08:00 in Rome.
pub fn may_morning() -> Timestamp {
    rome(d(2026, 5, 4), t(8, 0))
}

pub fn wish(date: Date, time: Time, need: Need) -> Wish {
    Wish { date, time, need }
}

/// The booking a slot becomes once taken for `need`.
pub fn booking_of(slot: &Slot, need: &Need) -> Booking {
    use lyo_domain::availability::Assignment;
    let duration = slot.ends_at.duration_since(slot.starts_at).as_mins();
    let load = match (need, &slot.assignment) {
        (Need::Party { size }, Assignment::Tables(tables)) => Load::Party {
            size: *size,
            tables: tables.clone(),
        },
        (Need::Party { size }, _) => Load::Party {
            size: *size,
            tables: Vec::new(),
        },
        (Need::Service { service, .. }, Assignment::Resource(r)) => Load::Service {
            service: service.clone(),
            resource: r.clone(),
        },
        (Need::Service { .. }, other) => panic!("a service slot assigned {other:?}"),
    };
    Booking {
        start: slot.starts_at,
        duration: Minutes(u32::try_from(duration).unwrap()),
        load,
    }
}

/// A party booking at a Rome local time, with optional tables.
pub fn party_booking(date: Date, time: Time, minutes: u32, people: u16, on: &[&str]) -> Booking {
    Booking {
        start: rome(date, time),
        duration: Minutes(minutes),
        load: Load::Party {
            size: PartySize::new(people).unwrap(),
            tables: on.iter().map(|id| TableId::new(*id)).collect(),
        },
    }
}

pub fn salon_booking(date: Date, time: Time, minutes: u32, svc: &str, who: &str) -> Booking {
    Booking {
        start: rome(date, time),
        duration: Minutes(minutes),
        load: Load::Service {
            service: ServiceId::new(svc),
            resource: ResourceId::new(who),
        },
    }
}
