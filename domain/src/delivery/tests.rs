#![allow(clippy::unwrap_used)]
use super::*;
use crate::ids::SubjectId;
use cqrs_es::test::TestFramework;

fn accepted(attempt: u32, template: bool) -> DeliveryEvent {
    DeliveryEvent::ReplyAccepted {
        attempt,
        wamid: format!("wamid.{attempt}"),
        template,
    }
}

fn accept(attempt: u32) -> DeliveryCommand {
    DeliveryCommand::RecordAccepted {
        attempt,
        wamid: format!("wamid.{attempt}"),
        template: false,
    }
}

fn retry(attempt: u32, outcome_unknown: bool) -> DeliveryCommand {
    DeliveryCommand::ScheduleRetry {
        attempt,
        retry_at_ms: 1_000 * i64::from(attempt),
        class: "retry".into(),
        code: Some(131_000),
        outcome_unknown,
    }
}

fn retried(attempt: u32, outcome_unknown: bool) -> DeliveryEvent {
    DeliveryEvent::RetryScheduled {
        attempt,
        retry_at_ms: 1_000 * i64::from(attempt),
        class: "retry".into(),
        code: Some(131_000),
        outcome_unknown,
    }
}

fn fallback(cause: FallbackCause) -> DeliveryCommand {
    DeliveryCommand::FallBackToTemplate {
        attempt: 1,
        template: "reengage".into(),
        language: "it".into(),
        cause,
    }
}

fn fell_back(cause: FallbackCause) -> DeliveryEvent {
    DeliveryEvent::TemplateFallbackChosen {
        attempt: 1,
        template: "reengage".into(),
        language: "it".into(),
        cause,
    }
}

fn reason() -> Personal<String> {
    Personal::new(
        SubjectId::from_uuid(uuid::Uuid::nil()),
        "Message failed".into(),
    )
}

fn dead(reason: DeadLetterReason) -> DeliveryEvent {
    DeliveryEvent::ReplyDeadLettered {
        attempts: 3,
        reason,
    }
}

fn given(events: Vec<DeliveryEvent>) -> cqrs_es::test::AggregateTestExecutor<Delivery> {
    TestFramework::<Delivery>::with(()).given(events)
}

#[test]
fn a_first_accept_is_recorded() {
    TestFramework::<Delivery>::with(())
        .given_no_previous_events()
        .when(accept(1))
        .then_expect_events(vec![accepted(1, false)]);
}

#[test]
fn an_accept_after_an_accept_changes_nothing() {
    given(vec![accepted(1, false)])
        .when(accept(2))
        .then_expect_events(vec![]);
}

#[test]
fn a_retry_of_an_attempt_already_recorded_changes_nothing() {
    given(vec![retried(1, false)])
        .when(retry(1, false))
        .then_expect_events(vec![]);
    given(vec![retried(1, true)])
        .when(retry(2, true))
        .then_expect_events(vec![retried(2, true)]);
}

#[test]
fn nothing_is_recorded_after_a_failure_or_a_dead_letter() {
    let failed = DeliveryEvent::ReplyFailed {
        attempt: 1,
        code: Some(131_026),
        reason: reason(),
    };
    for terminal in [failed, dead(DeadLetterReason::Erased)] {
        for command in [
            accept(2),
            retry(5, false),
            fallback(FallbackCause::OutsideWindowAnswer),
            DeliveryCommand::DeadLetter {
                attempts: 9,
                reason: DeadLetterReason::TooOld,
            },
            DeliveryCommand::RecordFailure {
                attempt: 9,
                code: None,
                reason: reason(),
            },
        ] {
            given(vec![terminal.clone()])
                .when(command)
                .then_expect_events(vec![]);
        }
    }
}

#[test]
fn a_failure_is_recorded_with_the_customers_subject() {
    given(vec![retried(1, false)])
        .when(DeliveryCommand::RecordFailure {
            attempt: 2,
            code: Some(131_026),
            reason: reason(),
        })
        .then_expect_events(vec![DeliveryEvent::ReplyFailed {
            attempt: 2,
            code: Some(131_026),
            reason: reason(),
        }]);
}

#[test]
fn an_outside_window_answer_falls_back_to_the_template_once() {
    given(vec![])
        .when(fallback(FallbackCause::OutsideWindowAnswer))
        .then_expect_events(vec![fell_back(FallbackCause::OutsideWindowAnswer)]);
    given(vec![fell_back(FallbackCause::WindowClosed)])
        .when(fallback(FallbackCause::OutsideWindowAnswer))
        .then_expect_events(vec![]);
}

#[test]
fn a_late_outside_window_status_reopens_an_accepted_free_form_reply() {
    given(vec![accepted(1, false)])
        .when(fallback(FallbackCause::OutsideWindowStatus))
        .then_expect_events(vec![fell_back(FallbackCause::OutsideWindowStatus)]);
    // A template that was accepted is never replaced.
    given(vec![
        fell_back(FallbackCause::WindowClosed),
        accepted(1, true),
    ])
    .when(fallback(FallbackCause::OutsideWindowStatus))
    .then_expect_events(vec![]);
    // Only a status reopens an accepted reply.
    given(vec![accepted(1, false)])
        .when(fallback(FallbackCause::OutsideWindowAnswer))
        .then_expect_events(vec![]);
}

#[test]
fn a_dead_letter_is_recorded_while_pending() {
    given(vec![retried(1, true), retried(2, false)])
        .when(DeliveryCommand::DeadLetter {
            attempts: 3,
            reason: DeadLetterReason::Erased,
        })
        .then_expect_events(vec![dead(DeadLetterReason::Erased)]);
}

#[test]
fn the_state_counts_attempts_and_unknown_outcomes() {
    let mut state = Delivery::default();
    for event in [
        retried(1, true),
        retried(2, false),
        fell_back(FallbackCause::OutsideWindowAnswer),
        accepted(3, true),
    ] {
        state.apply(event);
    }
    assert_eq!(state.phase, Phase::Accepted);
    assert_eq!(state.attempts, 3);
    assert_eq!(state.unknown_outcomes, 1);
    assert!(state.template);
    assert_eq!(state.wamid.as_deref(), Some("wamid.3"));
}

#[test]
fn dead_letter_reasons_serialise_with_their_kind() {
    let json = serde_json::to_value(DeadLetterReason::TooManyAttempts {
        class: "retry".into(),
        code: Some(131_000),
    })
    .unwrap();
    assert_eq!(json["kind"], "too_many_attempts");
    assert_eq!(DeadLetterReason::Erased.label(), "erased");
}
