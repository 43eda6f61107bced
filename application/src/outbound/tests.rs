#![allow(clippy::unwrap_used)]

use super::*;
use lyo_domain::reply::{ReplyBody, ReplyPurpose};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn back_off_doubles_from_half_to_whole_of_the_cap() {
    let backoff = Backoff::default();
    let low: Vec<_> = (1..=4).map(|n| backoff.delay(n, 0.0, None)).collect();
    let high: Vec<_> = (1..=4).map(|n| backoff.delay(n, 1.0, None)).collect();
    assert_eq!(low, [secs(0.5), secs(1.0), secs(2.0), secs(4.0)]);
    assert_eq!(high, [secs(1.0), secs(2.0), secs(4.0), secs(8.0)]);
    assert_eq!(backoff.delay(0, 1.0, None), secs(1.0));
    assert_eq!(backoff.delay(2, 0.5, None), secs(1.5));
}

#[test]
fn back_off_stops_growing_at_the_maximum_and_never_overflows() {
    let backoff = Backoff::default();
    for attempt in [10, 64, 200, u32::MAX] {
        assert_eq!(backoff.delay(attempt, 1.0, None), backoff.max);
        assert_eq!(backoff.delay(attempt, 0.0, None), backoff.max / 2);
    }
    let huge = Backoff {
        base: Duration::MAX,
        max: Duration::MAX,
    };
    assert_eq!(huge.delay(u32::MAX, 1.0, None), Duration::MAX);
}

#[test]
fn back_off_stays_within_its_bounds_for_any_jitter() {
    let backoff = Backoff {
        base: Duration::from_millis(250),
        max: Duration::from_secs(60),
    };
    for attempt in 1..=40 {
        let cap = backoff
            .base
            .saturating_mul(1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX))
            .min(backoff.max);
        for jitter in [-3.0, 0.0, 0.1, 0.37, 0.5, 0.99, 1.0, 7.0, f64::NAN] {
            let wait = backoff.delay(attempt, jitter, None);
            assert!(
                wait >= cap / 2 && wait <= cap,
                "{attempt} {jitter} {wait:?}"
            );
        }
    }
}

#[test]
fn retry_after_is_a_floor() {
    let backoff = Backoff::default();
    assert_eq!(backoff.delay(1, 0.0, Some(secs(30.0))), secs(30.0));
    assert_eq!(backoff.delay(8, 1.0, Some(secs(30.0))), secs(128.0));
}

#[test]
fn codes_fall_into_the_classes_of_issue_6() {
    let tenant = CodeClass::Retry {
        scope: RetryScope::Tenant,
    };
    let message = CodeClass::Retry {
        scope: RetryScope::Message,
    };
    let table = [
        (130429, tenant),
        (4, tenant),
        (80007, tenant),
        (131057, tenant),
        (
            131056,
            CodeClass::Retry {
                scope: RetryScope::Recipient,
            },
        ),
        (131000, message),
        (1, message),
        (2, message),
        (131016, message),
        (133004, message),
        (100, CodeClass::Permanent),
        (131008, CodeClass::Permanent),
        (131009, CodeClass::Permanent),
        (131021, CodeClass::Permanent),
        (131026, CodeClass::Permanent),
        (131051, CodeClass::Permanent),
        (132000, CodeClass::Permanent),
        (132001, CodeClass::Permanent),
        (132015, CodeClass::Permanent),
        (132999, CodeClass::Permanent),
        (131047, CodeClass::OutsideWindow),
        (190, CodeClass::TenantBlocked),
        (368, CodeClass::TenantBlocked),
        (131031, CodeClass::TenantBlocked),
        (131042, CodeClass::TenantBlocked),
        (10, CodeClass::TenantBlocked),
        (200, CodeClass::TenantBlocked),
        (299, CodeClass::TenantBlocked),
        (131999, CodeClass::Unlisted),
        (133000, CodeClass::Unlisted),
        (300, CodeClass::Unlisted),
        (-1, CodeClass::Unlisted),
    ];
    for (code, class) in table {
        assert_eq!(classify_code(code), class, "code {code}");
    }
}

#[test]
fn recipients_keep_the_ids_that_are_present() {
    let id = |s: &str| Some(s.to_string());
    assert_eq!(Recipient::from_ids(None, None), None);
    assert_eq!(Recipient::from_ids(id(" "), id("")), None);
    let both = Recipient::from_ids(id("391234"), id("IT.99")).unwrap();
    assert_eq!(
        (both.wa_id(), both.user_id()),
        (Some("391234"), Some("IT.99"))
    );
    let user = Recipient::from_ids(id(""), id("IT.99")).unwrap();
    assert_eq!(user, Recipient::UserId("IT.99".into()));
    assert_eq!(user.wa_id(), None);
}

#[test]
fn debug_prints_no_token_recipient_or_text() {
    let account = SenderAccount {
        phone_number_id: "1055".into(),
        access_token: SecretString::from("EAAG-secret-token"),
    };
    let message = OutboundMessage {
        reply_id: Uuid::nil(),
        recipient: Recipient::Both {
            wa_id: "393331234567".into(),
            user_id: "IT.4242".into(),
        },
        reply: Reply {
            purpose: ReplyPurpose::Answer,
            body: ReplyBody::Text {
                body: "Ciao Maria".into(),
            },
            context: Some("wamid.in".into()),
        },
    };
    let reason = Reason::new("Param to is 393331234567");
    let printed = format!("{account:?} {message:?} {reason:?}");
    for secret in ["EAAG", "3933312", "IT.4242", "Maria", "wamid.in"] {
        assert!(!printed.contains(secret), "{printed}");
    }
    assert!(printed.contains("1055") && printed.contains("text"));
    let error = SendError::Permanent { code: 100, reason };
    assert!(!format!("{error} {error:?}").contains("3933312"));
}

#[test]
fn send_errors_name_their_class_code_and_outcome() {
    let unknown = SendError::Retry {
        after: None,
        scope: RetryScope::Message,
        outcome: Outcome::Unknown,
        cause: RetryCause::Timeout,
    };
    assert!(unknown.outcome_unknown());
    assert_eq!((unknown.class(), unknown.code()), ("retry", None));
    assert_eq!(
        unknown.to_string(),
        "retry later (timeout; outcome unknown)"
    );
    let throttled = SendError::Retry {
        after: None,
        scope: RetryScope::Tenant,
        outcome: Outcome::NotSent,
        cause: RetryCause::Meta { code: 130429 },
    };
    assert!(!throttled.outcome_unknown());
    assert_eq!(throttled.code(), Some(130429));
    assert_eq!(SendError::OutsideWindow.code(), Some(131047));
    let blocked = SendError::TenantBlocked {
        code: 190,
        reason: Reason::default(),
    };
    assert_eq!(
        (blocked.class(), blocked.code()),
        ("tenant_blocked", Some(190))
    );
}

#[test]
fn reasons_are_cut_at_a_character_boundary() {
    let long = "é".repeat(Reason::MAX_CHARS + 10);
    let reason = Reason::new(long);
    assert_eq!(reason.as_str().chars().count(), Reason::MAX_CHARS);
    assert_eq!(Reason::new("short").as_str(), "short");
}
