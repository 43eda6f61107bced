//! Conformance of the event store: the same tests on Postgres and SQLite.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, CqrsFramework, EventStore};
use lyo_application::event_log::{EventLog, Position};
use lyo_application::metadata::{Actor, ActorKind, EventMetadata};
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_infrastructure::event_store::{AppendSignal, EventRepository, Selection, SqlEventLog};
use lyo_tests::ledger::{Ledger, LedgerCommand, LedgerError};
use lyo_tests::{on_both_backends, platform, Backend, TestDb};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

type Store = PersistedEventStore<EventRepository, Ledger>;

fn metadata(tenant: TenantId) -> EventMetadata {
    EventMetadata {
        tenant_id: tenant,
        actor: Actor {
            kind: ActorKind::Staff,
            id: "staff-1".into(),
        },
        correlation_id: "wamid.HBgLMzkzNDc".into(),
        causation_id: Some("cause-1".into()),
        request_id: Some("req-1".into()),
    }
}

fn cqrs(repository: &EventRepository) -> CqrsFramework<Ledger, Store> {
    CqrsFramework::new(Store::new_event_store(repository.clone()), vec![], ())
}

fn open(subject: SubjectId) -> LedgerCommand {
    LedgerCommand::Open {
        owner: Personal::new(subject, "Giulia".into()),
    }
}

on_both_backends!(
    appended_events_load_back_in_order,
    two_writers_on_one_aggregate_exactly_one_wins,
    metadata_round_trips_with_event_id_time_and_tenant,
    a_command_without_a_tenant_is_refused,
    a_long_stream_loads_completely,
    a_domain_error_appends_nothing,
    a_log_of_some_events_passes_over_the_others,
);

async fn a_log_of_some_events_passes_over_the_others(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let cqrs = cqrs(&platform.repository);
    let meta = metadata(TenantId::new()).to_map();
    for ledger in ["ledger-1", "ledger-2"] {
        cqrs.execute_with_metadata(ledger, open(SubjectId::new()), meta.clone())
            .await
            .unwrap();
        let deposit = LedgerCommand::Deposit {
            amount: 1,
            times: 4,
        };
        cqrs.execute_with_metadata(ledger, deposit, meta.clone())
            .await
            .unwrap();
    }
    // Other tests' open transactions on the same server may hide the events for a moment.
    let log = platform.log.clone();
    lyo_tests::eventually(Duration::from_secs(30), "all ten events readable", || {
        let log = log.clone();
        async move { log.read_after(Position::START, 100).await.unwrap().len() == 10 }
    })
    .await;
    let all = platform.log.read_after(Position::START, 100).await.unwrap();
    let last = all.last().unwrap().at;

    let cancel = CancellationToken::new();
    let signal = AppendSignal::start(&platform.db, cancel.clone());
    let opened = SqlEventLog::new(platform.db.clone(), signal).with_only(Selection {
        aggregates: &[],
        events: &["LedgerOpened"],
    });
    // Both openings, and the checkpoint may move past every deposit.
    let (events, to) = opened.read_batch(Position::START, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["LedgerOpened", "LedgerOpened"]);
    assert_eq!(to, last);
    assert_eq!(opened.read_batch(to, 100).await.unwrap(), (Vec::new(), to));
    // A full batch stops at its last event: nothing after it is passed over unread.
    let (first, to) = opened.read_batch(Position::START, 1).await.unwrap();
    assert_eq!((first.len(), to), (1, first[0].at));
    let (second, to) = opened.read_batch(to, 1).await.unwrap();
    assert_eq!(
        (second[0].aggregate_id.as_str(), to),
        ("ledger-2", second[0].at)
    );
    assert_eq!(opened.read_batch(to, 1).await.unwrap(), (Vec::new(), last));
    cancel.cancel();
}

async fn appended_events_load_back_in_order(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let cqrs = cqrs(&platform.repository);
    let tenant = TenantId::new();
    let meta = metadata(tenant).to_map();
    cqrs.execute_with_metadata("ledger-1", open(SubjectId::new()), meta.clone())
        .await
        .unwrap();
    cqrs.execute_with_metadata(
        "ledger-1",
        LedgerCommand::Deposit {
            amount: 5,
            times: 10,
        },
        meta,
    )
    .await
    .unwrap();

    let store = Store::new_event_store(platform.repository.clone());
    let events = store.load_events("ledger-1").await.unwrap();
    let sequences: Vec<usize> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=11).collect::<Vec<_>>());
    let ledger = store.load_aggregate("ledger-1").await.unwrap();
    let ledger = ledger.aggregate;
    assert_eq!((ledger.balance, ledger.deposits), (50, 10));
}

async fn two_writers_on_one_aggregate_exactly_one_wins(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let store = Store::new_event_store(platform.repository.clone());
    let meta = metadata(TenantId::new()).to_map();
    cqrs(&platform.repository)
        .execute_with_metadata("ledger-1", open(SubjectId::new()), meta.clone())
        .await
        .unwrap();

    for round in 0..10 {
        // Both writers decide on the same version of the aggregate.
        let first = store.load_aggregate("ledger-1").await.unwrap();
        let second = store.load_aggregate("ledger-1").await.unwrap();
        let event = lyo_tests::ledger::LedgerEvent::Deposited { amount: round };
        let (a, b) = tokio::join!(
            store.commit(vec![event.clone()], first, meta.clone()),
            store.commit(vec![event], second, meta.clone()),
        );
        let conflicts = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(AggregateError::AggregateConflict)))
            .count();
        assert!(
            a.is_ok() ^ b.is_ok(),
            "exactly one writer wins: {a:?} {b:?}"
        );
        assert_eq!(conflicts, 1, "the loser sees a conflict");
    }
    let ledger = store.load_aggregate("ledger-1").await.unwrap().aggregate;
    assert_eq!(ledger.deposits, 10);
}

async fn metadata_round_trips_with_event_id_time_and_tenant(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let tenant = TenantId::new();
    let meta = metadata(tenant);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    cqrs(&platform.repository)
        .execute_with_metadata(
            "ledger-1",
            LedgerCommand::Deposit {
                amount: 1,
                times: 3,
            },
            meta.to_map(),
        )
        .await
        .unwrap();

    let events = lyo_tests::read_log(platform.log.as_ref(), 3).await;
    assert_eq!(events.len(), 3);
    let mut ids = std::collections::HashSet::new();
    for event in &events {
        assert_eq!(EventMetadata::from_json(&event.metadata).unwrap(), meta);
        assert_eq!(event.tenant_id, tenant.to_string());
        assert_eq!(event.aggregate_type, "Ledger");
        assert_eq!(event.event_type, "LedgerDeposited");
        assert_eq!(event.event_version, "1");
        // Within a minute of the append (clock resolution differs per backend).
        assert!((event.recorded_at_micros - before).abs() < 60_000_000);
        assert!(ids.insert(event.event_id), "event ids are unique");
    }
    let positions: Vec<Position> = events.iter().map(|e| e.at).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "the log is read in global order");

    let envelopes = Store::new_event_store(platform.repository.clone())
        .load_events("ledger-1")
        .await
        .unwrap();
    assert_eq!(
        EventMetadata::from_map(&envelopes[0].metadata).unwrap(),
        meta
    );
}

async fn a_command_without_a_tenant_is_refused(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let result = cqrs(&platform.repository)
        .execute(
            "ledger-1",
            LedgerCommand::Deposit {
                amount: 1,
                times: 1,
            },
        )
        .await;
    assert!(
        result.is_err(),
        "an event without tenant metadata must not be stored"
    );
    assert_eq!(platform.log.count_after(Position::START).await.unwrap(), 0);
    // The table itself refuses it, whatever writes to it.
    let raw = platform
        .db
        .execute(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ('Raw', 'r', 1, 'RawAppended', '1', '{}', '{}')",
            &[],
        )
        .await;
    assert!(
        raw.is_err(),
        "the events table accepts no row without a tenant"
    );
}

async fn a_long_stream_loads_completely(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let cqrs = cqrs(&platform.repository);
    let meta = metadata(TenantId::new()).to_map();
    for _ in 0..20 {
        cqrs.execute_with_metadata(
            "ledger-1",
            LedgerCommand::Deposit {
                amount: 2,
                times: 100,
            },
            meta.clone(),
        )
        .await
        .unwrap();
    }
    let ledger = Store::new_event_store(platform.repository.clone())
        .load_aggregate("ledger-1")
        .await
        .unwrap()
        .aggregate;
    assert_eq!((ledger.deposits, ledger.balance), (2000, 4000));
    assert_eq!(
        platform.log.count_after(Position::START).await.unwrap(),
        2000
    );
    // The lag gauge's bounded count stops at its cap, and counts exactly below it.
    for (cap, counted) in [(10, 10), (2000, 2000), (5000, 2000)] {
        let up_to = platform.log.count_after_up_to(Position::START, cap);
        assert_eq!(up_to.await.unwrap(), counted, "cap {cap}");
    }
}

async fn a_domain_error_appends_nothing(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let cqrs = cqrs(&platform.repository);
    let meta = metadata(TenantId::new()).to_map();
    cqrs.execute_with_metadata("ledger-1", open(SubjectId::new()), meta.clone())
        .await
        .unwrap();
    let again = cqrs
        .execute_with_metadata("ledger-1", open(SubjectId::new()), meta)
        .await;
    assert!(matches!(
        again,
        Err(AggregateError::UserError(LedgerError::AlreadyOpen))
    ));
    assert_eq!(platform.log.count_after(Position::START).await.unwrap(), 1);
}

/// The pool lends a connection used within the last second without a ping
/// (`CHECK_IDLE_AFTER` in `infrastructure/src/db.rs`); one idle for longer is pinged, so a
/// connection the server dropped while it sat unused is replaced, not handed out dead.
#[tokio::test]
async fn a_connection_dropped_while_idle_is_replaced_before_it_is_lent() {
    let test_db = TestDb::migrated(Backend::Postgres).await;
    let db = lyo_infrastructure::db::Db::connect(&test_db.url, 1)
        .await
        .unwrap();
    db.execute("SELECT 1", &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        test_db.terminate_connections().await,
        1,
        "the pool's one connection was dropped"
    );
    db.execute("SELECT 1", &[])
        .await
        .expect("the dead connection is replaced");
    db.close().await;
}
