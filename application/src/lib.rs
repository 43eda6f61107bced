//! Use cases and ports of Lyo.
//!
//! This crate knows no SQL dialect and no HTTP. It defines what the outside world must
//! provide (ports: the global event log, projector storage, leases) and the logic that runs on
//! top of them (the projection runtime, projector definitions, event metadata).

pub mod booking;
pub mod event_log;
pub mod metadata;
pub mod outbound;
pub mod projection;
pub mod reminders;
pub mod tenants;

/// An error and its sources, `outer: inner: innermost`, for logging causes once and whole.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
