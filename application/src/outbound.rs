//! The outbound port: how a reply leaves Lyo. The dispatcher (issue 6) hands each claimed
//! reply to a [`ReplySender`] — the WhatsApp Cloud API adapter in production, the sandbox in
//! development — and records what comes back as an event.
//!
//! Invariants:
//! - A sender validates the reply ([`lyo_domain::reply::ReplyBody::validate`]) before any I/O;
//!   a reply that breaks a limit is [`SendError::Invalid`] and never reaches Meta.
//! - Every failure is classified by Meta's error `code`, never by the HTTP status alone (see
//!   [`classify_code`] and `docs/outbound.md`). The class says what the dispatcher does next:
//!   retry later, give up on this reply, fall back to a template, or stop the tenant.
//! - A retryable failure says whether the message was certainly not sent
//!   ([`Outcome::NotSent`]) or may have reached Meta ([`Outcome::Unknown`]). Retrying an
//!   unknown outcome may deliver the reply twice; that is the only duplicate window, and the
//!   dispatcher documents it.
//! - Nothing here prints a recipient, a message text or a token through `Debug` or `Display`.

mod backoff;
mod codes;
pub mod policy;

pub use backoff::Backoff;
pub use codes::{classify_code, CodeClass};

use lyo_domain::reply::{Reply, ReplyLimitError};
use secrecy::SecretString;
use std::time::Duration;
use uuid::Uuid;

/// Sends replies and read receipts through one tenant's WhatsApp business number.
#[async_trait::async_trait]
pub trait ReplySender: Send + Sync {
    /// Sends one reply. `Ok` means Meta accepted it (delivery is reported later by webhook).
    async fn send(
        &self,
        account: &SenderAccount,
        message: &OutboundMessage,
    ) -> Result<Sent, SendError>;

    /// Marks an inbound message (`wamid`) as read: the customer sees blue ticks.
    async fn mark_read(&self, account: &SenderAccount, message_id: &str) -> Result<(), SendError>;
}

/// The tenant's business number and the token that may send from it.
#[derive(Clone)]
pub struct SenderAccount {
    /// Meta's id of the business phone number (not the number itself; not personal data).
    pub phone_number_id: String,
    pub access_token: SecretString,
}

impl std::fmt::Debug for SenderAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderAccount")
            .field("phone_number_id", &self.phone_number_id)
            .finish_non_exhaustive()
    }
}

/// Whom a reply goes to. A customer is known by their phone-based `wa_id`, by the
/// business-scoped user id (BSUID) Meta introduced in 2026 for users with usernames, or both.
/// The sender decides which one to address (the Cloud API prefers the phone number).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    WaId(String),
    UserId(String),
    Both { wa_id: String, user_id: String },
}

impl Recipient {
    /// The recipient from whichever ids are known and not blank; `None` if neither is.
    pub fn from_ids(wa_id: Option<String>, user_id: Option<String>) -> Option<Self> {
        let present = |s: &String| !s.trim().is_empty();
        match (wa_id.filter(present), user_id.filter(present)) {
            (Some(wa_id), Some(user_id)) => Some(Self::Both { wa_id, user_id }),
            (Some(wa_id), None) => Some(Self::WaId(wa_id)),
            (None, Some(user_id)) => Some(Self::UserId(user_id)),
            (None, None) => None,
        }
    }

    pub fn wa_id(&self) -> Option<&str> {
        match self {
            Self::WaId(wa_id) | Self::Both { wa_id, .. } => Some(wa_id),
            Self::UserId(_) => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::UserId(user_id) | Self::Both { user_id, .. } => Some(user_id),
            Self::WaId(_) => None,
        }
    }
}

/// Personal data: only which kind of id is known.
impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::WaId(_) => "Recipient::WaId(..)",
            Self::UserId(_) => "Recipient::UserId(..)",
            Self::Both { .. } => "Recipient::Both { .. }",
        })
    }
}

/// One reply to send: its id (the outbound row's key, sent along so that Meta's status
/// webhooks can be tied back to it even when the send's outcome was unknown), its recipient
/// and the reply itself.
#[derive(Clone, PartialEq)]
pub struct OutboundMessage {
    pub reply_id: Uuid,
    pub recipient: Recipient,
    pub reply: Reply,
}

/// The reply's text is personal data: only its id, purpose and shape.
impl std::fmt::Debug for OutboundMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundMessage")
            .field("reply_id", &self.reply_id)
            .field("recipient", &self.recipient)
            .field("purpose", &self.reply.purpose)
            .field("kind", &kind_of(&self.reply))
            .finish_non_exhaustive()
    }
}

/// The shape of a reply, for logs and metrics: `text`, `buttons`, `list` or `template`.
pub fn kind_of(reply: &Reply) -> &'static str {
    use lyo_domain::reply::ReplyBody;
    match reply.body {
        ReplyBody::Text { .. } => "text",
        ReplyBody::Buttons { .. } => "buttons",
        ReplyBody::List { .. } => "list",
        ReplyBody::Template { .. } => "template",
    }
}

/// Meta accepted the message and named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The message id (`wamid....`) that status webhooks will carry.
    pub wamid: String,
}

/// Why a send failed, as the dispatcher must act on it. `Display` names the class and code
/// only; Meta's explanation is in [`Reason`], which the dispatcher may store but never logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (with back-off, see [`Backoff`]).
    #[error("retry later ({cause}; {outcome})")]
    Retry {
        /// Meta's or a proxy's `Retry-After`, when one was given.
        after: Option<Duration>,
        /// What to hold back: this reply only, everything to this recipient, or the tenant.
        scope: RetryScope,
        /// Whether the message may already have reached Meta.
        outcome: Outcome,
        cause: RetryCause,
    },
    /// Meta refused this message for good; sending it again would fail the same way.
    #[error("rejected by Meta (code {code})")]
    Permanent { code: i64, reason: Reason },
    /// 131047: more than 24 hours since the customer last wrote; send the tenant's template.
    #[error("outside the 24-hour customer service window (code 131047)")]
    OutsideWindow,
    /// The tenant cannot send at all (token, account or policy problem): stop its queue, keep
    /// the replies, raise it on the tenant's health.
    #[error("sending is blocked for this tenant (code {code})")]
    TenantBlocked { code: i64, reason: Reason },
    /// Our own limit check failed; nothing was sent.
    #[error("the reply breaks a WhatsApp limit: {0}")]
    Invalid(ReplyLimitError),
}

/// Not `#[from]`: that would also make the limit error the `source`, printed twice in chains.
impl From<ReplyLimitError> for SendError {
    fn from(error: ReplyLimitError) -> Self {
        Self::Invalid(error)
    }
}

impl SendError {
    /// A short, stable name of the class, for metrics labels and event fields.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Retry { .. } => "retry",
            Self::Permanent { .. } => "permanent",
            Self::OutsideWindow => "outside_window",
            Self::TenantBlocked { .. } => "tenant_blocked",
            Self::Invalid(_) => "invalid",
        }
    }

    /// Meta's error code, when Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Retry {
                cause: RetryCause::Meta { code },
                ..
            } => Some(*code),
            Self::Permanent { code, .. } | Self::TenantBlocked { code, .. } => Some(*code),
            Self::OutsideWindow => Some(codes::OUTSIDE_WINDOW),
            Self::Retry { .. } | Self::Invalid(_) => None,
        }
    }

    /// True when the message may have reached Meta: a retry may deliver it twice.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            Self::Retry {
                outcome: Outcome::Unknown,
                ..
            }
        )
    }
}

/// What a retryable failure holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryScope {
    /// Only this reply (a transient failure of Meta or the network).
    Message,
    /// Every reply to this recipient (131056: the pair rate limit).
    Recipient,
    /// Every reply of this tenant's number (throughput and API call limits).
    Tenant,
}

/// Whether a failed attempt may have delivered the message anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Certainly not accepted: Meta answered with an error, or the request never left
    /// (DNS, connection refused, TLS handshake, connect timeout).
    NotSent,
    /// The request may have reached Meta and been accepted: a timeout or a broken connection
    /// after the request was written, a gateway error, or a success answer we could not read.
    Unknown,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotSent => "not sent",
            Self::Unknown => "outcome unknown",
        })
    }
}

/// What made a send retryable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryCause {
    /// Meta answered with this error code.
    Meta { code: i64 },
    /// An HTTP status with no Graph API error in the body (a proxy, a gateway, a wrong URL).
    Status { status: u16 },
    /// No answer in time.
    Timeout,
    /// The connection failed (before or after the request was written: see [`Outcome`]).
    Connection,
    /// A success status whose body had no message id.
    MalformedResponse,
}

impl std::fmt::Display for RetryCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Meta { code } => write!(f, "Meta error code {code}"),
            Self::Status { status } => write!(f, "HTTP {status} without a Graph API error"),
            Self::Timeout => f.write_str("timeout"),
            Self::Connection => f.write_str("connection error"),
            Self::MalformedResponse => f.write_str("malformed success response"),
        }
    }
}

/// Meta's explanation of an error (`message` and `error_data.details`). Meta may quote request
/// values in it, so `Debug` hides it and there is no `Display`: read it with [`Reason::as_str`]
/// where it is stored on purpose (a dead letter, an operator's view).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Reason(String);

impl Reason {
    /// Longest reason kept, in characters; Meta's are far shorter.
    pub const MAX_CHARS: usize = 500;

    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        match text.char_indices().nth(Self::MAX_CHARS) {
            Some((cut, _)) => Self(text[..cut].to_string()),
            None => Self(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reason({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests;
