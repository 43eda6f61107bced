//! Reminders (issue 6, docs/reminders.md): the `reminders` read model that schedules them from
//! appointment events and the tenants' policies, and the scheduler that sends the due ones
//! through each customer's conversation. Multi-process and crash safe: rows are claimed with
//! `SKIP LOCKED` (Postgres) or an expiring claim (SQLite), and the conversation decides each
//! reminder id once.

mod model;
mod scheduler;

pub use model::RemindersModel;
pub use scheduler::{ReminderScheduler, SchedulerConfig, SchedulerError};
