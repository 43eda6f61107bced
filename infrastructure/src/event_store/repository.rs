//! [`EventRepository`]: the one `PersistedEventRepository` the application uses, on either
//! backend. Around the library repositories it
//! - seals personal-data fields before writing and opens them after reading,
//! - maps SQLite's unique violation on (aggregate, sequence) to an optimistic-lock conflict
//!   (sqlite-es only recognises primary-key violations, but our primary key is `position`),
//! - signals readers of the global log after each commit,
//! - refuses snapshots: cqrs-es 0.5.0 applies events twice in its snapshot modes, and a
//!   snapshot would hold personal data unsealed. Aggregates load from events alone.

use super::signal::{AppendSignal, Appended};
use crate::db::Db;
use crate::pii::{PiiError, PiiVault};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlite_es::SqliteEventRepository;
use std::sync::Arc;

enum Backend {
    Postgres(PostgresEventRepository),
    Sqlite(SqliteEventRepository),
}

struct Inner {
    backend: Backend,
    vault: PiiVault,
    signal: AppendSignal,
}

/// Cheap to clone; every aggregate's `PersistedEventStore` holds one.
#[derive(Clone)]
pub struct EventRepository {
    inner: Arc<Inner>,
}

impl EventRepository {
    /// Wakes readers of the global log and counts the appended events of `aggregate_type`
    /// (their event types, one per event); call after a commit that appended events without
    /// [`PersistedEventRepository::persist`]. `queued`: that commit also wrote everything the
    /// outbound queue takes from these events ([`Appended::Events`]).
    pub fn appended(
        &self,
        aggregate_type: &'static str,
        event_types: &[&str],
        queued: bool,
        started: std::time::Instant,
    ) {
        if event_types.is_empty() {
            return;
        }
        self.inner.signal.appended(Appended::Events {
            aggregate: aggregate_type,
            events: event_types,
            queued,
        });
        metrics::counter!("lyo_events_appended_total", "aggregate_type" => aggregate_type)
            .increment(event_types.len() as u64);
        metrics::histogram!("lyo_event_append_duration_seconds", "aggregate_type" => aggregate_type)
            .record(started.elapsed().as_secs_f64());
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(&'static str);

fn unexpected(error: impl std::error::Error + Send + Sync + 'static) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(error))
}

fn pii_error(error: PiiError) -> PersistenceError {
    match error {
        PiiError::Database(error) => PersistenceError::ConnectionError(Box::new(error)),
        other => unexpected(other),
    }
}

/// SQLite extended code for a UNIQUE constraint violation.
pub(super) const SQLITE_CONSTRAINT_UNIQUE: &str = "2067";

pub(super) fn is_sqlite_unique_violation(error: &PersistenceError) -> bool {
    let PersistenceError::UnknownError(inner) = error else {
        return false;
    };
    match inner.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => db.code().as_deref() == Some(SQLITE_CONSTRAINT_UNIQUE),
        _ => false,
    }
}

impl EventRepository {
    pub fn new(db: &Db, vault: PiiVault, signal: AppendSignal) -> Self {
        let backend = match db {
            Db::Postgres(pool) => Backend::Postgres(PostgresEventRepository::new(pool.clone())),
            Db::Sqlite(pool) => Backend::Sqlite(SqliteEventRepository::new(pool.clone())),
        };
        Self {
            inner: Arc::new(Inner {
                backend,
                vault,
                signal,
            }),
        }
    }

    pub fn vault(&self) -> &PiiVault {
        &self.inner.vault
    }

    /// The stream's events after `last_sequence`, still sealed.
    pub(super) async fn raw_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        match &self.inner.backend {
            Backend::Postgres(repo) => repo.get_last_events::<A>(aggregate_id, last_sequence).await,
            Backend::Sqlite(repo) => repo.get_last_events::<A>(aggregate_id, last_sequence).await,
        }
    }

    pub(crate) async fn open(
        &self,
        mut events: Vec<SerializedEvent>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        // One key look-up for the whole stream, not one per event.
        let mut payloads: Vec<Value> = events.iter_mut().map(|e| e.payload.take()).collect();
        self.inner
            .vault
            .open_payloads(&mut payloads)
            .await
            .map_err(pii_error)?;
        for (event, payload) in events.iter_mut().zip(payloads) {
            event.payload = payload;
        }
        Ok(events)
    }

    pub(crate) async fn seal(
        &self,
        events: &[SerializedEvent],
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.seal_owned(events.to_vec()).await
    }

    /// Seals the personal-data fields of `events` in place.
    pub(crate) async fn seal_owned(
        &self,
        mut events: Vec<SerializedEvent>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let tenants: Vec<(&str, &Value)> = events
            .iter()
            .filter_map(|e| Some((e.metadata.get("tenant_id")?.as_str()?, &e.payload)))
            .collect();
        // All keys of the batch at once (cached after the first use).
        self.inner
            .vault
            .prepare_keys(&tenants)
            .await
            .map_err(pii_error)?;
        for event in &mut events {
            let tenant = event
                .metadata
                .get("tenant_id")
                .and_then(Value::as_str)
                .ok_or_else(|| unexpected(Refused("an event without tenant_id metadata")))?
                .to_string();
            self.inner
                .vault
                .seal_payload(&tenant, &mut event.payload)
                .await
                .map_err(pii_error)?;
        }
        Ok(events)
    }
}

impl PersistedEventRepository for EventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = match &self.inner.backend {
            Backend::Postgres(repo) => repo.get_events::<A>(aggregate_id).await?,
            Backend::Sqlite(repo) => repo.get_events::<A>(aggregate_id).await?,
        };
        self.open(events).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let events = self
            .raw_last_events::<A>(aggregate_id, last_sequence)
            .await?;
        self.open(events).await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(unexpected(Refused(
                "snapshots are not supported: use PersistedEventStore::new_event_store",
            )));
        }
        let started = std::time::Instant::now();
        let sealed = self.seal(events).await?;
        let result = match &self.inner.backend {
            Backend::Postgres(repo) => repo.persist::<A>(&sealed, None).await,
            Backend::Sqlite(repo) => repo.persist::<A>(&sealed, None).await,
        };
        match result {
            Ok(()) => {
                let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
                self.appended(A::TYPE, &types, false, started);
                Ok(())
            }
            Err(error) => {
                let error = if is_sqlite_unique_violation(&error) {
                    PersistenceError::OptimisticLockError
                } else {
                    error
                };
                if matches!(error, PersistenceError::OptimisticLockError) {
                    metrics::counter!("lyo_event_append_conflicts_total", "aggregate_type" => A::TYPE)
                        .increment(1);
                }
                Err(error)
            }
        }
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = self.get_events::<A>(aggregate_id).await?;
        let (mut feed, stream) = ReplayStream::new(events.len().max(1));
        tokio::spawn(async move {
            for event in events {
                if feed.push(Ok(event)).await.is_err() {
                    return;
                }
            }
        });
        Ok(stream)
    }

    /// Refused: the library's version is not in commit order. Read the global order through
    /// [`super::SqlEventLog`] instead.
    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Err(unexpected(Refused(
            "stream_all_events is not in commit order; read the global event log instead",
        )))
    }
}
