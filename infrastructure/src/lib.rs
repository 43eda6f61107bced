//! Adapters of Lyo: the Postgres and SQLite event stores (cqrs-es with postgres-es and
//! sqlite-es), the global event log, projection storage and leases, the personal-data vault,
//! the WhatsApp senders (Cloud API and sandbox), and configuration.
//!
//! Both backends sit behind the same types ([`db::Db`], [`event_store::EventRepository`],
//! [`event_store::SqlEventLog`]); the composition root picks one from `DATABASE_URL`.

/// Milliseconds since the Unix epoch (0 before it), the clock of claims, leases and holds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

pub mod config;
pub mod db;
pub mod event_store;
pub mod identity;
pub mod inbox;
pub mod ingress;
pub mod outbound;
pub mod pii;
pub mod projection;
pub mod reminders;
pub mod sender;
pub mod whatsapp;
