//! Adapters of the outbound port [`lyo_application::outbound::ReplySender`] (issue 6):
//!
//! - [`GraphSender`]: the WhatsApp Cloud API (`LYO_SENDER=cloud`). Builds Meta's exact JSON
//!   for text, reply buttons, lists, templates, reply context and read receipts; classifies
//!   every failure by Meta's error code; tells "certainly not sent" from "outcome unknown".
//! - [`SandboxSender`]: records replies in memory and sends nothing (`LYO_SENDER=sandbox`).
//!
//! Invariants: both validate a reply before anything else, so a reply breaking WhatsApp's
//! limits never leaves; neither logs a recipient, a message text or a token. The error classes
//! and the duplicate window are documented in `docs/outbound.md`.

mod answer;
mod body;
mod graph;
mod sandbox;

pub use graph::{GraphConfig, GraphSender, GraphSenderError};
pub use sandbox::{SandboxRecord, SandboxSender};
