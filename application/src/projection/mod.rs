//! Projections: read models built from the global event log.
//!
//! Invariants every projector storage must keep:
//! - the rows a batch produces and the new checkpoint are committed in one transaction;
//! - a batch commits only if the stored checkpoint still equals the one it started from
//!   (compare-and-set), so two runners can never apply the same events twice;
//! - `reset` empties the rows and the checkpoint in one transaction, after which the runner
//!   replays from the first event.
//!
//! The [`runner`] holds a lease so that each projector runs in one process at a time; the
//! compare-and-set keeps the read model exact even if two runners overlap.

pub mod event_counts;
pub mod reactor;
pub mod runner;

use crate::event_log::{Position, RecordedEvent};
use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The checkpoint moved under us: another runner applied or a rebuild reset it.
    #[error("the checkpoint of projector `{0}` moved concurrently")]
    CheckpointMoved(String),
    #[error("no projector named `{0}`")]
    UnknownProjector(String),
    /// Another process took the lease (for example a server, during a long rebuild).
    #[error("the lease of projector `{0}` was taken by another process")]
    LeaseLost(String),
    #[error(transparent)]
    Store(#[from] crate::event_log::StoreError),
}

/// Storage side of one projector: its rows and its checkpoint.
#[async_trait]
pub trait Projector: Send + Sync {
    fn name(&self) -> &'static str;

    async fn checkpoint(&self) -> Result<Position, ProjectionError>;

    /// Applies `events` (all after `from`, the last at `to`) and moves the checkpoint from
    /// `from` to `to`, in one transaction. Fails with [`ProjectionError::CheckpointMoved`] when
    /// the stored checkpoint is not `from`.
    async fn apply(
        &self,
        from: Position,
        to: Position,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError>;

    /// Deletes every row of the read model and sets the checkpoint back to the start.
    async fn reset(&self) -> Result<(), ProjectionError>;
}

/// Who holds a projector now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub owner: String,
    pub expires_at_ms: i64,
}

/// Time-limited leases so that each projector runs in exactly one process at a time.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes or renews the lease `name` for `owner` until `now + ttl`. True when held.
    async fn try_acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, ProjectionError>;

    async fn release(&self, name: &str, owner: &str) -> Result<(), ProjectionError>;

    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, ProjectionError>;
}

/// One line of `lyo projections status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProjectorStatus {
    pub name: String,
    pub checkpoint: Position,
    pub lag_events: u64,
    pub lease_owner: Option<String>,
    pub lease_expires_at_ms: Option<i64>,
}

/// Reads the state of a projector for operators.
pub async fn status(
    projector: &dyn Projector,
    log: &dyn crate::event_log::EventLog,
    leases: &dyn LeaseStore,
    now_ms: i64,
) -> Result<ProjectorStatus, ProjectionError> {
    let checkpoint = projector.checkpoint().await?;
    let lag_events = log.count_after(checkpoint).await?;
    let holder = leases
        .holder(projector.name())
        .await?
        .filter(|holder| holder.expires_at_ms > now_ms);
    Ok(ProjectorStatus {
        name: projector.name().to_string(),
        checkpoint,
        lag_events,
        lease_owner: holder.as_ref().map(|h| h.owner.clone()),
        lease_expires_at_ms: holder.map(|h| h.expires_at_ms),
    })
}
