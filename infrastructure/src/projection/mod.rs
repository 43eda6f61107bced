//! Storage for projections: checkpoints, leases and the read models themselves.

mod checkpoint_only;
mod event_counts;
mod leases;
mod sql_projector;
mod tenant_directory;

pub use checkpoint_only::CheckpointOnly;
pub use event_counts::EventCounts;
pub use leases::SqlLeaseStore;
pub use sql_projector::{ReadModel, SqlProjector};
pub use tenant_directory::{
    DirectoryCache, SqlTenantDirectory, TenantDirectoryModel, NAME as TENANT_DIRECTORY,
};

use crate::db::Db;
use lyo_application::projection::Projector;
use std::sync::Arc;

/// Every projector Lyo runs, by name. `directory` is the cache the tenant directory
/// projector invalidates.
pub fn all_projectors(db: &Db, directory: Arc<DirectoryCache>) -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(SqlProjector::new(db.clone(), EventCounts)),
        Arc::new(SqlProjector::new(
            db.clone(),
            TenantDirectoryModel { cache: directory },
        )),
    ]
}
