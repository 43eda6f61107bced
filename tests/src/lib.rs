//! The test harness: fresh databases on both backends, the platform wired as `lyo serve`
//! wires it, a small test aggregate, and the real `lyo` binary for black-box tests.
//!
//! Postgres tests need `LYO_TEST_DATABASE_URL` (a server where they may create databases);
//! `scripts/test` starts a throwaway cluster and sets it. Without it they fail, never skip.

pub mod chat;
pub mod graph;
pub mod ledger;
pub mod outbound;
pub mod process;

use lyo_api::platform::{Migrate, Platform};
use lyo_infrastructure::config::Settings;
use lyo_infrastructure::db::Db;
use lyo_infrastructure::pii::MasterKey;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Generates `mod NAME { postgres, sqlite }` tests calling `async fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
        }
    )+};
}

/// A database of its own for one test. SQLite files live in a temporary directory removed on
/// drop; Postgres databases live in the throwaway cluster.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    dir: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("LYO_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "LYO_TEST_DATABASE_URL is not set: run the suite with ./scripts/test, which starts \
             a throwaway PostgreSQL, or point LYO_TEST_DATABASE_URL at a server"
        )
    })
}

fn with_database(url: &str, database: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("a Postgres URL ends with /database");
    format!("{base}/{database}")
}

impl TestDb {
    /// An empty database (no migrations applied).
    pub async fn empty(backend: Backend) -> Self {
        let name = format!("lyo_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let db = Db::connect(&admin, 1)
                    .await
                    .expect("connect to the test server");
                db.execute(&format!("CREATE DATABASE {name}"), &[])
                    .await
                    .expect("create a test database");
                db.close().await;
                Self {
                    url: with_database(&admin, &name),
                    backend,
                    dir: None,
                }
            }
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(name);
                std::fs::create_dir_all(&dir).expect("create a temporary directory");
                Self {
                    url: format!("sqlite://{}", dir.join("lyo.db").display()),
                    backend,
                    dir: Some(dir),
                }
            }
        }
    }

    /// A database with every migration applied.
    pub async fn migrated(backend: Backend) -> Self {
        let test_db = Self::empty(backend).await;
        let db = test_db.connect().await;
        db.migrate().await.expect("migrate the test database");
        db.close().await;
        test_db
    }

    /// The database's name (Postgres: the last part of its URL).
    pub fn name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }

    /// Postgres: ends every server connection to this database, as a restart would; returns
    /// how many there were.
    pub async fn terminate_connections(&self) -> u64 {
        let admin = Db::connect(&postgres_admin_url(), 1)
            .await
            .expect("connect to the test server");
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name()
        );
        let terminated = admin
            .execute(&sql, &[])
            .await
            .expect("terminate the database's connections");
        admin.close().await;
        terminated
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url, 10)
            .await
            .expect("connect to the test database")
    }
}

/// One master key for the whole test process (tests that need another make their own).
pub fn master_key() -> String {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(MasterKey::generate_base64).clone()
}

/// Settings as the environment of `lyo serve` on this database would give them.
pub fn settings(db: &TestDb, extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("LYO_MASTER_KEY".into(), master_key()),
        ("LYO_BIND".into(), "127.0.0.1:0".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_sources(None, |name| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("valid test settings")
}

/// The platform exactly as `lyo serve` opens it.
pub async fn platform(db: &TestDb, extra: &[(&str, &str)]) -> Platform {
    let (platform, _) = Platform::open(settings(db, extra), Migrate::Yes)
        .await
        .expect("open the platform");
    platform
}

/// The `lyo` binary built from this checkout (`scripts/test` builds it first).
pub fn lyo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    // target/<profile>/deps/<test> -> target/<profile>/lyo
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("lyo"))
        .expect("the target directory");
    assert!(
        path.exists(),
        "{} is missing: run the suite with ./scripts/test (the workspace test build makes it)",
        path.display()
    );
    path
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it returns true, failing the test after `limit`. A bound on waiting
/// for something asynchronous, not a performance assertion.
pub async fn eventually<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Reads the whole global log once at least `expected` events are safely readable. On
/// Postgres an event becomes readable only when no older transaction anywhere in the cluster
/// is still open, which may take a moment while other tests write.
pub async fn read_log(
    log: &dyn lyo_application::event_log::EventLog,
    expected: usize,
) -> Vec<lyo_application::event_log::RecordedEvent> {
    use lyo_application::event_log::Position;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events = log
            .read_after(Position::START, u32::MAX)
            .await
            .expect("read the event log");
        if events.len() >= expected || std::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until every committed event is readable in the log: nothing is stored beyond the
/// last event it reads. On Postgres a transaction still open anywhere in the cluster (another
/// test's, in another database) holds back what may be read, so a read right after a commit
/// can miss it. Gives up after 30 s (the caller's assertions then say what is missing).
pub async fn settle_log(log: &dyn lyo_application::event_log::EventLog) {
    use lyo_application::event_log::Position;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut last = Position::START;
    loop {
        // Only what was not read before: each round reads from where the last one ended.
        last = log
            .read_batch(last, u32::MAX)
            .await
            .expect("read the event log")
            .1;
        let pending = log.any_after(last).await.expect("look past the log's end");
        if !pending || std::time::Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Serves the app in-process on a loopback port chosen by the OS; returns its base URL. The
/// server lives until the test's runtime ends.
pub async fn spawn_app(platform: &lyo_api::platform::Platform) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("the bound address");
    let app = lyo_api::http::router(lyo_api::http::AppState::new(
        platform,
        lyo_api::telemetry::metrics_handle(),
    ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// `X-Hub-Signature-256` as Meta computes it over the raw body bytes.
pub fn meta_signature(secret: &str, body: &[u8]) -> String {
    lyo_infrastructure::whatsapp::sign(secret.as_bytes(), body)
}

/// Metadata of a command issued by Lyo itself, for tests that only need a tenant.
pub fn system_metadata(
    tenant: lyo_domain::ids::TenantId,
) -> lyo_application::metadata::EventMetadata {
    lyo_application::metadata::EventMetadata {
        tenant_id: tenant,
        actor: lyo_application::metadata::Actor::system("test"),
        correlation_id: "c".into(),
        causation_id: None,
        request_id: None,
    }
}

/// Adds a tenant through the API as the admin `token`; returns the created tenant as answered.
pub async fn add_tenant(
    platform: &lyo_api::platform::Platform,
    token: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let (status, _, created) = call_api(
        platform,
        "POST",
        "/api/v1/tenants",
        Some(token),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(
        status,
        axum::http::StatusCode::CREATED,
        "adding a tenant: {created}"
    );
    created
}

/// One request to the app in-process (tower `oneshot`); the body is parsed as JSON when it is
/// JSON (`Null` otherwise).
pub async fn call_api(
    platform: &lyo_api::platform::Platform,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (
    axum::http::StatusCode,
    axum::http::HeaderMap,
    serde_json::Value,
) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body
        .map(axum::body::Body::from)
        .unwrap_or_else(axum::body::Body::empty);
    let state = lyo_api::http::AppState::new(platform, lyo_api::telemetry::metrics_handle());
    let response = lyo_api::http::router(state)
        .oneshot(request.body(body).expect("a valid request"))
        .await
        .expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a readable body");
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Brings the tenant read models (routing and settings) up to date, as the projectors of a
/// running server would: the inbox worker waits for both before it decides a tenant's messages.
pub async fn project_tenants(platform: &lyo_api::platform::Platform) {
    for name in ["tenant_directory", "tenant_settings"] {
        let projector = platform.projector(name).expect("a known projector");
        platform
            .runner(projector)
            .catch_up()
            .await
            .expect("the tenant read models catch up");
    }
}
