//! Replies handed over (ADR 0010, Postgres): the inbox worker queues and claims the replies of
//! a batch in its own transaction and hands them to the dispatcher in memory, with no projector
//! pass and no claim of the dispatcher's own; the projector, reaching the same events later,
//! changes nothing, and a rebuild gives the same rows.
#![allow(clippy::unwrap_used)]

use lyo_api::platform::Platform;
use lyo_application::event_log::{EventLog, Position};
use lyo_domain::ids::TenantId;
use lyo_infrastructure::db::Db;
use lyo_infrastructure::ingress::InboxWorker;
use lyo_infrastructure::outbound::store::ReplyView;
use lyo_infrastructure::outbound::{now_ms, store, Dispatcher, OUTBOUND_QUEUE, WRITTEN_AHEAD};
use lyo_infrastructure::whatsapp::SimulatedCustomer;
use lyo_tests::chat::{now, post_to, APP_SECRET};
use lyo_tests::graph::{Answer, FakeGraph};
use lyo_tests::outbound::{cloud_env, create_tenant, open_platform, PHONE_NUMBER_ID};
use lyo_tests::{eventually, project_tenants, spawn_app, Backend, TestDb};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

/// A platform on Postgres sending to a fake Graph API, its tenant, the app serving webhooks,
/// and an inbox worker that hands its replies to `dispatcher`. No projector runs but the
/// tenant read models, brought up to date once; the dispatcher is kept but not run unless a
/// test runs it (what it is handed waits for it; a dropped one would end the claims).
struct Scene {
    graph: FakeGraph,
    _db: TestDb,
    platform: Platform,
    tenant: TenantId,
    base: String,
    dispatcher: Dispatcher,
    worker: InboxWorker,
}

impl Scene {
    async fn open(extra: &[(&str, &str)]) -> Scene {
        let graph = FakeGraph::start(|_, _| Answer::Accept).await;
        let db = TestDb::migrated(Backend::Postgres).await;
        let mut env = cloud_env(&graph);
        env.push(("WHATSAPP_APP_SECRET".into(), APP_SECRET.into()));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let platform = open_platform(&db, &env).await;
        let tenant = create_tenant(&platform).await;
        project_tenants(&platform).await;
        let base = spawn_app(&platform).await;
        let dispatcher = platform.dispatcher();
        let worker = platform.inbox_worker().with_handoff(dispatcher.handoff());
        Scene {
            graph,
            _db: db,
            platform,
            tenant,
            base,
            dispatcher,
            worker,
        }
    }

    /// A customer (a new one for each phone number) writes `text`, and the worker drains the
    /// inbox; returns how many deliveries it handled.
    async fn customer_writes(&self, customer: &mut SimulatedCustomer, text: &str) -> usize {
        post_to(&self.base, &customer.text(text, now())).await;
        self.worker.drain().await.unwrap()
    }

    async fn replies(&self) -> Vec<ReplyView> {
        lyo_tests::outbound::replies(&self.platform, self.tenant).await
    }

    async fn claims(&self) -> Vec<String> {
        rows(&self.platform.db, "outbound_claims", "reply_id").await
    }

    /// The transactions listed as written ahead of the queue projector.
    async fn marks(&self) -> Vec<String> {
        rows(&self.platform.db, WRITTEN_AHEAD, "transaction_id").await
    }

    /// The queue's replies and customers, as JSON rows.
    async fn queue_rows(&self) -> (Vec<String>, Vec<String>) {
        let db = &self.platform.db;
        (
            rows(db, "outbound_replies", "reply_id").await,
            rows(db, "outbound_customers", "subject_id").await,
        )
    }

    /// Runs the `outbound_queue` projector until it has applied every event.
    async fn project_queue(&self) {
        let projector = self.platform.projector(OUTBOUND_QUEUE).unwrap();
        self.platform.runner(projector).catch_up().await.unwrap();
    }
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

#[tokio::test]
async fn replies_go_from_the_inbox_worker_to_the_dispatcher_without_the_projector() {
    let s = Scene::open(&[]).await;
    assert!(
        s.dispatcher.handoff().is_some(),
        "Postgres hands replies over"
    );

    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234567", "Ada");
    let projector_woken = s.platform.log_for(OUTBOUND_QUEUE).subscribe();
    let others_woken = s.platform.log_for("any other").subscribe();
    assert_eq!(s.customer_writes(&mut customer, "ciao").await, 1);
    assert!(
        !projector_woken.has_changed().unwrap(),
        "the worker wrote every queue row: the queue projector is not woken"
    );
    assert!(others_woken.has_changed().unwrap());

    // Its transaction is listed as written ahead: the projector's reader passes over its
    // events (it reads the tenant's only) and has nothing of its own left after them.
    assert_eq!(s.marks().await.len(), 1);
    let log = s.platform.log_for(OUTBOUND_QUEUE);
    let (read, to) = log.read_batch(Position::START, 1_000).await.unwrap();
    assert!(
        read.iter().all(|e| e.aggregate_type == "Tenant"),
        "{:?}",
        read.iter().map(|e| &e.event_type).collect::<Vec<_>>()
    );
    assert!(
        to > read.last().unwrap().at,
        "moved past the conversation's events"
    );
    assert!(!log.any_after(to).await.unwrap());

    // Queued and claimed in the worker's transaction: the queue projector never ran.
    let queued = s.replies().await;
    assert!(!queued.is_empty(), "the greeting is queued");
    assert!(queued.iter().all(|r| r.state == "pending"), "{queued:?}");
    let claimed = s.claims().await;
    assert_eq!(
        claimed.len(),
        1,
        "the customer's first reply only: {claimed:?}"
    );
    assert!(claimed[0].contains(&s.platform.owner), "{claimed:?}");
    assert!(
        claimed[0].contains(&queued[0].reply_id),
        "the first reply: {claimed:?}"
    );

    // The dispatcher sends what it was handed; the rest (a customer's later replies) it
    // claims itself once the first is recorded.
    let cancel = CancellationToken::new();
    let running = tokio::spawn(s.dispatcher.clone().run(cancel.child_token()));
    eventually(WAIT, "every reply accepted", || async {
        let now = s.replies().await;
        now.len() == queued.len() && now.iter().all(|r| r.state == "accepted")
    })
    .await;
    cancel.cancel();
    running.await.unwrap();
    let sent: Vec<String> = s.graph.received().into_iter().map(|r| r.reply_id).collect();
    let expected: Vec<String> = queued.iter().map(|r| r.reply_id.clone()).collect();
    assert_eq!(sent, expected, "each reply once, in order");
    assert!(s.claims().await.is_empty(), "claims end when recorded");
    assert_eq!(
        s.marks().await.len(),
        2,
        "the dispatcher's write-through is listed too"
    );

    // The projector reaches the same events: nothing changes. A rebuild gives the same rows.
    let before = s.queue_rows().await;
    s.project_queue().await;
    assert_eq!(
        s.queue_rows().await,
        before,
        "the projector's pass changes nothing"
    );
    s.platform
        .projector(OUTBOUND_QUEUE)
        .unwrap()
        .reset()
        .await
        .unwrap();
    assert!(
        s.marks().await.is_empty(),
        "a rebuild forgets what was written ahead"
    );
    s.project_queue().await;
    assert_eq!(
        s.queue_rows().await,
        before,
        "a rebuild gives the same rows"
    );
}

#[tokio::test]
async fn a_reply_recorded_after_its_row_was_rebuilt_away_is_left_to_the_projector() {
    let s = Scene::open(&[]).await;
    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234572", "Fede");
    s.customer_writes(&mut customer, "ciao").await;
    assert_eq!(s.claims().await.len(), 1, "handed over");

    // The queue is rebuilt while the dispatcher holds the handed reply: its write-through
    // finds no row to move, so its transaction is not listed, and the rebuild's pass applies
    // the acceptance (listed, it would leave the reply pending, to be sent again).
    let projector = s.platform.projector(OUTBOUND_QUEUE).unwrap();
    projector.reset().await.unwrap();
    let cancel = CancellationToken::new();
    let running = tokio::spawn(s.dispatcher.clone().run(cancel.child_token()));
    eventually(WAIT, "the handed reply sent", || async {
        !s.graph.received().is_empty() && s.claims().await.is_empty()
    })
    .await;
    cancel.cancel();
    running.await.unwrap();
    assert!(s.marks().await.is_empty(), "{:?}", s.marks().await);
    s.project_queue().await;
    let sent: Vec<String> = s.graph.received().into_iter().map(|r| r.reply_id).collect();
    let replies = s.replies().await;
    let first = replies.iter().find(|r| r.reply_id == sent[0]).unwrap();
    assert_eq!(first.state, "accepted", "{replies:?}");
}

#[tokio::test]
async fn a_conversation_the_projector_has_not_caught_up_with_is_left_to_it() {
    let s = Scene::open(&[]).await;
    let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, "393471234569", "Cleo");
    s.customer_writes(&mut customer, "ciao").await;
    let first = s.replies().await;
    let claimed = s.claims().await;
    assert!(
        !first.is_empty() && claimed.len() == 1,
        "{first:?} {claimed:?}"
    );

    // The customer writes again before the projector has applied the first exchange: a reply
    // queued by another writer in between could be missing from the queue, so nothing of this
    // conversation is written ahead of the projector, which is woken for it.
    let projector_woken = s.platform.log_for(OUTBOUND_QUEUE).subscribe();
    s.customer_writes(&mut customer, "ci sei?").await;
    assert!(
        projector_woken.has_changed().unwrap(),
        "left to the projector"
    );
    assert_eq!(s.replies().await.len(), first.len(), "nothing queued ahead");
    assert_eq!(s.claims().await, claimed, "nothing claimed");

    assert_eq!(
        s.marks().await.len(),
        1,
        "only the first exchange is written ahead"
    );

    s.project_queue().await;
    let queued = s.replies().await;
    assert!(
        queued.len() > first.len(),
        "the projector queues the rest: {queued:?}"
    );
    assert!(
        s.marks().await.is_empty(),
        "the projector forgets the marks it has passed"
    );
}

#[tokio::test]
async fn a_reply_of_a_tenant_on_hold_is_queued_but_left_to_the_dispatchers_claim() {
    let s = Scene::open(&[]).await;
    let now_ms = now_ms();
    let tenant = s.tenant.to_string();
    store::hold_tenant(
        &s.platform.db,
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
    s.customer_writes(&mut customer, "ciao").await;

    let queued = s.replies().await;
    assert!(!queued.is_empty(), "queued while the tenant is held");
    assert!(s.claims().await.is_empty(), "nothing claimed");
}

#[tokio::test]
async fn a_batch_with_more_replies_than_the_dispatchers_workers_take_is_left_to_the_projector() {
    let s = Scene::open(&[("LYO_OUTBOUND_BATCH", "1"), ("LYO_OUTBOUND_WORKERS", "1")]).await;
    for (phone, name) in [("393471234570", "Dora"), ("393471234571", "Ezio")] {
        let mut customer = SimulatedCustomer::new(PHONE_NUMBER_ID, phone, name);
        post_to(&s.base, &customer.text("ciao", now())).await;
    }
    assert_eq!(s.worker.drain().await.unwrap(), 2, "one batch");
    assert!(s.replies().await.is_empty(), "no row written twice");
    assert!(s.claims().await.is_empty());
    s.project_queue().await;
    assert!(s.replies().await.len() >= 2, "the projector queues them");
}

#[tokio::test]
async fn sqlite_has_no_handoff() {
    let db = TestDb::migrated(Backend::Sqlite).await;
    let platform = lyo_tests::platform(&db, &[]).await;
    assert!(platform.dispatcher().handoff().is_none());
}
