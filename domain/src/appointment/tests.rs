#![allow(clippy::unwrap_used)]

use super::*;
use crate::availability::{Assignment, PartySize, TableId};
use cqrs_es::test::TestFramework;
use jiff::civil::Date;

type Given = TestFramework<Appointment>;
type E = AppointmentEvent;
type C = AppointmentCommand;

fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn appointment_id() -> AppointmentId {
    AppointmentId::from_uuid(uuid(1))
}

fn moved_id(n: u128) -> AppointmentId {
    AppointmentId::from_uuid(uuid(100 + n))
}

fn tenant() -> TenantId {
    TenantId::from_uuid(uuid(7))
}

fn customer() -> SubjectId {
    SubjectId::from_uuid(uuid(42))
}

fn stranger() -> SubjectId {
    SubjectId::from_uuid(uuid(43))
}

fn friday() -> Date {
    Date::constant(2026, 5, 8)
}

/// A two-hour dinner slot on table T1, at `hour`:00 Rome time on `date`.
fn slot_on(date: Date, hour: i8) -> Slot {
    let start = date.at(hour, 0, 0, 0);
    let starts_at = start.in_tz("Europe/Rome").unwrap().timestamp();
    Slot {
        service_date: date,
        period: "dinner".into(),
        start,
        starts_at,
        ends_at: starts_at + jiff::SignedDuration::from_hours(2),
        assignment: Assignment::Tables(vec![TableId::new("T1")]),
    }
}

fn slot(hour: i8) -> Slot {
    slot_on(friday(), hour)
}

fn text(subject: SubjectId, value: &str) -> Personal<String> {
    Personal::new(subject, value.to_string())
}

fn request(auto_confirm: bool) -> AppointmentRequest {
    AppointmentRequest {
        appointment_id: appointment_id(),
        tenant: tenant(),
        subject: Some(customer()),
        request_id: Some(uuid(9)),
        slot: slot(20),
        need: Need::Party {
            size: PartySize::new(4).unwrap(),
        },
        name: text(customer(), "Rossi"),
        notes: Some(text(customer(), "senza glutine")),
        auto_confirm,
    }
}

fn requested() -> E {
    E::AppointmentRequested(Box::new(request(false)))
}

fn confirmed(by: ConfirmedBy) -> E {
    E::AppointmentConfirmed { by }
}

fn ask(request: AppointmentRequest) -> C {
    C::RequestAppointment(Box::new(request))
}

/// Events that bring a new appointment to `status`.
fn history(status: Status) -> Vec<E> {
    let mut events = vec![requested()];
    let tail = match status {
        Status::Requested => vec![],
        Status::Rejected => vec![E::AppointmentRejected { reason: None }],
        Status::Confirmed => vec![confirmed(ConfirmedBy::Staff)],
        Status::Cancelled => vec![
            confirmed(ConfirmedBy::Staff),
            E::AppointmentCancelled {
                by: CancelledBy::Customer,
                reason: None,
            },
        ],
        Status::Arrived => vec![confirmed(ConfirmedBy::Staff), E::CustomerArrived {}],
        Status::Seated => vec![confirmed(ConfirmedBy::Staff), E::CustomerSeated {}],
        Status::Completed => vec![confirmed(ConfirmedBy::Staff), E::AppointmentCompleted {}],
        Status::NoShow => vec![confirmed(ConfirmedBy::Staff), E::AppointmentNoShow {}],
    };
    events.extend(tail);
    events
}

fn command(action: Action) -> C {
    match action {
        Action::Confirm => C::ConfirmAppointment {
            by: ConfirmedBy::Staff,
        },
        Action::Reject => C::RejectAppointment { reason: None },
        Action::Reschedule => C::RescheduleAppointment {
            to: slot(21),
            held_as: moved_id(1),
        },
        Action::Cancel => C::CancelAppointment {
            by: CancelledBy::Staff,
            reason: None,
        },
        Action::RecordArrival => C::RecordArrival,
        Action::Seat => C::SeatCustomer,
        Action::Complete => C::CompleteAppointment,
        Action::MarkNoShow => C::MarkNoShow,
    }
}

fn event(action: Action) -> E {
    match action {
        Action::Confirm => confirmed(ConfirmedBy::Staff),
        Action::Reject => E::AppointmentRejected { reason: None },
        Action::Reschedule => E::AppointmentRescheduled {
            from: slot(20),
            to: slot(21),
            held_as: moved_id(1),
        },
        Action::Cancel => E::AppointmentCancelled {
            by: CancelledBy::Staff,
            reason: None,
        },
        Action::RecordArrival => E::CustomerArrived {},
        Action::Seat => E::CustomerSeated {},
        Action::Complete => E::AppointmentCompleted {},
        Action::MarkNoShow => E::AppointmentNoShow {},
    }
}

const ACTIONS: [Action; 8] = [
    Action::Confirm,
    Action::Reject,
    Action::Reschedule,
    Action::Cancel,
    Action::RecordArrival,
    Action::Seat,
    Action::Complete,
    Action::MarkNoShow,
];

/// `D`one (one event), `-` nothing (already so), `x` invalid; columns in `ACTIONS` order.
const LIFE: [(Status, &str); 8] = [
    (Status::Requested, "DDDDxxxx"),
    (Status::Confirmed, "-xDDDDDD"),
    (Status::Rejected, "x-xxxxxx"),
    (Status::Cancelled, "xxx-xxxx"),
    (Status::Arrived, "-xxx-DDx"),
    (Status::Seated, "-xxx--Dx"),
    (Status::Completed, "-xxx---x"),
    (Status::NoShow, "xxxxxxx-"),
];

#[test]
fn every_transition_is_done_ignored_as_a_repeat_or_refused() {
    for (status, row) in LIFE {
        for (action, cell) in ACTIONS.into_iter().zip(row.chars()) {
            let when = Given::with(()).given(history(status)).when(command(action));
            match cell {
                'D' => when.then_expect_events(vec![event(action)]),
                '-' => when.then_expect_events(vec![]),
                _ => when.then_expect_error(AppointmentError::InvalidTransition { action, status }),
            }
        }
    }
}

#[test]
fn invalid_transitions_say_what_and_why() {
    Given::with(())
        .given(history(Status::Cancelled))
        .when(command(Action::Confirm))
        .then_expect_error_message("cannot confirm an appointment that is cancelled");
    Given::with(())
        .given(history(Status::Completed))
        .when(command(Action::Cancel))
        .then_expect_error_message("cannot cancel an appointment that is completed");
    Given::with(())
        .given(history(Status::Requested))
        .when(C::SeatCustomer)
        .then_expect_error_message("cannot seat an appointment that is awaiting confirmation");
}

#[test]
fn a_request_waits_for_staff_unless_the_tenant_confirms_automatically() {
    Given::with(())
        .given_no_previous_events()
        .when(ask(request(false)))
        .then_expect_events(vec![requested()]);
    Given::with(())
        .given_no_previous_events()
        .when(ask(request(true)))
        .then_expect_events(vec![
            E::AppointmentRequested(Box::new(request(true))),
            confirmed(ConfirmedBy::Automatic),
        ]);
}

#[test]
fn the_same_request_again_changes_nothing_and_another_is_refused() {
    Given::with(())
        .given(vec![
            E::AppointmentRequested(Box::new(request(true))),
            confirmed(ConfirmedBy::Automatic),
        ])
        .when(ask(request(true)))
        .then_expect_events(vec![]);
    let other = AppointmentRequest {
        request_id: Some(uuid(10)),
        ..request(false)
    };
    Given::with(())
        .given(vec![requested()])
        .when(ask(other))
        .then_expect_error(AppointmentError::AlreadyRequested);
}

#[test]
fn a_request_needs_a_name() {
    for name in [text(customer(), "  "), Personal::redacted(customer())] {
        Given::with(())
            .given_no_previous_events()
            .when(ask(AppointmentRequest {
                name,
                ..request(false)
            }))
            .then_expect_error(AppointmentError::MissingName);
    }
    Given::with(())
        .given_no_previous_events()
        .when(ask(AppointmentRequest {
            notes: Some(text(customer(), "")),
            ..request(false)
        }))
        .then_expect_error(AppointmentError::EmptyText);
}

#[test]
fn personal_data_must_be_the_customers() {
    for foreign in [
        AppointmentRequest {
            name: text(stranger(), "Rossi"),
            ..request(false)
        },
        AppointmentRequest {
            notes: Some(text(stranger(), "senza glutine")),
            ..request(false)
        },
    ] {
        Given::with(())
            .given_no_previous_events()
            .when(ask(foreign))
            .then_expect_error(AppointmentError::ForeignPersonalData);
    }
    Given::with(())
        .given(vec![requested()])
        .when(C::CancelAppointment {
            by: CancelledBy::Staff,
            reason: Some(text(stranger(), "duplicate")),
        })
        .then_expect_error(AppointmentError::ForeignPersonalData);
}

#[test]
fn a_staff_booking_without_a_customer_keeps_its_data_under_the_names_subject() {
    let walk_in = SubjectId::from_uuid(uuid(50));
    let staff_booking = AppointmentRequest {
        subject: None,
        request_id: None,
        name: text(walk_in, "Bianchi"),
        notes: Some(text(walk_in, "tavolo in terrazza")),
        ..request(true)
    };
    Given::with(())
        .given_no_previous_events()
        .when(ask(staff_booking.clone()))
        .then_expect_events(vec![
            E::AppointmentRequested(Box::new(staff_booking.clone())),
            confirmed(ConfirmedBy::Automatic),
        ]);
    let mut appointment = Appointment::default();
    appointment.apply(E::AppointmentRequested(Box::new(staff_booking)));
    assert_eq!(appointment.subject(), None);
    assert_eq!(appointment.data_subject(), Some(walk_in));
}

#[test]
fn commands_for_an_appointment_never_requested_are_not_found() {
    for action in ACTIONS {
        Given::with(())
            .given_no_previous_events()
            .when(command(action))
            .then_expect_error(AppointmentError::NotFound);
    }
}

#[test]
fn a_customer_cancels_with_a_reason_once() {
    let cancelled = E::AppointmentCancelled {
        by: CancelledBy::Customer,
        reason: Some(text(customer(), "influenza")),
    };
    let cancel = C::CancelAppointment {
        by: CancelledBy::Customer,
        reason: Some(text(customer(), "influenza")),
    };
    Given::with(())
        .given(history(Status::Confirmed))
        .when(cancel.clone())
        .then_expect_events(vec![cancelled.clone()]);
    let mut twice = history(Status::Confirmed);
    twice.push(cancelled);
    Given::with(())
        .given(twice)
        .when(cancel)
        .then_expect_events(vec![]);
}

#[test]
fn staff_reject_a_request_with_a_reason() {
    let reason = Some(text(customer(), "private event"));
    Given::with(())
        .given(history(Status::Requested))
        .when(C::RejectAppointment {
            reason: reason.clone(),
        })
        .then_expect_events(vec![E::AppointmentRejected { reason }]);
}

#[test]
fn a_move_keeps_the_status_and_a_repeated_move_changes_nothing() {
    let moved = |n: u128, from: i8, to: i8| E::AppointmentRescheduled {
        from: slot(from),
        to: slot(to),
        held_as: moved_id(n),
    };
    let mut after_two_moves = history(Status::Confirmed);
    after_two_moves.extend([moved(1, 20, 21), moved(2, 21, 19)]);
    // The first move issued again by a replaying process manager: its hold id was used.
    Given::with(())
        .given(after_two_moves.clone())
        .when(command(Action::Reschedule))
        .then_expect_events(vec![]);
    // Back to the original slot under a new hold is a real move.
    Given::with(())
        .given(after_two_moves.clone())
        .when(C::RescheduleAppointment {
            to: slot(20),
            held_as: moved_id(3),
        })
        .then_expect_events(vec![moved(3, 19, 20)]);
    let mut appointment = Appointment::default();
    for e in after_two_moves {
        appointment.apply(e);
    }
    assert_eq!(appointment.status(), Some(Status::Confirmed));
    assert_eq!(appointment.slot(), Some(&slot(19)));
    assert_eq!(appointment.held_as(), Some(moved_id(2)));
}

#[test]
fn a_move_to_another_date_is_held_by_that_dates_schedule() {
    let saturday = Date::constant(2026, 5, 9);
    let mut appointment = Appointment::default();
    for e in history(Status::Requested) {
        appointment.apply(e);
    }
    assert_eq!(
        appointment.schedule(),
        Some(ScheduleId::new(tenant(), friday()))
    );
    appointment.apply(E::AppointmentRescheduled {
        from: slot(20),
        to: slot_on(saturday, 20),
        held_as: moved_id(1),
    });
    assert_eq!(
        appointment.schedule(),
        Some(ScheduleId::new(tenant(), saturday))
    );
}

#[test]
fn notes_are_added_once_by_id_and_must_be_the_customers() {
    let note = |id| C::AddNote {
        note_id: uuid(id),
        text: text(customer(), "seggiolone"),
    };
    let added = E::AppointmentNoteAdded {
        note_id: uuid(200),
        text: text(customer(), "seggiolone"),
    };
    Given::with(())
        .given(history(Status::Completed))
        .when(note(200))
        .then_expect_events(vec![added.clone()]);
    let mut noted = history(Status::Confirmed);
    noted.push(added);
    Given::with(())
        .given(noted)
        .when(note(200))
        .then_expect_events(vec![]);
    Given::with(())
        .given(history(Status::Confirmed))
        .when(C::AddNote {
            note_id: uuid(201),
            text: text(customer(), " "),
        })
        .then_expect_error(AppointmentError::EmptyText);
    Given::with(())
        .given(history(Status::Confirmed))
        .when(C::AddNote {
            note_id: uuid(201),
            text: text(stranger(), "seggiolone"),
        })
        .then_expect_error(AppointmentError::ForeignPersonalData);
}

#[test]
fn the_state_tells_the_process_manager_what_it_needs() {
    let mut appointment = Appointment::default();
    assert_eq!(appointment.status(), None);
    for e in history(Status::Requested) {
        appointment.apply(e);
    }
    assert_eq!(appointment.id(), Some(appointment_id()));
    assert_eq!(appointment.status(), Some(Status::Requested));
    assert_eq!(appointment.tenant(), Some(tenant()));
    assert_eq!(appointment.subject(), Some(customer()));
    assert_eq!(appointment.request_id(), Some(uuid(9)));
    assert_eq!(appointment.slot(), Some(&slot(20)));
    assert_eq!(appointment.held_as(), Some(appointment_id()));
    assert!(appointment.need().is_some());
    let holding: Vec<_> = LIFE
        .iter()
        .filter(|(status, _)| status.holds_slot())
        .map(|(status, _)| *status)
        .collect();
    assert_eq!(
        holding,
        [
            Status::Requested,
            Status::Confirmed,
            Status::Arrived,
            Status::Seated,
            Status::Completed
        ]
    );
    let json = serde_json::to_string(&appointment).unwrap();
    assert!(!json.contains("Rossi"), "the state keeps no personal data");
}

#[test]
fn events_mark_personal_fields_and_keep_a_stable_shape() {
    let json = serde_json::to_value(requested()).unwrap();
    let fields = &json["AppointmentRequested"];
    assert_eq!(fields["name"]["$pii"]["value"], "Rossi");
    assert_eq!(fields["name"]["$pii"]["subject"], customer().to_string());
    assert_eq!(fields["notes"]["$pii"]["value"], "senza glutine");
    assert_eq!(
        serde_json::to_value(E::CustomerArrived {}).unwrap(),
        serde_json::json!({"CustomerArrived": {}})
    );
    let back: E = serde_json::from_value(json).unwrap();
    assert_eq!(back, requested());
    assert_eq!(requested().event_type(), "AppointmentRequested");
}
