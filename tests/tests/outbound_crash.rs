//! Two `lyo serve` processes dispatch from one Postgres; one is killed (SIGKILL) in the middle
//! of dispatching. Every reply still ends accepted, none is sent twice except the one each of
//! the killed process's workers had in flight (sent, outcome not yet recorded: at most a batch
//! per worker).
#![allow(clippy::unwrap_used)]

use lyo_domain::ids::SubjectId;
use lyo_tests::graph::{Answer, FakeGraph};
use lyo_tests::outbound::{conversations, create_tenant, now_s, open_platform, write, ADMIN};
use lyo_tests::process::Server;
use lyo_tests::{master_key, TestDb};
use std::time::Duration;

const CUSTOMERS: usize = 300;
const WORKERS: &str = "4";
const BATCH: &str = "2";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_dispatcher_loses_no_reply_and_two_send_nothing_twice() {
    let graph = FakeGraph::start(|_, _| Answer::Slow(40)).await;
    let db = TestDb::migrated(lyo_tests::Backend::Postgres).await;
    let key = master_key();
    let graph_url = graph.url();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("LYO_ADMIN_TOKEN", ADMIN),
        ("LYO_SENDER", "cloud"),
        ("WHATSAPP_GRAPH_URL", graph_url.as_str()),
        ("LYO_OUTBOUND_WORKERS", WORKERS),
        ("LYO_OUTBOUND_BATCH", BATCH),
        ("LYO_OUTBOUND_CLAIM_SECS", "5"),
        ("LYO_OUTBOUND_RECIPIENT_GAP_MS", "0"),
        ("LYO_PROJECTOR_LEASE_TTL_MS", "1000"),
        ("LYO_SHUTDOWN_GRACE_SECS", "5"),
    ];
    let test_env: Vec<(String, String)> = vec![
        ("LYO_ADMIN_TOKEN".into(), ADMIN.into()),
        ("LYO_OUTBOUND_WORKERS".into(), "0".into()),
    ];
    let platform = open_platform(&db, &test_env).await;
    let tenant = create_tenant(&platform).await;
    let dir_a = tempdir("a");
    let dir_b = tempdir("b");
    let first = Server::start(&dir_a, &env).await;
    let second = Server::start(&dir_b, &env).await;

    let conversations = conversations(&platform);
    for i in 0..CUSTOMERS {
        let phone = format!("39348{i:07}");
        write(
            &conversations,
            tenant,
            SubjectId::new(),
            &phone,
            "ciao",
            now_s(),
        )
        .await;
    }
    lyo_tests::eventually(Duration::from_secs(60), "dispatch under way", || async {
        graph.received().len() >= CUSTOMERS / 4
    })
    .await;
    first.kill();
    let settled = lyo_tests::outbound::Shop::settled_for;
    let replies = settled(&platform, tenant, CUSTOMERS, Duration::from_secs(120)).await;
    // Restarting the killed server changes nothing more.
    let restarted = Server::start(&dir_a, &env).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(replies.iter().all(|r| r.state == "accepted"), "{replies:?}");
    let requests = graph.by_reply();
    let twice: Vec<_> = replies
        .iter()
        .filter(|r| requests[&r.reply_id].len() > 1)
        .collect();
    let in_flight: usize = WORKERS.parse::<usize>().unwrap() * BATCH.parse::<usize>().unwrap();
    assert!(
        twice.len() <= in_flight,
        "only the replies in flight when the process died may go twice: {twice:?}"
    );
    let extra: usize = twice.iter().map(|r| requests[&r.reply_id].len() - 1).sum();
    assert_eq!(extra, twice.len(), "at most one repeat each");
    assert_eq!(graph.received().len(), replies.len() + extra);
    drop((second, restarted));
    // Kept only when the test fails: they hold the servers' logs.
    for dir in [dir_a, dir_b] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lyo-outbound-crash-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
