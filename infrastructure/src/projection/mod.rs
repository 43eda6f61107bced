//! Storage for projections: checkpoints, leases and the read models themselves.

mod checkpoint_only;
mod event_counts;
mod leases;
mod sql_projector;
mod tenant_directory;
mod tenant_settings;

pub use checkpoint_only::CheckpointOnly;
pub use event_counts::EventCounts;
pub use leases::SqlLeaseStore;
pub use sql_projector::{AfterCommit, ReadModel, SqlProjector};
pub use tenant_directory::{
    DirectoryCache, SqlTenantDirectory, TenantDirectoryModel, NAME as TENANT_DIRECTORY,
};
pub use tenant_settings::{
    SqlTenantConfigs, TenantConfigCache, TenantSettingsModel, NAME as TENANT_SETTINGS,
};

use crate::db::Db;
use crate::event_store::Selection;
use lyo_application::event_log::{Position, StoreError};
use lyo_application::projection::Projector;
use std::sync::Arc;

/// Every projector Lyo runs, by name. `directory` and `configs` are the caches the tenant
/// directory and tenant settings projectors invalidate.
pub fn all_projectors(
    db: &Db,
    directory: Arc<DirectoryCache>,
    configs: Arc<TenantConfigCache>,
) -> Vec<Arc<dyn Projector>> {
    vec![
        Arc::new(SqlProjector::new(db.clone(), EventCounts)),
        Arc::new(SqlProjector::new(
            db.clone(),
            TenantDirectoryModel { cache: directory },
        )),
        Arc::new(SqlProjector::new(
            db.clone(),
            TenantSettingsModel { cache: configs },
        )),
        Arc::new(SqlProjector::new(
            db.clone(),
            crate::outbound::OutboundQueueModel,
        )),
    ]
}

/// Whether `projector` has applied every `Tenant` event stored so far. Other events do not
/// matter, so constant conversation traffic cannot keep a tenant-only read model "behind".
pub async fn tenant_events_applied(db: &Db, projector: &dyn Projector) -> Result<bool, StoreError> {
    let checkpoint = projector
        .checkpoint()
        .await
        .map_err(|e| StoreError::Unexpected(Box::new(e)))?;
    const SQLITE: &str =
        "SELECT 0, position FROM events WHERE aggregate_type = $1 ORDER BY position DESC LIMIT 1";
    let tenant_type = <lyo_domain::tenant::Tenant as cqrs_es::Aggregate>::TYPE;
    let latest: Option<(i64, i64)> = match db {
        Db::Postgres(pool) => {
            // The type as a literal, not a parameter: the generic plan (`Db::connect`) of
            // `aggregate_type = $1` expects a common type and scans the whole table for this
            // rare one; with the literal it reads the few `Tenant` events by the primary key.
            let pg = format!(
                "SELECT transaction_id::text::bigint, position FROM events
                  WHERE aggregate_type = '{tenant_type}'
                  ORDER BY transaction_id DESC, position DESC LIMIT 1"
            );
            sqlx::query_as(&pg).fetch_optional(pool).await
        }
        Db::Sqlite(pool) => {
            sqlx::query_as(SQLITE)
                .bind(tenant_type)
                .fetch_optional(pool)
                .await
        }
    }
    .map_err(crate::event_store::store_error)?;
    Ok(latest.is_none_or(|(transaction_id, position)| {
        Position {
            transaction_id,
            position,
        } <= checkpoint
    }))
}

/// The events whose appends in this process wake `projector` at once; `None`: all. It reaches
/// other events at its idle wait (`LYO_PROJECTOR_IDLE_WAIT_MS`), where it passes over them in
/// large batches instead of one transaction per append. A reader of some events is woken by
/// those (the booking process by the requests a conversation starts, not by every message).
pub fn woken_by(projector: &str) -> Option<Selection> {
    match projector {
        // Counts every event, so every append wakes it.
        lyo_application::projection::event_counts::NAME => None,
        // New replies come with conversation events. The dispatcher writes its `Delivery`
        // events through to the queue rows itself; the projector catches up on them later.
        crate::outbound::OUTBOUND_QUEUE => Some(Selection::of(&[CONVERSATION])),
        other => events_read_by(other),
    }
}

/// The table listing the transactions whose events `projector`'s reader passes over, because
/// their writers wrote its rows ahead of it (Postgres; `SqlEventLog::without_transactions_in`).
pub fn transactions_passed_over(projector: &str) -> Option<&'static str> {
    (projector == crate::outbound::OUTBOUND_QUEUE).then_some(crate::outbound::WRITTEN_AHEAD)
}

/// Whether appends that also wrote the outbound queue's rows (`Appended::Events`) wake
/// `projector`: all but the queue's own projector, which applies them, changing nothing, at its
/// idle wait or with the next append that wakes it (ADR 0010, "handed over").
pub fn woken_when_queued(projector: &str) -> bool {
    projector != crate::outbound::OUTBOUND_QUEUE
}

/// How long `projector`, woken after it caught up, waits before reading (`RunnerConfig::pace`).
/// The event counts are a dashboard figure: read four times a second in large batches instead
/// of once per append, they cost a tenth of the statements they did under load.
pub fn pace_of(projector: &str) -> std::time::Duration {
    match projector {
        lyo_application::projection::event_counts::NAME => std::time::Duration::from_millis(250),
        _ => std::time::Duration::ZERO,
    }
}

const TENANT: &str = <lyo_domain::tenant::Tenant as cqrs_es::Aggregate>::TYPE;
const CONVERSATION: &str = <lyo_domain::conversation::Conversation as cqrs_es::Aggregate>::TYPE;
const APPOINTMENT: &str = <lyo_domain::appointment::Appointment as cqrs_es::Aggregate>::TYPE;
const DELIVERY: &str = <lyo_domain::delivery::Delivery as cqrs_es::Aggregate>::TYPE;

/// The only events a projector is given; `None`: every event. Its log reader passes over the
/// others in the database (`SqlEventLog::with_only`) instead of sending and parsing them: a
/// tenant's read model has no use for a million conversation events.
pub fn events_read_by(projector: &str) -> Option<Selection> {
    match projector {
        tenant_directory::NAME | tenant_settings::NAME => Some(Selection::of(&[TENANT])),
        lyo_application::reminders::NAME => Some(Selection::of(&[TENANT, APPOINTMENT])),
        // Of a conversation only the requests it starts (`BookingProcess::handle`).
        lyo_application::booking::NAME => Some(Selection {
            aggregates: &[APPOINTMENT],
            events: lyo_application::booking::CONVERSATION_EVENTS,
        }),
        _ => None,
    }
}

/// Of a projector given every event, the events whose payloads it reads; `None`: all of them.
/// Its log reader leaves the other payloads out (the bulk of an event: sealed personal data),
/// which the database then neither detoasts nor sends and the reader never parses.
pub fn payloads_read_by(projector: &str) -> Option<Selection> {
    match projector {
        lyo_application::projection::event_counts::NAME => Some(Selection::of(&[])),
        crate::outbound::OUTBOUND_QUEUE => Some(Selection::of(&[CONVERSATION, DELIVERY])),
        _ => None,
    }
}
