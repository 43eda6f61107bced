//! Reading the Cloud API's answer: the message id of a success, or Meta's error object
//! classified by its `code` (see `lyo_application::outbound::classify_code`). Pure.

use lyo_application::outbound::{
    classify_code, CodeClass, Outcome, Reason, RetryCause, RetryScope, SendError,
};
use serde_json::Value;
use std::time::Duration;

/// The longest `Retry-After` honoured; a larger one is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Meta's error object: `{"error": {"message", "type", "code", "error_subcode",
/// "error_data": {"details"}, "fbtrace_id"}}`.
#[derive(Clone, PartialEq)]
pub(crate) struct MetaError {
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: Option<String>,
    pub details: Option<String>,
    /// Meta's support id for the request: safe to log, useful in a ticket.
    pub fbtrace_id: Option<String>,
}

impl MetaError {
    /// `None` unless the body holds an error object with a numeric `code` (a number, or a
    /// string of digits as some proxies send it).
    pub fn parse(body: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let error = value.get("error")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        Some(Self {
            code: integer(error.get("code")?)?,
            subcode: error.get("error_subcode").and_then(integer),
            message: text(error.get("message")),
            details: text(error.get("error_data").and_then(|d| d.get("details"))),
            fbtrace_id: text(error.get("fbtrace_id")),
        })
    }

    /// Message and details, for the dead letter; Meta's wording, possibly quoting the request.
    pub fn reason(&self) -> Reason {
        let mut text = self.message.clone().unwrap_or_default();
        if let Some(details) = self.details.as_deref().filter(|d| !d.is_empty()) {
            if !text.is_empty() {
                text.push_str(" — ");
            }
            text.push_str(details);
        }
        if let Some(subcode) = self.subcode {
            text.push_str(&format!(" (subcode {subcode})"));
        }
        Reason::new(text)
    }
}

fn integer(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `messages[0].id` of a success.
pub(crate) fn wamid(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let id = value.get("messages")?.get(0)?.get("id")?.as_str()?;
    (!id.trim().is_empty()).then(|| id.to_string())
}

/// `Retry-After` in whole seconds (the HTTP-date form is not used by Meta and is ignored).
pub(crate) fn retry_after(header: Option<&str>) -> Option<Duration> {
    let secs: u64 = header?.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Classifies a failed answer: by Meta's code when the body has one, by the HTTP status only
/// when it does not (then it came from something between us and Meta, or Meta's edge).
pub(crate) fn failure(
    status: u16,
    error: Option<&MetaError>,
    after: Option<Duration>,
) -> SendError {
    let transient_status = status == 429 || (500..600).contains(&status);
    let Some(error) = error else {
        return SendError::Retry {
            after,
            scope: match status {
                500..=599 => RetryScope::Message,
                _ => RetryScope::Tenant,
            },
            // A gateway's 500/502/504 may hide an upstream that did accept the message; a 503
            // or 429 is a refusal at the door; a 4xx with no Graph error is a wrong URL or a
            // proxy's refusal.
            outcome: match status {
                500..=599 if status != 503 => Outcome::Unknown,
                _ => Outcome::NotSent,
            },
            cause: RetryCause::Status { status },
        };
    };
    let code = error.code;
    let retry = |scope| SendError::Retry {
        after,
        scope,
        outcome: Outcome::NotSent,
        cause: RetryCause::Meta { code },
    };
    match classify_code(code) {
        CodeClass::Retry { scope } => retry(scope),
        CodeClass::Permanent => SendError::Permanent {
            code,
            reason: error.reason(),
        },
        CodeClass::OutsideWindow => SendError::OutsideWindow,
        CodeClass::TenantBlocked => SendError::TenantBlocked {
            code,
            reason: error.reason(),
        },
        // An unlisted code on a 5xx or 429 is Meta asking to come back later; on any other
        // status Meta refused the request as it is, and the same request will be refused again.
        CodeClass::Unlisted if transient_status => retry(RetryScope::Message),
        CodeClass::Unlisted => SendError::Permanent {
            code,
            reason: error.reason(),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_takes_whole_seconds_and_is_capped() {
        assert_eq!(retry_after(Some(" 5 ")), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(Some("99999999")), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")), None);
        assert_eq!(retry_after(Some("-1")), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn only_an_error_object_with_a_numeric_code_is_a_meta_error() {
        assert!(MetaError::parse(b"<html>").is_none());
        assert!(MetaError::parse(br#"{"error":{"message":"x"}}"#).is_none());
        assert!(MetaError::parse(br#"{"error":{"code":"abc"}}"#).is_none());
        let bare = MetaError::parse(br#"{"error":{"code":2}}"#).unwrap();
        assert_eq!((bare.code, bare.reason().as_str()), (2, ""));
    }

    #[test]
    fn a_success_needs_a_non_blank_message_id() {
        assert_eq!(
            wamid(br#"{"messages":[{"id":"wamid.A"}]}"#).as_deref(),
            Some("wamid.A")
        );
        assert_eq!(wamid(br#"{"messages":[{"id":" "}]}"#), None);
        assert_eq!(wamid(br#"{"success":true}"#), None);
    }
}
