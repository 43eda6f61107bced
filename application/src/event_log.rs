//! The global event log: every event of every aggregate, in an order a reader can resume from
//! without ever skipping an event (see `docs/adr/0001-event-store-ordering.md`).

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// A place in the global order. On Postgres it is (writing transaction id, position); on
/// SQLite the transaction id is always 0 and the position is the rowid. Ordered
/// lexicographically; [`Position::START`] precedes every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Position {
    pub transaction_id: i64,
    pub position: i64,
}

impl Position {
    pub const START: Position = Position {
        transaction_id: 0,
        position: 0,
    };
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.transaction_id, self.position)
    }
}

/// One event as stored, with everything the store added beside the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub at: Position,
    pub event_id: Uuid,
    /// Microseconds since the Unix epoch.
    pub recorded_at_micros: i64,
    pub tenant_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload as stored: personal-data fields are still sealed.
    pub payload: Value,
    pub metadata: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("unexpected storage error")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Reads the global event log.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Up to `limit` events strictly after `after`, in global order. Never returns an event
    /// while an event that precedes it may still become visible.
    async fn read_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Like [`read_after`](Self::read_after), and the position the reader may move its
    /// checkpoint to: past the last event returned, and past events it was not given at all
    /// (a log that reads only some events). Equal to `after` when there was nothing to read.
    async fn read_batch(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<(Vec<RecordedEvent>, Position), StoreError> {
        let events = self.read_after(after, limit).await?;
        let to = events.last().map_or(after, |e| e.at);
        Ok((events, to))
    }

    /// How many events are stored after `after` (committed, visible or not yet safe to read).
    async fn count_after(&self, after: Position) -> Result<u64, StoreError>;

    /// [`count_after`](Self::count_after), counting no further than `cap`: its cost stays
    /// bounded however far behind a reader is (for a gauge refreshed every second).
    async fn count_after_up_to(&self, after: Position, cap: u64) -> Result<u64, StoreError> {
        Ok(self.count_after(after).await?.min(cap))
    }

    /// Whether any event is stored after `after`, readable or not (of a log of some events
    /// only: any of those); cheaper than counting them.
    async fn any_after(&self, after: Position) -> Result<bool, StoreError> {
        Ok(self.count_after(after).await? > 0)
    }

    /// A receiver that changes whenever events may have been appended (in this process or,
    /// on Postgres, in any process). Readers mark it seen before reading, then wait on it.
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64>;
}
