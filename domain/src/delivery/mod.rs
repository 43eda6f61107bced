//! The `Delivery` aggregate: what became of one queued reply (aggregate id: the reply id of
//! `ConversationEvent::ReplyQueued`). The dispatcher records every outcome of every attempt
//! here; the outbound queue (a projection) and operators read it.
//!
//! Invariants:
//! - Monotonic: once a reply failed or was dead-lettered nothing more is recorded; once it was
//!   accepted only a template fallback learned from a later `failed` status (131047) reopens
//!   it, and only once (a template is never replaced by another template).
//! - Idempotent: recording an outcome for an attempt already recorded changes nothing, so a
//!   dispatcher that repeats a command after a crash or a lost race emits nothing new.
//! - Meta's wording of a failure may quote the customer: it is `Personal` under the customer's
//!   subject, so erasing the customer erases it too.

use crate::personal::Personal;
use crate::reply::ReplyPurpose;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// What the dispatcher asks the aggregate to record.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryCommand {
    /// Meta accepted attempt `attempt` and named the message `wamid`.
    RecordAccepted {
        attempt: u32,
        wamid: String,
        /// Whether the message sent was the tenant's template instead of the reply itself.
        template: bool,
    },
    /// Attempt `attempt` failed in a way worth retrying at `retry_at_ms` (Unix milliseconds).
    ScheduleRetry {
        attempt: u32,
        retry_at_ms: i64,
        /// `SendError::class()` (`retry`, `tenant_blocked`, ...).
        class: String,
        code: Option<i64>,
        /// The failed attempt may have reached the customer anyway.
        outcome_unknown: bool,
    },
    /// Send the tenant's approved template instead of the free-form reply.
    FallBackToTemplate {
        attempt: u32,
        template: String,
        language: String,
        cause: FallbackCause,
    },
    /// Meta refused the reply for good.
    RecordFailure {
        attempt: u32,
        code: Option<i64>,
        reason: Personal<String>,
    },
    /// Give up without a verdict from Meta.
    DeadLetter {
        attempts: u32,
        reason: DeadLetterReason,
    },
}

/// Why the free-form reply was replaced by a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackCause {
    /// More than 24 hours since the customer last wrote, known before sending.
    WindowClosed,
    /// Meta answered the send with 131047.
    OutsideWindowAnswer,
    /// A `failed` status webhook with 131047 arrived after Meta had accepted the message.
    OutsideWindowStatus,
}

/// Why a reply was given up without Meta's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DeadLetterReason {
    /// The configured number of attempts failed; the last one's class and code.
    TooManyAttempts { class: String, code: Option<i64> },
    /// Still not sent after the configured age.
    TooOld,
    /// The customer was erased: there is nobody to send to.
    Erased,
    /// Outside the 24-hour window and the tenant registered no template for this purpose and
    /// language.
    NoTemplate {
        purpose: ReplyPurpose,
        language: String,
    },
    /// The customer's conversation names neither a phone number nor a user id.
    NoRecipient,
    /// The reply breaks a WhatsApp limit (a renderer bug); `field` names the part.
    Invalid { field: String },
    /// The tenant no longer exists or has no WhatsApp number.
    NoAccount,
}

impl DeadLetterReason {
    /// A stable label for metrics and the queue's row.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::TooOld => "too_old",
            Self::Erased => "erased",
            Self::NoTemplate { .. } => "no_template",
            Self::NoRecipient => "no_recipient",
            Self::Invalid { .. } => "invalid",
            Self::NoAccount => "no_account",
        }
    }
}

/// Catalogued in `docs/events.md`; every variant is version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DeliveryEvent {
    ReplyAccepted {
        attempt: u32,
        wamid: String,
        template: bool,
    },
    RetryScheduled {
        attempt: u32,
        retry_at_ms: i64,
        class: String,
        code: Option<i64>,
        outcome_unknown: bool,
    },
    TemplateFallbackChosen {
        attempt: u32,
        template: String,
        language: String,
        cause: FallbackCause,
    },
    ReplyFailed {
        attempt: u32,
        code: Option<i64>,
        reason: Personal<String>,
    },
    ReplyDeadLettered {
        attempts: u32,
        reason: DeadLetterReason,
    },
}

impl DeliveryEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReplyAccepted { .. } => "ReplyAccepted",
            Self::RetryScheduled { .. } => "RetryScheduled",
            Self::TemplateFallbackChosen { .. } => "TemplateFallbackChosen",
            Self::ReplyFailed { .. } => "ReplyFailed",
            Self::ReplyDeadLettered { .. } => "ReplyDeadLettered",
        }
    }
}

impl DomainEvent for DeliveryEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

/// Where a reply stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for (another) attempt.
    #[default]
    Pending,
    Accepted,
    Failed,
    DeadLettered,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub phase: Phase,
    /// The highest attempt number recorded (0: never tried).
    pub attempts: u32,
    /// The template replaced the free-form reply.
    pub template: bool,
    pub wamid: Option<String>,
    /// Failed attempts whose outcome was unknown: each may have reached the customer.
    pub unknown_outcomes: u32,
    /// When the next attempt is due (Unix milliseconds), after a retry was scheduled.
    pub retry_at_ms: Option<i64>,
    /// Attempts refused because the tenant was blocked (token, account): they do not count
    /// toward the dead-letter limit, so a blocked tenant keeps its queue.
    #[serde(default)]
    pub blocked_attempts: u32,
}

/// The class of a retry recorded because the tenant cannot send (`SendError::class()`).
pub const TENANT_BLOCKED: &str = "tenant_blocked";

impl Delivery {
    pub fn is_pending(&self) -> bool {
        self.phase == Phase::Pending
    }

    /// Attempts that count toward the dead-letter limit.
    pub fn counted_attempts(&self) -> u32 {
        self.attempts.saturating_sub(self.blocked_attempts)
    }

    /// The events a command causes, decided purely from the state.
    pub fn decide(&self, command: DeliveryCommand) -> Vec<DeliveryEvent> {
        use DeliveryCommand as C;
        use DeliveryEvent as E;
        let pending = self.is_pending();
        match command {
            C::RecordAccepted {
                attempt,
                wamid,
                template,
            } if pending => vec![E::ReplyAccepted {
                attempt,
                wamid,
                template,
            }],
            C::ScheduleRetry {
                attempt,
                retry_at_ms,
                class,
                code,
                outcome_unknown,
            } if pending && attempt > self.attempts => vec![E::RetryScheduled {
                attempt,
                retry_at_ms,
                class,
                code,
                outcome_unknown,
            }],
            C::FallBackToTemplate {
                attempt,
                template,
                language,
                cause,
            } if !self.template
                && (pending
                    || (self.phase == Phase::Accepted
                        && cause == FallbackCause::OutsideWindowStatus)) =>
            {
                vec![E::TemplateFallbackChosen {
                    attempt,
                    template,
                    language,
                    cause,
                }]
            }
            C::RecordFailure {
                attempt,
                code,
                reason,
            } if pending => vec![E::ReplyFailed {
                attempt,
                code,
                reason,
            }],
            C::DeadLetter { attempts, reason } if pending => {
                vec![E::ReplyDeadLettered { attempts, reason }]
            }
            _ => Vec::new(),
        }
    }
}

impl Aggregate for Delivery {
    const TYPE: &'static str = "Delivery";
    type Command = DeliveryCommand;
    type Event = DeliveryEvent;
    type Error = DeliveryError;
    type Services = ();

    async fn handle(
        &mut self,
        command: DeliveryCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), DeliveryError> {
        for event in self.decide(command) {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: DeliveryEvent) {
        use DeliveryEvent as E;
        match event {
            E::ReplyAccepted {
                attempt,
                wamid,
                template,
            } => {
                self.phase = Phase::Accepted;
                self.attempts = self.attempts.max(attempt);
                self.wamid = Some(wamid);
                self.template |= template;
                self.retry_at_ms = None;
            }
            E::RetryScheduled {
                attempt,
                retry_at_ms,
                outcome_unknown,
                class,
                ..
            } => {
                self.attempts = self.attempts.max(attempt);
                self.blocked_attempts += u32::from(class == TENANT_BLOCKED);
                self.unknown_outcomes += u32::from(outcome_unknown);
                self.retry_at_ms = Some(retry_at_ms);
            }
            E::TemplateFallbackChosen { attempt, .. } => {
                self.phase = Phase::Pending;
                self.template = true;
                self.attempts = self.attempts.max(attempt);
                // The template goes out at once.
                self.retry_at_ms = None;
            }
            E::ReplyFailed { attempt, .. } => {
                self.phase = Phase::Failed;
                self.attempts = self.attempts.max(attempt);
            }
            E::ReplyDeadLettered { attempts, .. } => {
                self.phase = Phase::DeadLettered;
                self.attempts = self.attempts.max(attempts);
            }
        }
    }
}
