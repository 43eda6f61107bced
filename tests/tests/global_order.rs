//! The global order never skips an event, also when transactions commit out of position order.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use async_trait::async_trait;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::CqrsFramework;
use lyo_application::event_log::{EventLog, Position, RecordedEvent, StoreError};

use lyo_application::projection::runner::{ProjectionRunner, RunnerConfig};
use lyo_application::projection::Projector;
use lyo_domain::ids::TenantId;
use lyo_infrastructure::db::{Arg, Db, DbTx};
use lyo_infrastructure::event_store::{AppendSignal, Selection, SqlEventLog};
use lyo_infrastructure::projection::{AfterCommit, ReadModel, SqlLeaseStore, SqlProjector};
use lyo_tests::ledger::{Ledger, LedgerCommand};
use lyo_tests::{eventually, on_both_backends, platform, read_log, Backend, TestDb};
use rand::Rng;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WRITERS: usize = 8;
const HELD_OPEN_PER_WRITER: usize = 50;
const COMMANDS_PER_WRITER: usize = 40;
const EVENTS_PER_COMMAND: usize = 5;
const TOTAL: usize = WRITERS * (HELD_OPEN_PER_WRITER + COMMANDS_PER_WRITER * EVENTS_PER_COMMAND);

/// Records every event id it is given, duplicates included.
struct Seen;

#[async_trait]
impl ReadModel for Seen {
    fn name(&self) -> &'static str {
        "test_seen"
    }
    fn tables(&self) -> &'static [&'static str] {
        &["test_seen"]
    }
    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        for event in events {
            tx.execute(
                "INSERT INTO test_seen (event_id) VALUES ($1)",
                &[Arg::Text(event.event_id.to_string())],
            )
            .await?;
        }
        Ok(None)
    }
}

fn raw_insert_sql(db: &Db) -> &'static str {
    match db {
        Db::Postgres(_) => "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                            VALUES ('Raw', $1, 1, 'RawAppended', '1', '{}'::jsonb, $2::jsonb)",
        Db::Sqlite(_) => "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                          VALUES ('Raw', $1, 1, 'RawAppended', '1', '{}', $2)",
    }
}

/// Inserts one event as the first write of a transaction, holds the transaction open for
/// `hold`, then commits: later transactions take later positions but commit first.
async fn append_held_open(db: &Db, metadata: &str, hold: Duration) {
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        raw_insert_sql(db),
        &[
            Arg::Text(uuid::Uuid::new_v4().to_string()),
            Arg::Text(metadata.into()),
        ],
    )
    .await
    .unwrap();
    tokio::time::sleep(hold).await;
    tx.commit().await.unwrap();
}

on_both_backends!(a_projector_sees_every_event_exactly_once_under_concurrent_appends);

async fn a_projector_sees_every_event_exactly_once_under_concurrent_appends(backend: Backend) {
    let test_db = TestDb::migrated(backend).await;
    let platform = platform(&test_db, &[]).await;
    platform
        .db
        .execute("CREATE TABLE test_seen (event_id TEXT NOT NULL)", &[])
        .await
        .unwrap();
    let projector: Arc<dyn Projector> = Arc::new(SqlProjector::new(platform.db.clone(), Seen));
    let runner = ProjectionRunner::new(
        projector.clone(),
        platform.log.clone(),
        Arc::new(SqlLeaseStore::new(platform.db.clone())),
        RunnerConfig {
            batch_size: 37,
            lease_ttl: Duration::from_secs(30),
            idle_wait: Duration::from_millis(50),
            owner: "test".into(),
            pace: Duration::ZERO,
        },
    );
    let cancel = CancellationToken::new();
    let running = tokio::spawn(runner.run(cancel.clone()));

    let tenant = TenantId::new();
    let metadata = lyo_tests::system_metadata(tenant);
    let metadata_json = serde_json::to_string(&metadata.to_map()).unwrap();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let db = platform.db.clone();
        let repository = platform.repository.clone();
        let metadata_json = metadata_json.clone();
        let metadata = metadata.to_map();
        writers.push(tokio::spawn(async move {
            let cqrs = CqrsFramework::new(
                PersistedEventStore::<_, Ledger>::new_event_store(repository),
                vec![],
                (),
            );
            let mut held = 0;
            let mut commands = 0;
            while held < HELD_OPEN_PER_WRITER || commands < COMMANDS_PER_WRITER {
                let hold_next = rand::thread_rng().gen_bool(0.5);
                if held < HELD_OPEN_PER_WRITER && (hold_next || commands == COMMANDS_PER_WRITER) {
                    let hold = Duration::from_millis(rand::thread_rng().gen_range(0..15));
                    append_held_open(&db, &metadata_json, hold).await;
                    held += 1;
                } else {
                    cqrs.execute_with_metadata(
                        &format!("ledger-{writer}"),
                        LedgerCommand::Deposit {
                            amount: 1,
                            times: EVENTS_PER_COMMAND,
                        },
                        metadata.clone(),
                    )
                    .await
                    .unwrap();
                    commands += 1;
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }

    let db = platform.db.clone();
    eventually(
        Duration::from_secs(60),
        "the projector to see every event",
        || {
            let db = db.clone();
            async move { seen_counts(&db).await.0 >= TOTAL as i64 }
        },
    )
    .await;
    cancel.cancel();
    running.await.unwrap();

    let (seen, distinct) = seen_counts(&platform.db).await;
    assert_eq!(
        (seen, distinct),
        (TOTAL as i64, TOTAL as i64),
        "every event exactly once"
    );
    let stored: HashSet<String> = read_log(platform.log.as_ref(), TOTAL)
        .await
        .iter()
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(stored.len(), TOTAL);
    let checkpoint = projector.checkpoint().await.unwrap();
    let after = platform.log.count_after(checkpoint).await.unwrap();
    assert_eq!(after, 0, "the checkpoint ends at the last event");
}

async fn seen_counts(db: &Db) -> (i64, i64) {
    const SQL: &str = "SELECT count(*), count(DISTINCT event_id) FROM test_seen";
    match db {
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_one(pool).await.unwrap(),
    }
}

/// The read side many event stores get wrong: plain position order.
struct PositionOrderLog(Db);

#[async_trait]
impl EventLog for PositionOrderLog {
    async fn read_after(
        &self,
        after: Position,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let Db::Postgres(pool) = &self.0 else {
            unreachable!("Postgres only")
        };
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(after.position)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .unwrap();
        Ok(rows
            .into_iter()
            .map(|(position,)| RecordedEvent {
                at: Position {
                    transaction_id: 0,
                    position,
                },
                event_id: uuid::Uuid::nil(),
                recorded_at_micros: 0,
                tenant_id: String::new(),
                aggregate_type: String::new(),
                aggregate_id: String::new(),
                sequence: 0,
                event_type: String::new(),
                event_version: String::new(),
                payload: serde_json::Value::Null,
                metadata: serde_json::Value::Null,
            })
            .collect())
    }
    async fn count_after(&self, _: Position) -> Result<u64, StoreError> {
        Ok(0)
    }
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        tokio::sync::watch::channel(0).1
    }
}

/// Why the ordering above matters, shown deterministically on Postgres: a transaction takes
/// position p and commits after another one took and committed p+1. A position-order reader
/// checkpoints at p+1 and never sees p; the real log holds p+1 back until p is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_commit_is_skipped_by_position_order_but_not_by_the_log() {
    let test_db = TestDb::migrated(Backend::Postgres).await;
    let platform = platform(&test_db, &[]).await;
    let metadata = serde_json::json!({ "tenant_id": TenantId::new().to_string() }).to_string();
    let naive = PositionOrderLog(platform.db.clone());

    let mut early = platform.db.begin().await.unwrap();
    early
        .execute(
            raw_insert_sql(&platform.db),
            &[Arg::Text("early".into()), Arg::Text(metadata.clone())],
        )
        .await
        .unwrap();
    append_held_open(&platform.db, &metadata, Duration::ZERO).await;

    let naive_first = naive.read_after(Position::START, 100).await.unwrap();
    assert_eq!(
        naive_first.len(),
        1,
        "position order reads the later event at once"
    );
    let naive_checkpoint = naive_first[0].at;
    assert!(
        platform
            .log
            .read_after(Position::START, 100)
            .await
            .unwrap()
            .is_empty(),
        "the log holds the later event back while an earlier transaction is open"
    );

    early.commit().await.unwrap();
    let naive_rest = naive.read_after(naive_checkpoint, 100).await.unwrap();
    assert!(
        naive_rest.is_empty(),
        "position order has skipped the early event for good"
    );
    let all = read_log(platform.log.as_ref(), 2).await;
    assert_eq!(all.len(), 2, "the log delivers both events");
    assert_eq!(
        all[0].aggregate_id, "early",
        "in (transaction, position) order"
    );
}

/// A reader given only some events moves its checkpoint past the others, but never past an
/// event of a transaction that is still open, whatever that event is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_of_some_events_does_not_move_past_an_open_transaction() {
    let test_db = TestDb::migrated(Backend::Postgres).await;
    let platform = platform(&test_db, &[]).await;
    let metadata = serde_json::json!({ "tenant_id": TenantId::new().to_string() }).to_string();
    let cancel = CancellationToken::new();
    let signal = AppendSignal::start(&platform.db, cancel.clone());
    let wanted =
        SqlEventLog::new(platform.db.clone(), signal).with_only(Selection::of(&["Wanted"]));
    const INSERT: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                          VALUES ($1, $2, 1, 'RawAppended', '1', '{}'::jsonb, $3::jsonb)";
    let args = |aggregate: &str, id: &str| {
        [
            Arg::Text(aggregate.into()),
            Arg::Text(id.into()),
            Arg::Text(metadata.clone()),
        ]
    };

    // A wanted event in a transaction left open, then an unwanted one committed after it.
    let mut early = platform.db.begin().await.unwrap();
    early
        .execute(INSERT, &args("Wanted", "early"))
        .await
        .unwrap();
    platform
        .db
        .execute(INSERT, &args("Other", "late"))
        .await
        .unwrap();
    let (events, to) = wanted.read_batch(Position::START, 100).await.unwrap();
    assert!(events.is_empty());
    assert_eq!(
        to,
        Position::START,
        "the checkpoint stays behind the open transaction"
    );

    early.commit().await.unwrap();
    // Other tests' open transactions on the same server may hold the horizon for a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (events, to) = loop {
        let (events, to) = wanted.read_batch(Position::START, 100).await.unwrap();
        if !events.is_empty() || std::time::Instant::now() > deadline {
            break (events, to);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, ["early"]);
    let all = read_log(platform.log.as_ref(), 2).await;
    assert_eq!(
        to, all[1].at,
        "past the unwanted event, which committed first"
    );

    // After it, only its own events concern the reader: it has nothing to wait for.
    platform
        .db
        .execute(INSERT, &args("Other", "later"))
        .await
        .unwrap();
    assert!(platform.log.any_after(to).await.unwrap());
    assert!(!wanted.any_after(to).await.unwrap());
    platform
        .db
        .execute(INSERT, &args("Wanted", "latest"))
        .await
        .unwrap();
    assert!(wanted.any_after(to).await.unwrap());
    cancel.cancel();
}
