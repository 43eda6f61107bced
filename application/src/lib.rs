//! Use cases and ports of Lyo.
//!
//! This crate knows no SQL dialect and no HTTP. It defines what the outside world must
//! provide (ports: the global event log, projector storage, leases) and the logic that runs on
//! top of them (the projection runtime, projector definitions, event metadata).

pub mod event_log;
pub mod metadata;
pub mod projection;
