//! Storage for projections: checkpoints, leases and the read models themselves.

mod event_counts;
mod leases;
mod sql_projector;

pub use event_counts::EventCounts;
pub use leases::SqlLeaseStore;
pub use sql_projector::{ReadModel, SqlProjector};

use crate::db::Db;
use lyo_application::projection::Projector;
use std::sync::Arc;

/// Every projector Lyo runs, by name.
pub fn all_projectors(db: &Db) -> Vec<Arc<dyn Projector>> {
    vec![Arc::new(SqlProjector::new(db.clone(), EventCounts))]
}
