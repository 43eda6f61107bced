#![allow(clippy::unwrap_used)]

use super::*;
use crate::availability::{
    Capacity, DateException, DayHours, LeadTime, PartySize, Resource, ResourceId,
    RestaurantCapacity, SalonCapacity, Service, ServiceId, ServicePeriod, Table, TableId,
    WeeklyHours,
};
use crate::ids::TenantId;
use cqrs_es::test::TestFramework;
use jiff::civil::{Date, Time};

type Given = TestFramework<Schedule>;

const ROME: &str = "Europe/Rome";

fn t(hour: i8, minute: i8) -> Time {
    Time::constant(hour, minute, 0, 0)
}

/// Friday 8 May 2026: no daylight-saving change near.
fn friday() -> Date {
    Date::constant(2026, 5, 8)
}

fn now() -> Timestamp {
    "2026-05-04T06:00:00Z".parse().unwrap()
}

fn tenant() -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(7))
}

fn id(n: u128) -> AppointmentId {
    AppointmentId::from_uuid(uuid::Uuid::from_u128(n))
}

fn party(people: u16) -> Need {
    Need::Party {
        size: PartySize::new(people).unwrap(),
    }
}

fn wish(date: Date, time: Time, need: Need) -> Wish {
    Wish { date, time, need }
}

fn restaurant(periods: Vec<ServicePeriod>, tables: &[(&str, u16)]) -> BookingSettings {
    BookingSettings {
        time_zone: ROME.into(),
        weekly: WeeklyHours::every_day(periods),
        exceptions: Vec::new(),
        granularity: Minutes(30),
        lead: LeadTime {
            earliest: Minutes(0),
            latest_days: 400,
        },
        capacity: Capacity::Restaurant(RestaurantCapacity {
            seating: Minutes(120),
            largest_party: PartySize::new(8).unwrap(),
            max_covers: None,
            tables: tables
                .iter()
                .map(|(id, seats)| Table {
                    id: TableId::new(*id),
                    seats: *seats,
                })
                .collect(),
            combinations: Vec::new(),
        }),
    }
}

/// Dinner 19:00–23:00 every day, one table of four, two-hour seatings.
fn last_table() -> BookingSettings {
    restaurant(
        vec![ServicePeriod::new("dinner", t(19, 0), t(23, 0))],
        &[("T1", 4)],
    )
}

/// A late bar 22:00–06:00 every night, one table of four.
fn late_bar() -> BookingSettings {
    restaurant(
        vec![ServicePeriod::new("late", t(22, 0), t(6, 0))],
        &[("T1", 4)],
    )
}

fn reservation(
    settings: &BookingSettings,
    appointment_id: AppointmentId,
    wish: Wish,
    replacing: Option<AppointmentId>,
) -> Reservation {
    let valid = settings.clone().validate().unwrap();
    Reservation {
        schedule: ScheduleId::for_wish(tenant(), &valid, &wish),
        appointment_id,
        wish,
        settings: settings.clone(),
        now: now(),
        replacing,
    }
}

fn reserve(
    settings: &BookingSettings,
    appointment_id: AppointmentId,
    wish: Wish,
    replacing: Option<AppointmentId>,
) -> ScheduleCommand {
    ScheduleCommand::Reserve(Box::new(reservation(
        settings,
        appointment_id,
        wish,
        replacing,
    )))
}

/// The event a free wish becomes on an empty schedule.
fn reserved(
    settings: &BookingSettings,
    appointment_id: AppointmentId,
    wish: &Wish,
) -> ScheduleEvent {
    let valid = settings.clone().validate().unwrap();
    let slot = check(&valid, &[], wish, now()).unwrap();
    let booking = booking_of(&slot, &wish.need).unwrap();
    ScheduleEvent::SlotReserved {
        appointment_id,
        slot,
        booking,
    }
}

fn refused(appointment_id: AppointmentId, wish: &Wish, reason: Unavailable) -> ScheduleEvent {
    ScheduleEvent::ReservationRefused {
        appointment_id,
        wish: wish.clone(),
        reason,
    }
}

fn released(appointment_id: AppointmentId, replaced_by: Option<AppointmentId>) -> ScheduleEvent {
    ScheduleEvent::SlotReleased {
        appointment_id,
        replaced_by,
    }
}

fn eight_pm(people: u16) -> Wish {
    wish(friday(), t(20, 0), party(people))
}

#[test]
fn a_free_slot_is_reserved_with_the_table_it_takes() {
    let s = last_table();
    let ScheduleEvent::SlotReserved { slot, booking, .. } = reserved(&s, id(1), &eight_pm(4))
    else {
        panic!("not reserved");
    };
    assert_eq!(slot.service_date, friday());
    assert_eq!(
        booking,
        Booking {
            start: "2026-05-08T18:00:00Z".parse().unwrap(),
            duration: Minutes(120),
            load: Load::Party {
                size: PartySize::new(4).unwrap(),
                tables: vec![TableId::new("T1")],
            },
        }
    );
    Given::with(())
        .given_no_previous_events()
        .when(reserve(&s, id(1), eight_pm(4), None))
        .then_expect_events(vec![reserved(&s, id(1), &eight_pm(4))]);
}

#[test]
fn booking_the_last_table_twice_refuses_the_second_as_full() {
    let s = last_table();
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(reserve(&s, id(2), eight_pm(2), None))
        .then_expect_events(vec![refused(id(2), &eight_pm(2), Unavailable::Full)]);
}

#[test]
fn a_reservation_already_held_is_not_decided_again() {
    let s = last_table();
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(reserve(&s, id(1), eight_pm(4), None))
        .then_expect_events(vec![]);
}

#[test]
fn a_refusal_stands_even_once_the_slot_is_free_again() {
    let s = last_table();
    Given::with(())
        .given(vec![
            reserved(&s, id(1), &eight_pm(4)),
            refused(id(2), &eight_pm(2), Unavailable::Full),
            released(id(1), None),
        ])
        .when(reserve(&s, id(2), eight_pm(2), None))
        .then_expect_events(vec![]);
}

#[test]
fn a_released_id_is_never_reserved_again() {
    let s = last_table();
    Given::with(())
        .given(vec![
            reserved(&s, id(1), &eight_pm(4)),
            released(id(1), None),
        ])
        .when(reserve(&s, id(1), eight_pm(4), None))
        .then_expect_events(vec![]);
}

#[test]
fn a_release_frees_the_table_for_the_next_reservation() {
    let s = last_table();
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(ScheduleCommand::Release {
            appointment_id: id(1),
        })
        .then_expect_events(vec![released(id(1), None)]);
    Given::with(())
        .given(vec![
            reserved(&s, id(1), &eight_pm(4)),
            released(id(1), None),
        ])
        .when(reserve(&s, id(2), eight_pm(2), None))
        .then_expect_events(vec![reserved(&s, id(2), &eight_pm(2))]);
}

#[test]
fn releasing_an_unknown_refused_or_released_id_emits_nothing() {
    let s = last_table();
    let release = |n| ScheduleCommand::Release {
        appointment_id: id(n),
    };
    let history = vec![
        reserved(&s, id(1), &eight_pm(4)),
        released(id(1), None),
        refused(id(2), &eight_pm(9), Unavailable::PartyTooLarge),
    ];
    for n in [1, 2, 3] {
        Given::with(())
            .given(history.clone())
            .when(release(n))
            .then_expect_events(vec![]);
    }
}

#[test]
fn a_same_day_move_does_not_compete_with_itself_and_releases_the_old_hold() {
    let s = last_table();
    let half_past = wish(friday(), t(20, 30), party(4));
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(reserve(&s, id(10), half_past.clone(), Some(id(1))))
        .then_expect_events(vec![
            reserved(&s, id(10), &half_past),
            released(id(1), Some(id(10))),
        ]);
    // Without `replacing`, 20:30 overlaps the 20:00 seating on the only table.
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(reserve(&s, id(10), half_past.clone(), None))
        .then_expect_events(vec![refused(id(10), &half_past, Unavailable::Full)]);
}

#[test]
fn a_refused_move_keeps_the_old_hold() {
    let s = last_table();
    let too_late = wish(friday(), t(21, 30), party(4));
    Given::with(())
        .given(vec![reserved(&s, id(1), &eight_pm(4))])
        .when(reserve(&s, id(10), too_late.clone(), Some(id(1))))
        .then_expect_events(vec![refused(
            id(10),
            &too_late,
            Unavailable::EndsAfterClosing,
        )]);
}

#[test]
fn a_move_from_another_date_only_reserves_here() {
    let s = last_table();
    // id(1) is held on another date's schedule; this one does not know it.
    Given::with(())
        .given_no_previous_events()
        .when(reserve(&s, id(10), eight_pm(4), Some(id(1))))
        .then_expect_events(vec![reserved(&s, id(10), &eight_pm(4))]);
}

#[test]
fn a_wish_for_another_date_is_an_error() {
    let s = last_table();
    let mut r = reservation(&s, id(1), eight_pm(4), None);
    r.schedule = ScheduleId::new(tenant(), Date::constant(2026, 5, 9));
    Given::with(())
        .given_no_previous_events()
        .when(ScheduleCommand::Reserve(Box::new(r)))
        .then_expect_error(ScheduleError::WrongDate {
            schedule: Date::constant(2026, 5, 9),
            belongs_to: friday(),
        });
}

#[test]
fn an_after_midnight_wish_belongs_to_the_evening_before() {
    let s = late_bar();
    let saturday = Date::constant(2026, 5, 9);
    let one_am = wish(saturday, t(1, 0), party(2));
    let valid = s.clone().validate().unwrap();
    assert_eq!(service_date_of(&valid, &one_am), friday());
    assert_eq!(
        service_date_of(&valid, &wish(saturday, t(23, 0), party(2))),
        saturday
    );
    let ScheduleEvent::SlotReserved { slot, .. } = reserved(&s, id(1), &one_am) else {
        panic!("not reserved");
    };
    assert_eq!(slot.service_date, friday());
    Given::with(())
        .given_no_previous_events()
        .when(reserve(&s, id(1), one_am.clone(), None))
        .then_expect_events(vec![reserved(&s, id(1), &one_am)]);
    let mut on_saturday = reservation(&s, id(1), one_am, None);
    on_saturday.schedule = ScheduleId::new(tenant(), saturday);
    Given::with(())
        .given_no_previous_events()
        .when(ScheduleCommand::Reserve(Box::new(on_saturday)))
        .then_expect_error(ScheduleError::WrongDate {
            schedule: saturday,
            belongs_to: friday(),
        });
}

#[test]
fn a_time_skipped_by_spring_forward_is_refused_as_non_existent() {
    // In Rome 02:00–02:59 does not exist on Sunday 29 March 2026; the late bar of Saturday
    // 28 March is open then, so its schedule decides.
    let s = late_bar();
    let gap = wish(Date::constant(2026, 3, 29), t(2, 30), party(2));
    let valid = s.clone().validate().unwrap();
    assert_eq!(service_date_of(&valid, &gap), Date::constant(2026, 3, 28));
    let mut r = reservation(&s, id(1), gap.clone(), None);
    r.now = "2026-03-20T08:00:00Z".parse().unwrap();
    Given::with(())
        .given_no_previous_events()
        .when(ScheduleCommand::Reserve(Box::new(r)))
        .then_expect_events(vec![refused(id(1), &gap, Unavailable::TimeDoesNotExist)]);
    // The same on a schedule of the spring-forward date itself (an early opening that day).
    let mut s = last_table();
    s.exceptions.push(DateException {
        date: Date::constant(2026, 3, 29),
        hours: DayHours::Special(vec![ServicePeriod::new("early", t(1, 0), t(6, 0))]),
    });
    let mut r = reservation(&s, id(1), gap.clone(), None);
    assert_eq!(r.schedule.date(), Date::constant(2026, 3, 29));
    r.now = "2026-03-20T08:00:00Z".parse().unwrap();
    Given::with(())
        .given_no_previous_events()
        .when(ScheduleCommand::Reserve(Box::new(r)))
        .then_expect_events(vec![refused(id(1), &gap, Unavailable::TimeDoesNotExist)]);
}

#[test]
fn settings_that_do_not_validate_are_an_error() {
    let mut s = last_table();
    s.time_zone = "Europe/Atlantis".into();
    let r = Reservation {
        schedule: ScheduleId::new(tenant(), friday()),
        ..reservation(&last_table(), id(1), eight_pm(4), None)
    };
    Given::with(())
        .given_no_previous_events()
        .when(ScheduleCommand::Reserve(Box::new(Reservation {
            settings: s,
            ..r
        })))
        .then_expect_error(ScheduleError::InvalidSettings(
            SettingsError::UnknownTimeZone("Europe/Atlantis".into()),
        ));
}

#[test]
fn a_salon_reservation_holds_the_resource_and_the_next_goes_to_another() {
    let mut s = last_table();
    s.capacity = Capacity::Salon(SalonCapacity {
        services: vec![Service {
            id: ServiceId::new("taglio"),
            name: "Taglio".into(),
            duration: Minutes(30),
        }],
        resources: ["anna", "marco"]
            .map(|who| Resource {
                id: ResourceId::new(who),
                name: who.into(),
                services: vec![ServiceId::new("taglio")],
            })
            .to_vec(),
    });
    let cut = |who: Option<&str>| {
        wish(
            friday(),
            t(20, 0),
            Need::Service {
                service: ServiceId::new("taglio"),
                resource: who.map(ResourceId::new),
            },
        )
    };
    let first = reserved(&s, id(1), &cut(None));
    let ScheduleEvent::SlotReserved { booking, .. } = &first else {
        panic!("not reserved");
    };
    assert_eq!(
        booking.load,
        Load::Service {
            service: ServiceId::new("taglio"),
            resource: ResourceId::new("anna"),
        }
    );
    Given::with(())
        .given(vec![first.clone()])
        .when(reserve(&s, id(2), cut(Some("anna")), None))
        .then_expect_events(vec![refused(id(2), &cut(Some("anna")), Unavailable::Full)]);
    let mut schedule = Schedule::default();
    schedule.apply(first);
    let events = schedule
        .reserve(reservation(&s, id(3), cut(None), None))
        .unwrap();
    let [ScheduleEvent::SlotReserved { booking, .. }] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert!(
        matches!(&booking.load, Load::Service { resource, .. } if resource.as_str() == "marco")
    );
}

#[test]
fn the_state_answers_what_became_of_each_id() {
    let s = last_table();
    let mut schedule = Schedule::default();
    for event in [
        reserved(&s, id(1), &eight_pm(4)),
        refused(id(2), &eight_pm(2), Unavailable::Full),
    ] {
        schedule.apply(event);
    }
    assert!(matches!(schedule.answer(id(1)), Some(Answer::Held { .. })));
    assert_eq!(
        schedule.answer(id(2)),
        Some(&Answer::Refused {
            reason: Unavailable::Full
        })
    );
    assert_eq!(schedule.answer(id(3)), None);
    assert_eq!(schedule.held().count(), 1);
    let json = serde_json::to_string(&schedule).unwrap();
    let back: Schedule = serde_json::from_str(&json).unwrap();
    assert_eq!(back.held().count(), 1);
}

#[test]
fn a_schedule_id_reads_back_from_its_aggregate_id() {
    let schedule = ScheduleId::new(tenant(), friday());
    assert_eq!(
        schedule.aggregate_id(),
        "00000000-0000-0000-0000-000000000007/2026-05-08"
    );
    assert_eq!(schedule.aggregate_id().parse::<ScheduleId>(), Ok(schedule));
    assert_eq!("2026-05-08".parse::<ScheduleId>(), Err(BadScheduleId));
    assert_eq!(
        "00000000-0000-0000-0000-000000000007/May 8".parse::<ScheduleId>(),
        Err(BadScheduleId)
    );
}
