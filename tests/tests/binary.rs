//! The `lyo` binary as operators run it.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use lyo_infrastructure::db::Db;
use lyo_tests::process::{lyo, Server};
use lyo_tests::{eventually, master_key, on_both_backends, Backend, TestDb};
use std::time::Duration;

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lyo-bin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// README's first command on a machine with no database: SQLite and secrets in lyo-data/.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lyo_serve_starts_embedded_with_no_configuration() {
    let dir = temp_dir();
    let server = Server::start(&dir, &[]).await;
    let client = reqwest::Client::new();
    for path in ["/health", "/ready"] {
        let response = client
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers().contains_key("x-request-id"));
    }
    let metrics = client
        .get(format!("{}/metrics", server.base_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("lyo_http_requests_total"), "{metrics}");
    for file in ["lyo.db", "master.key", "admin.token"] {
        assert!(dir.join("lyo-data").join(file).exists(), "lyo-data/{file}");
    }
    let key = std::fs::read_to_string(dir.join("lyo-data/master.key")).unwrap();
    assert!(lyo_infrastructure::pii::MasterKey::from_base64(&key).is_ok());
    let status = server.terminate();
    assert!(status.success(), "a clean exit on SIGTERM: {status:?}");

    // A second start reuses the same secrets.
    let server = Server::start(&dir, &[]).await;
    assert_eq!(
        std::fs::read_to_string(dir.join("lyo-data/master.key")).unwrap(),
        key
    );
    let (ok, out) = lyo(&dir, &["projections", "status", "--json"], &[]);
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(status["name"], "event_counts");
    assert_eq!(status["lag_events"], 0);
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn postgres_without_a_master_key_is_refused_clearly() {
    let dir = temp_dir();
    let output = std::process::Command::new(lyo_tests::lyo_binary())
        .args(["migrate"])
        .env_clear()
        .env("DATABASE_URL", "postgres://lyo@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("LYO_MASTER_KEY is required"));
    std::fs::remove_dir_all(dir).unwrap();
}

const EVENTS: i64 = 40_000;

async fn seed(db: &Db) {
    match db {
        Db::Postgres(pool) => sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'Seed', 'seed-' || (g % 100), g, 'Seeded' || (g % 5), '1', '{}'::jsonb,
                    jsonb_build_object('tenant_id', 'tenant-' || (g % 3))
               FROM generate_series(1, $1) AS g",
        )
        .bind(EVENTS)
        .execute(pool)
        .await
        .map(|_| ()),
        Db::Sqlite(pool) => sqlx::query(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1)
             INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'Seed', 'seed-' || (n % 100), n, 'Seeded' || (n % 5), '1', '{}',
                    json_object('tenant_id', 'tenant-' || (n % 3))
               FROM g",
        )
        .bind(EVENTS)
        .execute(pool)
        .await
        .map(|_| ()),
    }
    .unwrap();
}

async fn checkpoint(db: &Db) -> i64 {
    const SQL: &str = "SELECT coalesce(max(last_position), 0) FROM projector_checkpoints WHERE name = 'event_counts'";
    match db {
        Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
        Db::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_one(pool).await,
    }
    .unwrap()
}

async fn counts(db: &Db, sql: &str) -> Vec<(String, String, i64)> {
    match db {
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap()
}

const READ_MODEL: &str = "SELECT tenant_id, event_type, count FROM event_counts ORDER BY 1, 2";
const TRUTH: &str =
    "SELECT tenant_id, event_type, count(*) FROM events GROUP BY 1, 2 ORDER BY 1, 2";

on_both_backends!(a_projector_killed_mid_batch_resumes_to_the_rebuilt_state);

/// SIGKILL `lyo serve` three times while its projector works through a backlog in small
/// batches (each kill lands after the checkpoint moved and before the backlog is done, so
/// it interrupts the projector between reading a batch and committing it, or right after).
/// After restart the read model equals the truth and a rebuild from zero.
async fn a_projector_killed_mid_batch_resumes_to_the_rebuilt_state(backend: Backend) {
    let test_db = TestDb::migrated(backend).await;
    let db = test_db.connect().await;
    seed(&db).await;
    let last: i64 = match &db {
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT max(position) FROM events")
                .fetch_one(pool)
                .await
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT max(position) FROM events")
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    let dir = temp_dir();
    let key = master_key();
    let env = [
        ("DATABASE_URL", test_db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("LYO_PROJECTOR_BATCH_SIZE", "20"),
        // The killed process never releases its lease: let the next one take it soon.
        ("LYO_PROJECTOR_LEASE_TTL_MS", "300"),
    ];

    for _ in 0..3 {
        let before = checkpoint(&db).await;
        let server = Server::start(&dir, &env).await;
        eventually(
            Duration::from_secs(60),
            "the projector to make progress",
            || async { checkpoint(&db).await > before },
        )
        .await;
        server.kill();
        let at_kill = checkpoint(&db).await;
        assert!(
            at_kill < last,
            "killed before the backlog was done ({at_kill} of {last})"
        );
    }

    let server = Server::start(&dir, &env).await;
    eventually(
        Duration::from_secs(120),
        "the projector to finish the backlog",
        || async { checkpoint(&db).await == last },
    )
    .await;
    let incremental = counts(&db, READ_MODEL).await;
    assert_eq!(
        incremental,
        counts(&db, TRUTH).await,
        "no event lost or applied twice"
    );
    let status = server.terminate();
    assert!(status.success());

    let (ok, out) = lyo(&dir, &["projections", "rebuild", "event_counts"], &env);
    assert!(ok, "rebuild failed");
    assert!(out.contains("rebuilt event_counts"), "{out}");
    assert_eq!(
        counts(&db, READ_MODEL).await,
        incremental,
        "a rebuild from zero gives the same"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

async fn lease_holder_pid(db: &Db) -> Option<u32> {
    const SQL: &str =
        "SELECT owner FROM projector_leases WHERE name = 'event_counts' AND expires_at_ms > $1";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let owner: Option<String> = match db {
        Db::Postgres(pool) => sqlx::query_scalar(SQL).bind(now).fetch_optional(pool).await,
        Db::Sqlite(pool) => sqlx::query_scalar(SQL).bind(now).fetch_optional(pool).await,
    }
    .unwrap();
    // owner = host:pid:nonce
    owner.and_then(|o| o.split(':').nth(1).and_then(|pid| pid.parse().ok()))
}

/// Two `lyo serve` processes on one Postgres: the projector runs in exactly one of them, and
/// the other takes it over when that one is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_a_projector_and_the_survivor_takes_over() {
    let test_db = TestDb::migrated(Backend::Postgres).await;
    let db = test_db.connect().await;
    let dir = temp_dir();
    let key = master_key();
    let env = [
        ("DATABASE_URL", test_db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        // Long enough that a renewal delayed by a busy CI machine does not hand the lease over.
        ("LYO_PROJECTOR_LEASE_TTL_MS", "2000"),
    ];
    let first = Server::start(&dir, &env).await;
    let second = Server::start(&dir, &env).await;
    let pids = [first.child.id(), second.child.id()];
    eventually(
        Duration::from_secs(30),
        "one server to hold the projector",
        || async {
            lease_holder_pid(&db)
                .await
                .is_some_and(|pid| pids.contains(&pid))
        },
    )
    .await;
    let holder = lease_holder_pid(&db).await.unwrap();
    // It stays with one holder across several renewals.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(lease_holder_pid(&db).await, Some(holder));

    let (dead, survivor) = if holder == pids[0] {
        (first, second)
    } else {
        (second, first)
    };
    dead.kill();
    let survivor_pid = survivor.child.id();
    eventually(
        Duration::from_secs(30),
        "the survivor to take over",
        || async { lease_holder_pid(&db).await == Some(survivor_pid) },
    )
    .await;
    assert!(survivor.terminate().success());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The whole ingress path in the real binary: `lyo tenant add`, then `lyo serve` acknowledges a
/// signed delivery and its worker turns it into a conversation event by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lyo_serve_turns_a_signed_delivery_into_a_conversation_event() {
    ingress_through_the_binary(1).await;
    ingress_through_the_binary(0).await;
}

/// With `workers` inbox workers (`LYO_INGRESS_WORKERS`); 0 only acknowledges.
async fn ingress_through_the_binary(workers: u32) {
    let test_db = TestDb::migrated(Backend::Sqlite).await;
    let dir = temp_dir();
    let key = master_key();
    let workers = workers.to_string();
    let env = [
        ("DATABASE_URL", test_db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("WHATSAPP_APP_SECRET", "secret"),
        ("LYO_INGRESS_WORKERS", workers.as_str()),
    ];
    let (ok, _) = lyo(
        &dir,
        &[
            "tenant",
            "add",
            "--name",
            "Gino",
            "--timezone",
            "Europe/Rome",
            "--phone-number-id",
            "4242",
        ],
        &env,
    );
    assert!(ok);
    let server = Server::start(&dir, &env).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "1", "phone_number_id": "4242" },
            "messages": [{ "from": "393331234567", "id": "wamid.E2E", "timestamp": now.to_string(),
                           "type": "text", "text": { "body": "ciao" } }] } }] }]
    }))
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp", server.base_url))
        .header(
            "x-hub-signature-256",
            lyo_tests::meta_signature("secret", &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let db = test_db.connect().await;
    if workers == "0" {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let Db::Sqlite(pool) = &db else {
            unreachable!()
        };
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(pending, 1, "no worker: stored, not processed");
        assert!(server.terminate().success());
        std::fs::remove_dir_all(dir).unwrap();
        return;
    }
    eventually(
        Duration::from_secs(30),
        "the worker in lyo serve to record the message",
        || async {
            let Db::Sqlite(pool) = &db else {
                unreachable!()
            };
            let received: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events WHERE event_type = 'MessageReceived'",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            received == 1
        },
    )
    .await;
    assert!(server.terminate().success());
    std::fs::remove_dir_all(dir).unwrap();
}
