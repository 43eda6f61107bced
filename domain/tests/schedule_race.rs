//! Two (or fifty) customers racing for the last table: the protocol of ADR 0009 played against a
//! minimal stream with the event store's one rule, "append only at the version you loaded".
//! Every racer decides on the same `Schedule` version; exactly one append wins, every loser
//! conflicts, reloads, decides again and is refused `Full`.
#![allow(clippy::unwrap_used)]

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use jiff::civil::{Date, Time};
use lyo_domain::availability::{
    BookingSettings, Capacity, LeadTime, Minutes, Need, PartySize, RestaurantCapacity,
    ServicePeriod, Table, TableId, Unavailable, WeeklyHours, Wish,
};
use lyo_domain::ids::{AppointmentId, TenantId};
use lyo_domain::schedule::{Reservation, Schedule, ScheduleCommand, ScheduleEvent, ScheduleId};

/// One aggregate's events with optimistic concurrency, as postgres-es and sqlite-es enforce it
/// with their (aggregate_type, aggregate_id, sequence) primary key.
#[derive(Default)]
struct Stream(Vec<ScheduleEvent>);

#[derive(Debug)]
struct Conflict;

impl Stream {
    fn load(&self) -> (Schedule, usize) {
        let mut schedule = Schedule::default();
        for event in &self.0 {
            schedule.apply(event.clone());
        }
        (schedule, self.0.len())
    }

    fn append(&mut self, version: usize, events: Vec<ScheduleEvent>) -> Result<(), Conflict> {
        if version != self.0.len() {
            return Err(Conflict);
        }
        self.0.extend(events);
        Ok(())
    }
}

async fn decide(mut schedule: Schedule, command: ScheduleCommand) -> Vec<ScheduleEvent> {
    let sink = EventSink::default();
    schedule.handle(command, &(), &sink).await.unwrap();
    sink.collect().await
}

fn settings() -> BookingSettings {
    BookingSettings {
        time_zone: "Europe/Rome".into(),
        weekly: WeeklyHours::every_day(vec![ServicePeriod::new(
            "dinner",
            Time::constant(19, 0, 0, 0),
            Time::constant(23, 0, 0, 0),
        )]),
        exceptions: Vec::new(),
        granularity: Minutes(30),
        lead: LeadTime {
            earliest: Minutes(0),
            latest_days: 60,
        },
        capacity: Capacity::Restaurant(RestaurantCapacity {
            seating: Minutes(120),
            largest_party: PartySize::new(6).unwrap(),
            max_covers: None,
            tables: vec![Table {
                id: TableId::new("T1"),
                seats: 4,
            }],
            combinations: Vec::new(),
        }),
    }
}

fn reserve(racer: u128) -> ScheduleCommand {
    let wish = Wish {
        date: Date::constant(2026, 5, 8),
        time: Time::constant(20, 0, 0, 0),
        need: Need::Party {
            size: PartySize::new(2).unwrap(),
        },
    };
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(7));
    let valid = settings().validate().unwrap();
    ScheduleCommand::Reserve(Box::new(Reservation {
        schedule: ScheduleId::for_wish(tenant, &valid, &wish),
        appointment_id: AppointmentId::from_uuid(uuid::Uuid::from_u128(racer)),
        wish,
        settings: settings(),
        now: "2026-05-04T06:00:00Z".parse().unwrap(),
        replacing: None,
    }))
}

#[tokio::test]
async fn fifty_customers_racing_for_the_last_table_exactly_one_gets_it() {
    let mut stream = Stream::default();
    // Every racer loads the same (empty) schedule before anyone appends, and each believes the
    // table is free.
    let mut pending: Vec<(u128, Vec<ScheduleEvent>, usize)> = Vec::new();
    for racer in 1..=50 {
        let (schedule, version) = stream.load();
        let events = decide(schedule, reserve(racer)).await;
        assert!(matches!(
            events.as_slice(),
            [ScheduleEvent::SlotReserved { .. }]
        ));
        pending.push((racer, events, version));
    }
    let mut conflicts = 0;
    for (racer, events, version) in pending {
        if stream.append(version, events).is_ok() {
            continue;
        }
        conflicts += 1;
        // The command bus retries a conflict: reload, decide again, append.
        let (schedule, version) = stream.load();
        let again = decide(schedule, reserve(racer)).await;
        stream.append(version, again).unwrap();
    }
    assert_eq!(conflicts, 49);
    let reserved = stream
        .0
        .iter()
        .filter(|e| matches!(e, ScheduleEvent::SlotReserved { .. }))
        .count();
    let full = stream
        .0
        .iter()
        .filter(|e| {
            matches!(
                e,
                ScheduleEvent::ReservationRefused {
                    reason: Unavailable::Full,
                    ..
                }
            )
        })
        .count();
    assert_eq!((reserved, full), (1, 49));
    // A racer whose retry is replayed once more gets no new decision.
    let (schedule, _) = stream.load();
    assert!(decide(schedule, reserve(2)).await.is_empty());
}
