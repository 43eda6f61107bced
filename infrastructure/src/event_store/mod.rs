//! The event store on Postgres (postgres-es) or SQLite (sqlite-es), with personal-data sealing
//! and append signals; and the global event log readers.

mod batch;
mod log;
mod repository;
mod signal;

pub use batch::{AppendError, SealedBatch, StreamPosition};
pub(crate) use log::store_error;
pub use log::{Selection, SqlEventLog};
pub use repository::EventRepository;
pub use signal::{AppendSignal, Appended};
