//! The projection runtime: wake-ups, rebuilds, leases, status.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::CqrsFramework;
use lyo_api::platform::Platform;

use lyo_application::projection::runner::{ProjectionRunner, RunnerConfig};
use lyo_application::projection::status;
use lyo_domain::ids::TenantId;
use lyo_infrastructure::db::Db;
use lyo_tests::ledger::{Ledger, LedgerCommand};
use lyo_tests::{eventually, on_both_backends, platform, Backend, TestDb};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn deposit(platform: &Platform, tenant: TenantId, ledger: &str, times: usize) {
    let cqrs = CqrsFramework::new(
        PersistedEventStore::<_, Ledger>::new_event_store(platform.repository.clone()),
        vec![],
        (),
    );
    let metadata = lyo_tests::system_metadata(tenant);
    cqrs.execute_with_metadata(
        ledger,
        LedgerCommand::Deposit { amount: 1, times },
        metadata.to_map(),
    )
    .await
    .unwrap();
}

async fn counts(db: &Db) -> Vec<(String, String, i64)> {
    const SQL: &str = "SELECT tenant_id, event_type, count FROM event_counts ORDER BY 1, 2";
    match db {
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await.unwrap(),
    }
}

async fn total(db: &Db) -> i64 {
    counts(db).await.iter().map(|(_, _, n)| n).sum()
}

async fn wait_for_total(db: &Db, expected: i64) {
    wait_for_total_within(db, expected, Duration::from_secs(30)).await
}

async fn wait_for_total_within(db: &Db, expected: i64, limit: Duration) {
    let db = db.clone();
    eventually(limit, "event_counts to reach the expected total", || {
        let db = db.clone();
        async move { total(&db).await == expected }
    })
    .await;
}

on_both_backends!(
    a_projector_wakes_on_appends_not_on_a_timer,
    a_rebuild_equals_the_incremental_projection,
    one_process_holds_a_projector_and_another_takes_over_when_it_dies,
    status_reports_checkpoint_and_lag,
    an_idle_runner_replays_after_a_rebuild_from_another_process,
    a_paced_runner_waits_out_its_pace_before_reading,
);

async fn a_paced_runner_waits_out_its_pace_before_reading(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let paced = |pace| {
        ProjectionRunner::new(
            platform.projector("event_counts").unwrap(),
            platform.log.clone(),
            platform.leases.clone(),
            RunnerConfig {
                batch_size: 100,
                lease_ttl: Duration::from_secs(30),
                idle_wait: Duration::from_secs(3600),
                owner: "paced".into(),
                pace,
            },
        )
    };
    let tenant = TenantId::new();
    deposit(&platform, tenant, "ledger-1", 1).await;
    let cancel = CancellationToken::new();
    let running = tokio::spawn(paced(Duration::from_secs(3600)).run(cancel.clone()));
    // Its first pass is not paced: it reads at once, then (a few milliseconds later, after
    // finding nothing more) waits for appends.
    wait_for_total_within(&platform.db, 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    deposit(&platform, tenant, "ledger-1", 3).await;
    // Woken by the append, it waits out its pace (an hour) instead of reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(total(&platform.db).await, 1);
    // The pace gives way to shutdown.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    // Unpaced, the same runner reads an append as soon as it is woken (its idle wait is an
    // hour): once caught up, it reads the next append at once.
    let cancel = CancellationToken::new();
    let running = tokio::spawn(paced(Duration::ZERO).run(cancel.clone()));
    wait_for_total_within(&platform.db, 4, Duration::from_secs(10)).await;
    deposit(&platform, tenant, "ledger-1", 2).await;
    wait_for_total_within(&platform.db, 6, Duration::from_secs(10)).await;
    cancel.cancel();
    running.await.unwrap();
}

async fn an_idle_runner_replays_after_a_rebuild_from_another_process(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let server = platform(&db, &[("LYO_PROJECTOR_IDLE_WAIT_MS", "200")]).await;
    let cancel = CancellationToken::new();
    let running = tokio::spawn(
        server
            .runner(server.projector("event_counts").unwrap())
            .run(cancel.clone()),
    );
    deposit(&server, TenantId::new(), "ledger-1", 5).await;
    wait_for_total(&server.db, 5).await;

    // `lyo projections rebuild` in another process, while this one holds the lease and idles.
    let cli = platform(&db, &[]).await;
    cli.projector("event_counts")
        .unwrap()
        .reset()
        .await
        .unwrap();
    assert_eq!(total(&cli.db).await, 0);
    // No append follows: the idle runner must notice the reset by itself.
    wait_for_total(&server.db, 5).await;

    cancel.cancel();
    running.await.unwrap();
}

async fn a_projector_wakes_on_appends_not_on_a_timer(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    // An idle wait and a lease of an hour: only a wake-up signal can make the projector read
    // again within the few seconds this test waits.
    let reader = platform(
        &db,
        &[
            ("LYO_PROJECTOR_IDLE_WAIT_MS", "3600000"),
            ("LYO_PROJECTOR_LEASE_TTL_MS", "3600000"),
        ],
    )
    .await;
    let cancel = CancellationToken::new();
    let running = tokio::spawn(
        reader
            .runner(reader.projector("event_counts").unwrap())
            .run(cancel.clone()),
    );
    // Let it go idle first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // On Postgres the append comes from another "process" (its own pool, its own signal):
    // the wake-up must travel through LISTEN/NOTIFY. SQLite is single-process.
    let writer = match backend {
        Backend::Postgres => Some(platform(&db, &[]).await),
        Backend::Sqlite => None,
    };
    let tenant = TenantId::new();
    deposit(writer.as_ref().unwrap_or(&reader), tenant, "ledger-1", 3).await;
    wait_for_total_within(&reader.db, 3, Duration::from_secs(5)).await;
    deposit(writer.as_ref().unwrap_or(&reader), tenant, "ledger-1", 2).await;
    wait_for_total_within(&reader.db, 5, Duration::from_secs(5)).await;

    cancel.cancel();
    running.await.unwrap();
}

async fn a_rebuild_equals_the_incremental_projection(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_PROJECTOR_BATCH_SIZE", "7")]).await;
    let runner = platform.runner(platform.projector("event_counts").unwrap());
    let tenants = [TenantId::new(), TenantId::new(), TenantId::new()];
    for (round, tenant) in tenants.iter().cycle().take(12).enumerate() {
        deposit(&platform, *tenant, &format!("ledger-{round}"), round + 1).await;
        // Incremental: a catch-up after every append, in uneven batches.
        runner.catch_up().await.unwrap();
    }
    wait_for_total(&platform.db, (1..=12).sum()).await;
    let incremental = counts(&platform.db).await;

    let projector = platform.projector("event_counts").unwrap();
    projector.reset().await.unwrap();
    assert!(
        counts(&platform.db).await.is_empty(),
        "reset empties the read model"
    );
    runner.catch_up().await.unwrap();
    assert_eq!(counts(&platform.db).await, incremental);

    const TRUTH: &str =
        "SELECT tenant_id, event_type, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2";
    let truth: Vec<(String, String, i64)> = match &platform.db {
        Db::Postgres(pool) => sqlx::query_as(TRUTH).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(TRUTH).fetch_all(pool).await.unwrap(),
    };
    assert_eq!(incremental, truth);
}

async fn one_process_holds_a_projector_and_another_takes_over_when_it_dies(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let settings = [
        ("LYO_PROJECTOR_LEASE_TTL_MS", "600"),
        ("LYO_PROJECTOR_IDLE_WAIT_MS", "50"),
    ];
    let first = platform(&db, &settings).await;
    let second = platform(&db, &settings).await;
    let cancel = CancellationToken::new();
    let first_task = tokio::spawn(
        first
            .runner(first.projector("event_counts").unwrap())
            .run(cancel.clone()),
    );
    eventually(
        Duration::from_secs(10),
        "the first process to take the lease",
        || async {
            first
                .leases
                .holder("event_counts")
                .await
                .unwrap()
                .map(|h| h.owner)
                == Some(first.owner.clone())
        },
    )
    .await;
    let second_task = tokio::spawn(
        second
            .runner(second.projector("event_counts").unwrap())
            .run(cancel.clone()),
    );

    let tenant = TenantId::new();
    deposit(&first, tenant, "ledger-1", 40).await;
    wait_for_total(&first.db, 40).await;
    let holder = first.leases.holder("event_counts").await.unwrap().unwrap();
    assert_eq!(
        holder.owner, first.owner,
        "the lease stays with its holder while it lives"
    );

    // The first process dies: its runner stops without releasing anything.
    first_task.abort();
    let _ = first_task.await;
    deposit(&second, tenant, "ledger-1", 60).await;
    wait_for_total(&second.db, 100).await;
    let holder = second.leases.holder("event_counts").await.unwrap().unwrap();
    assert_eq!(holder.owner, second.owner, "the survivor took over");
    assert_eq!(total(&second.db).await, 100, "no event applied twice");

    cancel.cancel();
    second_task.await.unwrap();
}

async fn status_reports_checkpoint_and_lag(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let projector = platform.projector("event_counts").unwrap();
    deposit(&platform, TenantId::new(), "ledger-1", 25).await;
    let before = status(
        projector.as_ref(),
        platform.log.as_ref(),
        platform.leases.as_ref(),
        0,
    )
    .await
    .unwrap();
    assert_eq!((before.lag_events, before.checkpoint.position), (25, 0));
    eventually(
        Duration::from_secs(30),
        "the projector to catch up",
        || async {
            platform.runner(projector.clone()).catch_up().await.unwrap();
            status(
                projector.as_ref(),
                platform.log.as_ref(),
                platform.leases.as_ref(),
                0,
            )
            .await
            .unwrap()
            .lag_events
                == 0
        },
    )
    .await;
}
