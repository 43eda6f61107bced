//! What the dispatcher does with a reply and with the answer to a send: pure decisions, so that
//! every error class is tested without a network or a database (`docs/outbound.md`).

use super::{Backoff, SendError};
use lyo_domain::delivery::{DeadLetterReason, Delivery};
use lyo_domain::reply::{Reply, ReplyBody};
use lyo_domain::tenant::TemplateRef;
use std::time::Duration;

/// Meta's customer service window: free-form messages only within 24 hours of the customer's
/// last message.
pub const SERVICE_WINDOW_SECS: i64 = 24 * 3600;

/// The dispatcher's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchPolicy {
    /// Attempts (not counting those refused while the tenant was blocked) before a dead letter.
    pub max_attempts: u32,
    /// A reply not sent this long after it was queued is dead-lettered.
    pub max_age: Duration,
    pub backoff: Backoff,
    /// How long a tenant stays stopped after Meta blocked it, unless its token changes first.
    pub block_pause: Duration,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            max_age: Duration::from_secs(24 * 3600),
            backoff: Backoff::default(),
            block_pause: Duration::from_secs(15 * 60),
        }
    }
}

/// Whether the customer wrote within the last 24 hours (`last_inbound_s`: Meta's timestamp of
/// their last message, Unix seconds). A customer who never wrote is outside the window.
pub fn within_window(last_inbound_s: Option<i64>, now_ms: i64) -> bool {
    last_inbound_s.is_some_and(|at| now_ms / 1000 - at < SERVICE_WINDOW_SECS)
}

/// The tenant's approved template in place of `reply`. Its one body parameter (`{{1}}`) is the
/// tenant's name; it has no buttons. Tenants register templates of that shape (see
/// `docs/operations.md`).
pub fn template_reply(reply: &Reply, template: &TemplateRef, tenant_name: &str) -> Reply {
    Reply {
        purpose: reply.purpose,
        body: ReplyBody::Template {
            name: template.name.clone(),
            language: template.language_code.clone(),
            parameters: vec![tenant_name.to_string()],
            quick_replies: Vec::new(),
        },
        context: None,
    }
}

/// What to record after a failed send.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterFailure {
    /// Try again at `at_ms`; `hold_tenant_until_ms` holds back the tenant's other replies too.
    Retry {
        at_ms: i64,
        class: &'static str,
        code: Option<i64>,
        outcome_unknown: bool,
        hold_tenant_until_ms: Option<i64>,
    },
    /// Stop the tenant until `until_ms` (or until its token changes); the reply waits.
    BlockTenant {
        until_ms: i64,
        code: i64,
    },
    /// Send the tenant's template instead (the caller knows whether one exists).
    FallBackToTemplate,
    /// Meta refused the reply for good.
    Fail {
        code: Option<i64>,
    },
    DeadLetter(DeadLetterReason),
}

/// Decides what a failed attempt (`state.attempts + 1`) leads to. `jitter` is a sample in
/// `[0, 1]` for the back-off.
pub fn after_failure(
    policy: &DispatchPolicy,
    state: &Delivery,
    error: &SendError,
    now_ms: i64,
    jitter: f64,
) -> AfterFailure {
    let attempt = state.attempts + 1;
    match error {
        SendError::Retry {
            after,
            scope,
            outcome,
            ..
        } => {
            if state.counted_attempts() + 1 >= policy.max_attempts {
                return AfterFailure::DeadLetter(DeadLetterReason::TooManyAttempts {
                    class: error.class().to_string(),
                    code: error.code(),
                });
            }
            let wait = policy.backoff.delay(attempt, jitter, *after);
            let at_ms = now_ms.saturating_add(millis(wait));
            AfterFailure::Retry {
                at_ms,
                class: error.class(),
                code: error.code(),
                outcome_unknown: *outcome == super::Outcome::Unknown,
                hold_tenant_until_ms: (*scope == super::RetryScope::Tenant).then_some(at_ms),
            }
        }
        SendError::TenantBlocked { code, .. } => AfterFailure::BlockTenant {
            until_ms: now_ms.saturating_add(millis(policy.block_pause)),
            code: *code,
        },
        SendError::OutsideWindow if state.template => AfterFailure::Fail { code: error.code() },
        SendError::OutsideWindow => AfterFailure::FallBackToTemplate,
        SendError::Permanent { code, .. } => AfterFailure::Fail { code: Some(*code) },
        SendError::Invalid(limit) => AfterFailure::DeadLetter(DeadLetterReason::Invalid {
            field: limit.field.clone(),
        }),
    }
}

pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::{Outcome, Reason, RetryCause, RetryScope};
    use lyo_domain::delivery::Phase;

    fn retry(scope: RetryScope, outcome: Outcome) -> SendError {
        SendError::Retry {
            after: None,
            scope,
            outcome,
            cause: RetryCause::Meta { code: 131_000 },
        }
    }

    fn policy() -> DispatchPolicy {
        DispatchPolicy {
            max_attempts: 3,
            ..DispatchPolicy::default()
        }
    }

    #[test]
    fn the_window_is_24_hours_from_the_last_inbound_message() {
        let now_ms = 100_000 * 1000;
        assert!(within_window(Some(100_000 - 3600), now_ms));
        assert!(!within_window(Some(100_000 - SERVICE_WINDOW_SECS), now_ms));
        assert!(!within_window(None, now_ms));
    }

    #[test]
    fn a_transient_failure_is_retried_with_back_off_then_dead_lettered() {
        let state = Delivery::default();
        let decided = after_failure(
            &policy(),
            &state,
            &retry(RetryScope::Message, Outcome::Unknown),
            0,
            0.0,
        );
        assert_eq!(
            decided,
            AfterFailure::Retry {
                at_ms: 500,
                class: "retry",
                code: Some(131_000),
                outcome_unknown: true,
                hold_tenant_until_ms: None,
            }
        );
        let tried = Delivery {
            attempts: 2,
            ..Delivery::default()
        };
        assert!(matches!(
            after_failure(
                &policy(),
                &tried,
                &retry(RetryScope::Message, Outcome::NotSent),
                0,
                0.0
            ),
            AfterFailure::DeadLetter(DeadLetterReason::TooManyAttempts { .. })
        ));
    }

    #[test]
    fn a_tenant_scoped_limit_holds_back_the_tenant() {
        let decided = after_failure(
            &policy(),
            &Delivery::default(),
            &retry(RetryScope::Tenant, Outcome::NotSent),
            1_000,
            1.0,
        );
        assert!(matches!(
            decided,
            AfterFailure::Retry {
                at_ms: 2_000,
                hold_tenant_until_ms: Some(2_000),
                ..
            }
        ));
    }

    #[test]
    fn attempts_refused_while_blocked_do_not_count() {
        let blocked = Delivery {
            attempts: 5,
            blocked_attempts: 4,
            ..Delivery::default()
        };
        assert!(matches!(
            after_failure(
                &policy(),
                &blocked,
                &retry(RetryScope::Message, Outcome::NotSent),
                0,
                0.0
            ),
            AfterFailure::Retry { .. }
        ));
        let error = SendError::TenantBlocked {
            code: 190,
            reason: Reason::new("expired"),
        };
        assert_eq!(
            after_failure(&policy(), &blocked, &error, 0, 0.0),
            AfterFailure::BlockTenant {
                until_ms: 15 * 60 * 1000,
                code: 190
            }
        );
    }

    #[test]
    fn outside_the_window_falls_back_once_then_fails() {
        let state = Delivery::default();
        assert_eq!(
            after_failure(&policy(), &state, &SendError::OutsideWindow, 0, 0.0),
            AfterFailure::FallBackToTemplate
        );
        let template = Delivery {
            template: true,
            phase: Phase::Pending,
            ..Delivery::default()
        };
        assert_eq!(
            after_failure(&policy(), &template, &SendError::OutsideWindow, 0, 0.0),
            AfterFailure::Fail {
                code: Some(131_047)
            }
        );
    }

    #[test]
    fn a_permanent_error_fails_and_an_invalid_reply_is_dead_lettered() {
        let permanent = SendError::Permanent {
            code: 131_026,
            reason: Reason::new("undeliverable"),
        };
        assert_eq!(
            after_failure(&policy(), &Delivery::default(), &permanent, 0, 0.0),
            AfterFailure::Fail {
                code: Some(131_026)
            }
        );
        let invalid = SendError::Invalid(lyo_domain::reply::ReplyLimitError {
            field: "body".into(),
            problem: "too long".into(),
        });
        assert!(matches!(
            after_failure(&policy(), &Delivery::default(), &invalid, 0, 0.0),
            AfterFailure::DeadLetter(DeadLetterReason::Invalid { .. })
        ));
    }
}
