//! Replies handed over (ADR 0010, Postgres): the inbox worker queues and claims the replies of
//! a batch in its own transaction and hands them to the dispatcher in memory, with no projector
//! pass and no claim of the dispatcher's own; the projector, reaching the same events later,
//! changes nothing, and a rebuild gives the same rows.
#![allow(clippy::unwrap_used)]

use lyo_api::platform::Platform;
use lyo_infrastructure::db::Db;
use lyo_infrastructure::outbound::{now_ms, store, OUTBOUND_QUEUE};
use lyo_infrastructure::whatsapp::SimulatedCustomer;
use lyo_tests::chat::{now, post_to, APP_SECRET};
use lyo_tests::graph::{Answer, FakeGraph};
use lyo_tests::outbound::{cloud_env, create_tenant, open_platform, replies, PHONE_NUMBER_ID};
use lyo_tests::{eventually, project_tenants, spawn_app, Backend, TestDb};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

/// A platform on Postgres sending to `graph`, its tenant, and the app serving webhooks. No
/// projector runs but the tenant read models, brought up to date once.
async fn open(graph: &FakeGraph) -> (TestDb, Platform, String, String) {
    open_with(graph, &[]).await
}

async fn open_with(
    graph: &FakeGraph,
    extra: &[(&str, &str)],
) -> (TestDb, Platform, String, String) {
    let db = TestDb::migrated(Backend::Postgres).await;
    let mut env = cloud_env(graph);
    env.push(("WHATSAPP_APP_SECRET".into(), APP_SECRET.into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let platform = open_platform(&db, &env).await;
    let tenant = create_tenant(&platform).await.to_string();
    project_tenants(&platform).await;
    let base = spawn_app(&platform).await;
    (db, platform, tenant, base)
}

/// Every row of `table`, as JSON text, in key order.
async fn rows(db: &Db, table: &str, key: &str) -> Vec<String> {
    let Db::Postgres(pool) = db else {
        panic!("Postgres only")
    };
    sqlx::query_scalar(&format!(
        "SELECT row_to_json(t)::text FROM {table} t ORDER BY {key}"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn claims(db: &Db) -> Vec<String> {
    rows(db, "outbound_claims", "reply_id").await
}

#[tokio::test]
async fn replies_go_from_the_inbox_worker_to_the_dispatcher_without_the_projector() {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let (_db, platform, tenant, base) = open(&graph).await;
    let dispatcher = platform.dispatcher();
    let handoff = dispatcher.handoff();
    assert!(handoff.is_some(), "Postgres hands replies over");
    let worker = platform.inbox_worker().with_handoff(handoff);

    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234567", "Ada");
    post_to(&base, &customer.text("ciao", now())).await;
    assert_eq!(worker.drain().await.unwrap(), 1);

    // Queued and claimed in the worker's transaction: the queue projector never ran.
    let queued = replies(&platform, tenant.parse().unwrap()).await;
    assert!(!queued.is_empty(), "the greeting is queued");
    assert!(queued.iter().all(|r| r.state == "pending"), "{queued:?}");
    let claimed = claims(&platform.db).await;
    assert_eq!(
        claimed.len(),
        1,
        "the customer's first reply only: {claimed:?}"
    );
    assert!(claimed[0].contains(&platform.owner), "{claimed:?}");
    assert!(
        claimed[0].contains(&queued[0].reply_id),
        "the first reply: {claimed:?}"
    );

    // The dispatcher sends what it was handed; the rest (a customer's later replies) it
    // claims itself once the first is recorded.
    let cancel = CancellationToken::new();
    let running = tokio::spawn(dispatcher.run(cancel.child_token()));
    eventually(WAIT, "every reply accepted", || async {
        let now = replies(&platform, tenant.parse().unwrap()).await;
        now.len() == queued.len() && now.iter().all(|r| r.state == "accepted")
    })
    .await;
    cancel.cancel();
    running.await.unwrap();
    let sent: Vec<String> = graph.received().into_iter().map(|r| r.reply_id).collect();
    let expected: Vec<String> = queued.iter().map(|r| r.reply_id.clone()).collect();
    assert_eq!(sent, expected, "each reply once, in order");
    assert!(
        claims(&platform.db).await.is_empty(),
        "claims end when recorded"
    );

    // The projector reaches the same events: nothing changes. A rebuild gives the same rows.
    let before = (
        rows(&platform.db, "outbound_replies", "reply_id").await,
        rows(&platform.db, "outbound_customers", "subject_id").await,
    );
    let projector = platform.projector(OUTBOUND_QUEUE).unwrap();
    platform.runner(projector.clone()).catch_up().await.unwrap();
    let projected = (
        rows(&platform.db, "outbound_replies", "reply_id").await,
        rows(&platform.db, "outbound_customers", "subject_id").await,
    );
    assert_eq!(projected, before, "the projector's pass changes nothing");
    projector.reset().await.unwrap();
    platform.runner(projector).catch_up().await.unwrap();
    let rebuilt = (
        rows(&platform.db, "outbound_replies", "reply_id").await,
        rows(&platform.db, "outbound_customers", "subject_id").await,
    );
    assert_eq!(rebuilt, before, "a rebuild gives the same rows");
}

#[tokio::test]
async fn a_conversation_the_projector_has_not_caught_up_with_is_left_to_it() {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let (_db, platform, tenant, base) = open(&graph).await;
    // Kept, not run: what it is handed waits for it (a dropped one would end the claims).
    let dispatcher = platform.dispatcher();
    let handoff = dispatcher.handoff();
    let worker = platform.inbox_worker().with_handoff(handoff);
    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234569", "Cleo");
    post_to(&base, &customer.text("ciao", now())).await;
    worker.drain().await.unwrap();
    let first = replies(&platform, tenant.parse().unwrap()).await;
    let claimed = claims(&platform.db).await;
    assert!(
        !first.is_empty() && claimed.len() == 1,
        "{first:?} {claimed:?}"
    );

    // The customer writes again before the projector has applied the first exchange: a reply
    // queued by another writer in between could be missing from the queue, so nothing of this
    // conversation is written ahead of the projector.
    post_to(&base, &customer.text("ci sei?", now())).await;
    worker.drain().await.unwrap();
    let tenant_id = tenant.parse().unwrap();
    assert_eq!(
        replies(&platform, tenant_id).await.len(),
        first.len(),
        "nothing queued ahead"
    );
    assert_eq!(claims(&platform.db).await, claimed, "nothing claimed");

    let projector = platform.projector(OUTBOUND_QUEUE).unwrap();
    platform.runner(projector).catch_up().await.unwrap();
    let queued = replies(&platform, tenant_id).await;
    assert!(
        queued.len() > first.len(),
        "the projector queues the rest: {queued:?}"
    );
}

#[tokio::test]
async fn a_reply_of_a_tenant_on_hold_is_queued_but_left_to_the_dispatchers_claim() {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let (_db, platform, tenant, base) = open(&graph).await;
    // Kept, not run: what it is handed waits for it (a dropped one would end the claims).
    let dispatcher = platform.dispatcher();
    let handoff = dispatcher.handoff();
    let worker = platform.inbox_worker().with_handoff(handoff);
    let now_ms = now_ms();
    store::hold_tenant(
        &platform.db,
        &tenant,
        "throttled",
        Some(130_429),
        now_ms,
        now_ms + 60_000,
        None,
    )
    .await
    .unwrap();

    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234568", "Bea");
    post_to(&base, &customer.text("ciao", now())).await;
    worker.drain().await.unwrap();

    let queued = replies(&platform, tenant.parse().unwrap()).await;
    assert!(!queued.is_empty(), "queued while the tenant is held");
    assert!(claims(&platform.db).await.is_empty(), "nothing claimed");
}

#[tokio::test]
async fn a_batch_with_more_replies_than_a_dispatcher_batch_is_left_to_the_projector() {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let (_db, platform, tenant, base) = open_with(&graph, &[("LYO_OUTBOUND_BATCH", "1")]).await;
    let dispatcher = platform.dispatcher();
    let worker = platform.inbox_worker().with_handoff(dispatcher.handoff());
    for (phone, name) in [("393471234570", "Dora"), ("393471234571", "Ezio")] {
        let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, phone, name);
        post_to(&base, &customer.text("ciao", now())).await;
    }
    assert_eq!(worker.drain().await.unwrap(), 2, "one batch");
    let tenant_id = tenant.parse().unwrap();
    assert!(
        replies(&platform, tenant_id).await.is_empty(),
        "no row written twice"
    );
    assert!(claims(&platform.db).await.is_empty());
    let projector = platform.projector(OUTBOUND_QUEUE).unwrap();
    platform.runner(projector).catch_up().await.unwrap();
    assert!(
        replies(&platform, tenant_id).await.len() >= 2,
        "the projector queues them"
    );
}

#[tokio::test]
async fn sqlite_has_no_handoff() {
    let db = TestDb::migrated(Backend::Sqlite).await;
    let platform = lyo_tests::platform(&db, &[]).await;
    assert!(platform.dispatcher().handoff().is_none());
}
