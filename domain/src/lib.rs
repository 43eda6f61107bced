//! The pure model of Lyo: identifiers, personal-data markers, and (as they arrive) aggregates,
//! availability, language understanding and dialogue policy.
//!
//! Invariant: nothing in this crate performs I/O or depends on a runtime. Everything here is
//! deterministic given its inputs, so it can be tested table-driven and replayed from events.

pub mod appointment;
pub mod availability;
pub mod conversation;
pub mod delivery;
pub mod dialogue;
pub mod ids;
pub mod personal;
pub mod reply;
pub mod schedule;
pub mod tenant;
pub mod understanding;
