//! The outbound queue and its dispatcher (issue 6, `docs/outbound.md`, ADR 0010).
//!
//! - [`OutboundQueueModel`]: the `outbound_queue` read model (one row per `ReplyQueued`, the
//!   customers' 24-hour window and sealed ids, delivery statuses, each reply's state from its
//!   `Delivery` events). Rebuildable; replays add nothing.
//! - [`Dispatcher`]: workers that claim due rows, send through a `ReplySender` and record
//!   every outcome on the reply's `Delivery` aggregate.
//! - [`Handoff`] (Postgres): the inbox worker queues and claims the replies it decides in its
//!   own transaction and hands them to this process's dispatcher in memory.
//! - [`store`]: the SQL, including the read views (a reply, a tenant's sending health).

mod accounts;
mod dispatcher;
mod handoff;
mod opening;
mod outcome;
mod queue;
pub mod store;
mod sweep;
mod throttle;

pub use accounts::{Account, AccountError, Accounts};
pub use dispatcher::{now_ms, DispatchError, Dispatcher, DispatcherConfig};
pub use handoff::Handoff;
pub(crate) use handoff::Queued;
pub use queue::{
    apply_delivery, signal, status_rank, OutboundQueueModel, NAME as OUTBOUND_QUEUE, WRITTEN_AHEAD,
};
