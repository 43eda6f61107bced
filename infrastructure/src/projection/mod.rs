//! Storage for projections: checkpoints, leases and the read models themselves.

mod event_counts;
mod leases;
mod sql_projector;
mod tenant_directory;

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

/// The aggregate types whose event payloads a projector reads; `None`: all of them. Its log
/// reader leaves the other payloads out (the bulk of an event: sealed personal data), which the
/// database then neither detoasts nor sends and the reader never parses.
pub fn payloads_read_by(projector: &str) -> Option<&'static [&'static str]> {
    match projector {
        lyo_application::projection::event_counts::NAME => Some(&[]),
        tenant_directory::NAME => Some(&[<lyo_domain::tenant::Tenant as cqrs_es::Aggregate>::TYPE]),
        _ => None,
    }
}
