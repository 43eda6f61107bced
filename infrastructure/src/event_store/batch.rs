//! Batches across many streams, for writers that decide for many aggregates at once (the inbox
//! worker): read what each stream gained after a known version in one query, and append the
//! events of many streams in the caller's transaction with one statement.
//!
//! The same rules as the single-stream path hold: personal data is sealed before it is
//! written and opened after it is read, and the unique (aggregate_type, aggregate_id, sequence)
//! key enforces optimistic concurrency: an append that lost a race fails whole with
//! [`AppendError::Conflict`] and the caller re-reads and decides again.

use super::repository::{EventRepository, SQLITE_CONSTRAINT_UNIQUE};
use crate::db::{Db, DbTx};
use cqrs_es::persist::{PersistenceError, SerializedEvent};
use cqrs_es::Aggregate;
use sqlx::Row;

/// A stream and the last sequence the reader has already applied (0: none).
#[derive(Debug, Clone)]
pub struct StreamPosition {
    pub aggregate_id: String,
    pub after: usize,
}

/// Events whose personal data is sealed, ready for [`EventRepository::insert_sealed`].
#[derive(Debug)]
pub struct SealedBatch(Vec<SerializedEvent>);

impl SealedBatch {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn events(&self) -> &[SerializedEvent] {
        &self.0
    }

    /// The event type of each event, for [`EventRepository::appended`] after the commit.
    pub fn event_types(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.event_type.as_str()).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("another writer appended to one of the streams first")]
    Conflict,
    #[error("could not append events")]
    Persistence(#[source] PersistenceError),
    #[error("could not append events")]
    Database(#[source] sqlx::Error),
}

/// LATERAL: one index probe per stream, whatever the planner thinks the table holds (a join
/// it may plan as a scan of every event of the type).
const PG_EVENTS_AFTER: &str = "
SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload, e.metadata
  FROM unnest($2::text[], $3::bigint[]) AS s(aggregate_id, after)
 CROSS JOIN LATERAL (
       SELECT * FROM events e
        WHERE e.aggregate_type = $1 AND e.aggregate_id = s.aggregate_id AND e.sequence > s.after
        ORDER BY e.sequence) e";

const PG_INSERT: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[])";

/// Postgres unique violation.
const PG_UNIQUE_VIOLATION: &str = "23505";

impl EventRepository {
    /// The events of each stream after its position, opened, each stream's in sequence order.
    pub async fn events_after<A: Aggregate>(
        &self,
        db: &Db,
        streams: &[StreamPosition],
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        if streams.is_empty() {
            return Ok(Vec::new());
        }
        let events = match db {
            Db::Postgres(pool) => {
                let ids: Vec<&str> = streams.iter().map(|s| s.aggregate_id.as_str()).collect();
                let after: Vec<i64> = streams
                    .iter()
                    .map(|s| i64::try_from(s.after).unwrap_or(i64::MAX))
                    .collect();
                let rows = sqlx::query(PG_EVENTS_AFTER)
                    .bind(A::TYPE)
                    .bind(ids)
                    .bind(after)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
                rows.iter()
                    .map(pg_event)
                    .collect::<Result<Vec<_>, sqlx::Error>>()
                    .map_err(|e| PersistenceError::DeserializationError(Box::new(e)))?
            }
            // One writer, in-process queries: one indexed read per stream is cheap enough,
            // and opening happens once for all of them below.
            Db::Sqlite(_) => {
                let mut all = Vec::new();
                for stream in streams {
                    all.extend(
                        self.raw_last_events::<A>(&stream.aggregate_id, stream.after)
                            .await?,
                    );
                }
                all
            }
        };
        self.open(events).await
    }

    /// Seals and inserts `events` (of any number of streams of `A`) in `tx`. Nothing is
    /// visible until the caller commits; then it must call [`EventRepository::appended`].
    pub async fn append_in<A: Aggregate>(
        &self,
        tx: &mut DbTx,
        events: Vec<SerializedEvent>,
    ) -> Result<(), AppendError> {
        let sealed = self.seal_batch(events).await?;
        self.insert_sealed::<A>(tx, &sealed).await
    }

    /// The first half of [`Self::append_in`]: seals the events, touching no transaction (a
    /// pipelined writer seals the next batch while the current one commits).
    pub async fn seal_batch(
        &self,
        events: Vec<SerializedEvent>,
    ) -> Result<SealedBatch, AppendError> {
        if events.is_empty() {
            return Ok(SealedBatch(events));
        }
        self.seal_owned(events)
            .await
            .map(SealedBatch)
            .map_err(AppendError::Persistence)
    }

    /// The second half of [`Self::append_in`].
    pub async fn insert_sealed<A: Aggregate>(
        &self,
        tx: &mut DbTx,
        sealed: &SealedBatch,
    ) -> Result<(), AppendError> {
        let SealedBatch(sealed) = sealed;
        if sealed.is_empty() {
            return Ok(());
        }
        let result = match tx {
            DbTx::Postgres(tx) => {
                let n = sealed.len();
                let (mut types, mut ids, mut sequences) = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                let (mut kinds, mut versions, mut payloads, mut metadata) = (
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                    Vec::with_capacity(n),
                );
                for e in sealed {
                    types.push(e.aggregate_type.as_str());
                    ids.push(e.aggregate_id.as_str());
                    sequences.push(i64::try_from(e.sequence).unwrap_or(i64::MAX));
                    kinds.push(e.event_type.as_str());
                    versions.push(e.event_version.as_str());
                    payloads.push(sqlx::types::Json(&e.payload));
                    metadata.push(sqlx::types::Json(&e.metadata));
                }
                sqlx::query(PG_INSERT)
                    .bind(types)
                    .bind(ids)
                    .bind(sequences)
                    .bind(kinds)
                    .bind(versions)
                    .bind(payloads)
                    .bind(metadata)
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
            }
            DbTx::Sqlite(tx) => {
                let mut result = Ok(());
                // Rows per statement stay under SQLite's variable limit (7 per row).
                for chunk in sealed.chunks(100) {
                    let rows: Vec<String> = (0..chunk.len())
                        .map(|r| {
                            let b = r * 7;
                            format!(
                                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                                b + 1,
                                b + 2,
                                b + 3,
                                b + 4,
                                b + 5,
                                b + 6,
                                b + 7
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES {}",
                        rows.join(", ")
                    );
                    let mut query = sqlx::query(&sql);
                    for e in chunk {
                        query = query
                            .bind(&e.aggregate_type)
                            .bind(&e.aggregate_id)
                            .bind(i64::try_from(e.sequence).unwrap_or(i64::MAX))
                            .bind(&e.event_type)
                            .bind(&e.event_version)
                            .bind(e.payload.to_string())
                            .bind(e.metadata.to_string());
                    }
                    result = query.execute(&mut **tx).await.map(|_| ());
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        result.map_err(|error| match &error {
            sqlx::Error::Database(db)
                if matches!(
                    db.code().as_deref(),
                    Some(PG_UNIQUE_VIOLATION) | Some(SQLITE_CONSTRAINT_UNIQUE)
                ) =>
            {
                metrics::counter!("lyo_event_append_conflicts_total", "aggregate_type" => A::TYPE)
                    .increment(1);
                AppendError::Conflict
            }
            _ => AppendError::Database(error),
        })
    }
}

fn pg_event(row: &sqlx::postgres::PgRow) -> Result<SerializedEvent, sqlx::Error> {
    let sequence: i64 = row.try_get("sequence")?;
    Ok(SerializedEvent::new(
        row.try_get("aggregate_id")?,
        usize::try_from(sequence).unwrap_or_default(),
        row.try_get("aggregate_type")?,
        row.try_get("event_type")?,
        row.try_get("event_version")?,
        row.try_get("payload")?,
        row.try_get("metadata")?,
    ))
}
