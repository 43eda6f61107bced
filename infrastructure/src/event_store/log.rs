//! The global event log, read in an order that never skips an event.
//!
//! Postgres: only rows whose writing transaction is older than every transaction still in
//! flight (`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`) are read, ordered and
//! checkpointed by (transaction_id, position). A transaction that is still open may hold a
//! smaller position, but never a smaller transaction id than one below the horizon.
//! SQLite: one writer at a time, so the rowid `position` order is already commit order.
//!
//! A reader given only some events (`with_only`) first finds the last event below the horizon:
//! every event up to it, in that order, belongs to a finished transaction. It reads its events
//! up to there and may move its checkpoint there, past the events it was not given, which it
//! then never reads; a full batch stops at its own last event instead.

use super::signal::AppendSignal;
use crate::db::Db;
use async_trait::async_trait;
use lyo_application::event_log::{EventLog, Position, RecordedEvent, StoreError};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct SqlEventLog {
    db: Db,
    signal: AppendSignal,
    /// The read statement: all payloads, or only those of some events; when `bounded`, of
    /// some events only, up to the last readable event, whatever it is (`read_batch`).
    read: String,
    /// Whether the log returns only some events (`with_only`).
    bounded: bool,
    /// The statement of `any_after`: any event, or when `bounded` any of the log's own.
    any: String,
    /// Appends of which events wake a reader at once; `None`: all.
    wakes: Option<Selection>,
    /// Whether appends that also wrote the outbound queue's rows wake it (with `wakes`).
    wakes_when_queued: bool,
}

const PG_READ: &str = "
SELECT transaction_id::text::bigint AS transaction_id, position, event_id,
       (extract(epoch FROM recorded_at) * 1000000)::bigint AS recorded_at,
       tenant_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
  FROM events
 WHERE (transaction_id, position) > ($1::text::xid8, $2)
   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
 -- Qualified: the bare name would sort by the bigint output column and miss the index.
 ORDER BY events.transaction_id, events.position
 LIMIT $3";

const PG_COUNT_UP_TO: &str = "SELECT count(*) FROM (SELECT 1 FROM events
    WHERE (transaction_id, position) > ($1::text::xid8, $2)
    ORDER BY events.transaction_id, events.position LIMIT $3) AS t";

const SQLITE_READ: &str = "
SELECT 0 AS transaction_id, position, event_id, recorded_at,
       tenant_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
  FROM events
 WHERE position > $1
 ORDER BY position
 LIMIT $2";

const SQLITE_COUNT_UP_TO: &str =
    "SELECT count(*) FROM (SELECT 1 FROM events WHERE position > $1 ORDER BY position LIMIT $2)";

// The first event in index order, not EXISTS: for EXISTS the planner may pick a scan of the
// table from its start, which reads every event before the checkpoint.
const PG_ANY: &str = "SELECT 1 FROM events WHERE (transaction_id, position) > ($1::text::xid8, $2)
 ORDER BY events.transaction_id, events.position LIMIT 1";
const SQLITE_ANY: &str = "SELECT 1 FROM events WHERE position > $1 ORDER BY position LIMIT 1";

// The last event that may be read: every event up to it, in global order, belongs to a
// finished transaction.
const PG_LAST: &str = "SELECT transaction_id::text::bigint, position FROM events
 WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1";
const SQLITE_LAST: &str = "SELECT 0, position FROM events ORDER BY position DESC LIMIT 1";

/// Some events: every event of `aggregates`, and the events named in `events` whatever their
/// aggregate. A reader given only these (`with_only`), or the payloads of only these
/// (`with_payloads_of`).
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub aggregates: &'static [&'static str],
    pub events: &'static [&'static str],
}

impl Selection {
    /// Every event of `aggregates`, and no other.
    pub const fn of(aggregates: &'static [&'static str]) -> Self {
        Self {
            aggregates,
            events: &[],
        }
    }
}

/// The SQL condition that holds for the events of `selection` (identifiers from the code;
/// quoted all the same).
fn condition(selection: Selection) -> String {
    let listed = |column: &str, names: &[&str]| {
        let names: Vec<String> = names
            .iter()
            .map(|t| format!("'{}'", t.replace('\'', "''")))
            .collect();
        (!names.is_empty()).then(|| format!("{column} IN ({})", names.join(", ")))
    };
    let conditions: Vec<String> = [
        listed("aggregate_type", selection.aggregates),
        listed("event_type", selection.events),
    ]
    .into_iter()
    .flatten()
    .collect();
    if conditions.is_empty() {
        "false".to_string()
    } else {
        conditions.join(" OR ")
    }
}

/// `read` with its payload and metadata columns replaced by `null` except for the events of
/// `payloads`.
fn only_of(read: &str, payloads: Selection) -> String {
    let condition = condition(payloads);
    let only =
        |column: &str| format!("CASE WHEN {condition} THEN {column} ELSE 'null' END AS {column}");
    read.replacen(
        ", payload, metadata\n",
        &format!(", {}, {}\n", only("payload"), only("metadata")),
        1,
    )
}

/// `read` returning only the events for which `condition` holds, up to an event known to be
/// readable (Postgres: `$4`, `$5`; SQLite: `$3`) instead of up to the horizon; a `read` that
/// already does gets the further condition.
fn rows_where(read: &str, condition: &str) -> String {
    const PG_HORIZON: &str = "   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())\n";
    const PG_UPTO: &str = "   AND (transaction_id, position) <= ($4::text::xid8, $5)\n";
    const SQLITE_AFTER: &str = " WHERE position > $1\n";
    const SQLITE_UPTO: &str = " WHERE position > $1 AND position <= $3\n";
    let (pg, sqlite) = if read.contains(PG_UPTO) || read.contains(SQLITE_UPTO) {
        (PG_UPTO, SQLITE_UPTO)
    } else {
        (PG_HORIZON, SQLITE_AFTER)
    };
    read.replacen(pg, &format!("{PG_UPTO}   AND ({condition})\n"), 1)
        .replacen(sqlite, &format!("{SQLITE_UPTO}   AND ({condition})\n"), 1)
}

pub(crate) fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => StoreError::Unavailable(Box::new(error)),
        other => StoreError::Unexpected(Box::new(other)),
    }
}

impl SqlEventLog {
    pub fn new(db: Db, signal: AppendSignal) -> Self {
        let (read, any) = match db {
            Db::Postgres(_) => (PG_READ, PG_ANY),
            Db::Sqlite(_) => (SQLITE_READ, SQLITE_ANY),
        };
        Self {
            db,
            signal,
            read: read.to_string(),
            bounded: false,
            any: any.to_string(),
            wakes: None,
            wakes_when_queued: true,
        }
    }

    /// The same log, returning only the events of `selection`; the others are passed over
    /// (`read_batch` moves past them), not read, and `any_after` asks about these only.
    pub fn with_only(&self, selection: Selection) -> Self {
        self.restricted(&condition(selection))
    }

    /// On Postgres, the same log without the events of the transactions listed in `table`
    /// (its `transaction_id` column), passed over as by [`Self::with_only`]; on SQLite, where
    /// nobody lists any, the same log.
    pub fn without_transactions_in(&self, table: &str) -> Self {
        match self.db {
            Db::Postgres(_) => self.restricted(&format!(
                "NOT EXISTS (SELECT 1 FROM {table} w WHERE w.transaction_id = events.transaction_id)"
            )),
            Db::Sqlite(_) => self.clone(),
        }
    }

    fn restricted(&self, condition: &str) -> Self {
        Self {
            read: rows_where(&self.read, condition),
            bounded: true,
            any: self
                .any
                .replacen(" ORDER BY", &format!(" AND ({condition}) ORDER BY"), 1),
            ..self.clone()
        }
    }

    /// The same log, returning payloads and metadata only for the events of `payloads` (a
    /// JSON `null` for the rest), for readers that look at nothing else.
    pub fn with_payloads_of(&self, payloads: Selection) -> Self {
        Self {
            read: only_of(&self.read, payloads),
            ..self.clone()
        }
    }

    /// The same log, whose subscribers are woken at once only by appends in this process of
    /// events of `selection` (other events reach them at their idle wait).
    pub fn with_wakes_for(&self, selection: Selection) -> Self {
        Self {
            wakes: Some(selection),
            ..self.clone()
        }
    }

    /// The same log, whose subscribers are not woken by appends that also wrote the outbound
    /// queue's rows (`Appended::Events`); they reach them at their idle wait or with the next
    /// append that wakes them. For the outbound queue's own projector. Only together with
    /// [`Self::with_wakes_for`]: a log woken by every append stays so.
    pub fn without_wakes_when_queued(&self) -> Self {
        Self {
            wakes_when_queued: false,
            ..self.clone()
        }
    }

    /// Runs a read statement: events after `after`, at most `limit`, and with `upto` (a
    /// statement of [`rows_where`]) none after it.
    async fn fetch(
        &self,
        sql: &str,
        after: Position,
        limit: u32,
        upto: Option<Position>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match &self.db {
            Db::Postgres(pool) => {
                let mut query = sqlx::query(sql)
                    .bind(after.transaction_id.to_string())
                    .bind(after.position)
                    .bind(i64::from(limit));
                if let Some(upto) = upto {
                    query = query
                        .bind(upto.transaction_id.to_string())
                        .bind(upto.position);
                }
                let rows = query.fetch_all(pool).await.map_err(store_error)?;
                rows.iter()
                    .map(|row| Self::decode(row, row.try_get("event_id")?))
                    .collect::<Result<_, _>>()
                    .map_err(store_error)
            }
            Db::Sqlite(pool) => {
                let mut query = sqlx::query(sql).bind(after.position).bind(i64::from(limit));
                if let Some(upto) = upto {
                    query = query.bind(upto.position);
                }
                let rows = query.fetch_all(pool).await.map_err(store_error)?;
                rows.iter()
                    .map(|row| {
                        let id: String = row.try_get("event_id")?;
                        let id =
                            Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        Self::decode(row, id)
                    })
                    .collect::<Result<_, _>>()
                    .map_err(store_error)
            }
        }
    }

    fn decode<R: Row>(row: &R, event_id: Uuid) -> Result<RecordedEvent, sqlx::Error>
    where
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> Value: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'c> &'c str: sqlx::ColumnIndex<R>,
    {
        Ok(RecordedEvent {
            at: Position {
                transaction_id: row.try_get("transaction_id")?,
                position: row.try_get("position")?,
            },
            event_id,
            recorded_at_micros: row.try_get("recorded_at")?,
            tenant_id: row.try_get("tenant_id")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
        })
    }
}

#[async_trait]
impl EventLog for SqlEventLog {
    async fn read_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if self.bounded {
            Ok(self.read_batch(after, limit).await?.0)
        } else {
            self.fetch(&self.read, after, limit, None).await
        }
    }

    async fn read_batch(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<(Vec<RecordedEvent>, Position), StoreError> {
        if limit == 0 {
            return Ok((Vec::new(), after));
        }
        if !self.bounded {
            let events = self.fetch(&self.read, after, limit, None).await?;
            let to = events.last().map_or(after, |e| e.at);
            return Ok((events, to));
        }
        let last: Option<(i64, i64)> = match &self.db {
            Db::Postgres(pool) => sqlx::query_as(PG_LAST).fetch_optional(pool).await,
            Db::Sqlite(pool) => sqlx::query_as(SQLITE_LAST).fetch_optional(pool).await,
        }
        .map_err(store_error)?;
        let last = last.map(|(transaction_id, position)| Position {
            transaction_id,
            position,
        });
        let Some(last) = last.filter(|last| *last > after) else {
            return Ok((Vec::new(), after));
        };
        let events = self.fetch(&self.read, after, limit, Some(last)).await?;
        // A full batch may stop short of `last`; otherwise everything up to it was read.
        let to = match events.last() {
            Some(event) if events.len() >= limit as usize => event.at,
            _ => last,
        };
        Ok((events, to))
    }

    async fn count_after(&self, after: Position) -> Result<u64, StoreError> {
        self.count_after_up_to(after, u64::MAX).await
    }

    async fn count_after_up_to(&self, after: Position, cap: u64) -> Result<u64, StoreError> {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        let count: i64 = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar(PG_COUNT_UP_TO)
                    .bind(after.transaction_id.to_string())
                    .bind(after.position)
                    .bind(cap)
                    .fetch_one(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_scalar(SQLITE_COUNT_UP_TO)
                    .bind(after.position)
                    .bind(cap)
                    .fetch_one(pool)
                    .await
            }
        }
        .map_err(store_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn any_after(&self, after: Position) -> Result<bool, StoreError> {
        match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar::<_, i32>(&self.any)
                    .bind(after.transaction_id.to_string())
                    .bind(after.position)
                    .fetch_optional(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_scalar::<_, i32>(&self.any)
                    .bind(after.position)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map(|row| row.is_some())
        .map_err(store_error)
    }

    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        match self.wakes {
            Some(selection) => self.signal.subscribe_to(selection, self.wakes_when_queued),
            None => self.signal.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filtered_read_keeps_payloads_of_the_listed_types_only() {
        for read in [PG_READ, SQLITE_READ] {
            let tenant = |events| Selection {
                aggregates: &["Tenant"],
                events,
            };
            let filtered = only_of(read, tenant(&[]));
            assert!(filtered.contains(
                "CASE WHEN aggregate_type IN ('Tenant') THEN payload ELSE 'null' END AS payload"
            ));
            assert!(filtered.contains("THEN metadata ELSE 'null' END AS metadata"));
            assert!(only_of(read, tenant(&["A", "B"])).contains(
                "CASE WHEN aggregate_type IN ('Tenant') OR event_type IN ('A', 'B') THEN payload"
            ));
            let nothing = Selection {
                aggregates: &[],
                events: &[],
            };
            assert!(only_of(read, nothing).contains("CASE WHEN false THEN payload"));
            let rows = rows_where(read, &condition(tenant(&["A"])));
            assert!(rows.contains("   AND (aggregate_type IN ('Tenant') OR event_type IN ('A'))\n"));
            assert!(!rows.contains("pg_snapshot_xmin"));
            assert!(rows.contains("<= ($4::text::xid8, $5)") || rows.contains("position <= $3"));
            // Both filters compose, in either order.
            let both = only_of(&rows, tenant(&[]));
            assert!(
                both.contains("THEN payload ELSE 'null'") && both.contains("event_type IN ('A')")
            );
            assert_eq!(
                rows_where(&only_of(read, tenant(&[])), &condition(tenant(&["A"]))),
                both
            );
            // A second restriction adds its condition to the first.
            let twice = rows_where(&rows, "x");
            assert!(
                twice.contains("   AND (x)\n") && twice.contains("('A'))\n"),
                "{twice}"
            );
            assert_eq!(twice.matches("<= ").count(), 1);
        }
    }
}
