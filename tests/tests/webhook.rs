//! `GET/POST /webhooks/whatsapp` through real HTTP, on both backends, signed as Meta signs.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use lyo_api::platform::Platform;
use lyo_infrastructure::db::Db;
use lyo_tests::{meta_signature, on_both_backends, platform, spawn_app, Backend, TestDb};
use reqwest::StatusCode;
use std::path::PathBuf;

const SECRET: &str = "meta-app-secret";
const VERIFY: &str = "meta-verify-token";
const SETTINGS: [(&str, &str); 2] = [
    ("WHATSAPP_APP_SECRET", SECRET),
    ("WHATSAPP_VERIFY_TOKEN", VERIFY),
];

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infrastructure/tests/fixtures/whatsapp");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 25,
        "fixtures for every inbound type and status"
    );
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect()
}

async fn post(base: &str, body: Vec<u8>, signature: Option<String>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn signed(base: &str, body: &[u8]) -> (StatusCode, String) {
    post(base, body.to_vec(), Some(meta_signature(SECRET, body))).await
}

async fn inbox(db: &Db) -> Vec<Vec<u8>> {
    const SQL: &str = "SELECT body_sealed FROM webhook_inbox ORDER BY id";
    match db {
        Db::Postgres(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await,
        Db::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await,
    }
    .unwrap()
}

async fn opened_inbox(platform: &Platform) -> Vec<Vec<u8>> {
    inbox(&platform.db)
        .await
        .iter()
        .map(|sealed| platform.inbox.open(sealed).unwrap())
        .collect()
}

on_both_backends!(
    the_handshake_answers_only_the_right_token,
    every_documented_delivery_is_stored_sealed_and_acknowledged,
    unsigned_or_badly_signed_deliveries_are_refused_before_parsing,
    bodies_that_are_not_envelopes_or_too_large_are_refused,
    concurrent_deliveries_are_all_stored_once_acknowledged,
    a_tenants_own_app_secret_signs_its_deliveries,
);

async fn the_handshake_answers_only_the_right_token(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let base = spawn_app(&platform(&db, &SETTINGS).await).await;
    let get = |query: &str| reqwest::get(format!("{base}/webhooks/whatsapp?{query}"));
    let ok = get(&format!(
        "hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"
    ))
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "text/plain");
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=meta-verify-token&hub.challenge=1",
        "hub.challenge=1",
    ] {
        assert_eq!(
            get(query).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{query}"
        );
    }
}

async fn every_documented_delivery_is_stored_sealed_and_acknowledged(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &SETTINGS).await;
    let base = spawn_app(&platform).await;
    let fixtures = fixtures();
    for (name, body) in &fixtures {
        let (status, text) = signed(&base, body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {text}");
    }
    let stored = opened_inbox(&platform).await;
    assert_eq!(stored.len(), fixtures.len());
    for ((name, body), stored) in fixtures.iter().zip(&stored) {
        assert_eq!(stored, body, "{name}: the raw bytes, exactly as received");
    }
    for sealed in inbox(&platform.db).await {
        let text = String::from_utf8_lossy(&sealed);
        assert!(
            !text.contains("wamid") && !text.contains("whatsapp"),
            "a raw body at rest in plaintext"
        );
    }
    // Unknown phone number ids (no tenant is configured here) are acknowledged and counted.
    let metrics = lyo_api::telemetry::metrics_handle().render();
    assert!(
        metrics.contains("lyo_webhook_unknown_phone_number_total"),
        "{metrics}"
    );
}

async fn unsigned_or_badly_signed_deliveries_are_refused_before_parsing(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &SETTINGS).await;
    let base = spawn_app(&platform).await;
    let body = fixtures().remove(0).1;
    let good = meta_signature(SECRET, &body);
    let cases = [
        None,
        Some(meta_signature("another-secret", &body)),
        Some(good.replace("sha256=", "")),
        Some(good.to_uppercase()),
        Some(format!("{}0", &good[..good.len() - 1])),
        Some("sha256=xyz".to_string()),
    ];
    for signature in cases {
        let (status, text) = post(&base, body.clone(), signature.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{signature:?}: {text}");
    }
    // Not even a malformed body is parsed without a valid signature.
    let (status, _) = post(
        &base,
        b"{not json".to_vec(),
        Some(meta_signature("x", b"{not json")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Meta signs its \u-escaped bytes: re-serialising would change them and break the MAC.
    let escaped = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"1"},"messages":[{"from":"39333","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"Ci\u00f2 \ud83c\udf55 pi\u00f9 tardi"}}]}}]}]}"#;
    let (status, _) = signed(&base, escaped).await;
    assert_eq!(status, StatusCode::OK);
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(escaped).unwrap()).unwrap();
    let (status, _) = post(&base, reserialised, Some(meta_signature(SECRET, escaped))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        inbox(&platform.db).await.len(),
        1,
        "only the correctly signed delivery is stored"
    );
}

async fn bodies_that_are_not_envelopes_or_too_large_are_refused(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &SETTINGS).await;
    let base = spawn_app(&platform).await;
    for body in [
        &b"{\"object\": \"whatsapp_business_account\", \"entry\": ["[..],
        b"[1, 2]",
        b"{\"hello\": \"world\"}",
        b"",
    ] {
        let (status, text) = signed(&base, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("bad_request"), "{text}");
    }
    let limit = lyo_api::http::webhook::MAX_BODY;
    let envelope = |size: usize| {
        let head = br#"{"object":"whatsapp_business_account","entry":[],"pad":""#;
        let tail = br#""}"#;
        let mut body = head.to_vec();
        body.resize(size - tail.len(), b'x');
        body.extend_from_slice(tail);
        body
    };
    let (status, _) = signed(&base, &envelope(limit)).await;
    assert_eq!(status, StatusCode::OK, "exactly 3 MB is accepted");
    let (status, _) = signed(&base, &envelope(limit + 1)).await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "3 MB + 1 byte is not"
    );
    assert_eq!(inbox(&platform.db).await.len(), 1);
}

async fn concurrent_deliveries_are_all_stored_once_acknowledged(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &SETTINGS).await;
    let base = spawn_app(&platform).await;
    let body = fixtures().remove(0).1;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (base, body) = (base.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = 0;
            for _ in 0..20 {
                if signed(&base, &body).await.0 == StatusCode::OK {
                    acknowledged += 1;
                }
            }
            acknowledged
        }));
    }
    let mut acknowledged = 0;
    for task in tasks {
        acknowledged += task.await.unwrap();
    }
    assert_eq!(acknowledged, 400);
    assert_eq!(
        inbox(&platform.db).await.len(),
        400,
        "every acknowledged delivery is stored"
    );
}

/// Postgres goes away mid-test: deliveries get 503 (Meta retries), then succeed once it is
/// back, and everything acknowledged is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_and_loses_nothing() {
    let db = TestDb::migrated(Backend::Postgres).await;
    let platform = platform(
        &db,
        &[SETTINGS[0], SETTINGS[1], ("LYO_DB_MAX_CONNECTIONS", "2")],
    )
    .await;
    let base = spawn_app(&platform).await;
    let body = fixtures().remove(0).1;
    assert_eq!(signed(&base, &body).await.0, StatusCode::OK);

    let name = db.name();
    let admin = Db::connect(&lyo_tests::postgres_admin_url(), 1)
        .await
        .unwrap();
    admin
        .execute(
            &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
            &[],
        )
        .await
        .unwrap();
    db.terminate_connections().await;
    let response = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp"))
        .header("x-hub-signature-256", meta_signature(SECRET, &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));

    admin
        .execute(
            &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
            &[],
        )
        .await
        .unwrap();
    lyo_tests::eventually(
        std::time::Duration::from_secs(30),
        "the webhook to accept again",
        || async { signed(&base, &body).await.0 == StatusCode::OK },
    )
    .await;
    let reader = Db::connect(&db.url, 1).await.unwrap();
    assert_eq!(
        inbox(&reader).await.len(),
        2,
        "the first and the retried delivery, nothing else"
    );
}

/// A tenant with its own Meta app signs with that app's secret: accepted beside the
/// platform's, once the tenant directory has it; any other secret is still refused.
async fn a_tenants_own_app_secret_signs_its_deliveries(backend: Backend) {
    const ADMIN: &str = "test-admin-token";
    const OWN: &str = "the-tenants-own-app-secret";
    let db = TestDb::migrated(backend).await;
    let mut settings = SETTINGS.to_vec();
    settings.push(("LYO_ADMIN_TOKEN", ADMIN));
    let platform = platform(&db, &settings).await;
    let base = spawn_app(&platform).await;
    let body = fixtures().remove(0).1;
    let own_signature = meta_signature(OWN, &body);
    let (status, _) = post(&base, body.clone(), Some(own_signature.clone())).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "no tenant has that secret yet"
    );

    let tenant = serde_json::json!({
        "name": "Salone Aurora",
        "time_zone": "Europe/Rome",
        "languages": ["it"],
        "whatsapp": { "phone_number_ids": ["5550001"], "app_secret": OWN },
    });
    let created = lyo_tests::add_tenant(&platform, ADMIN, &tenant).await;
    assert!(
        !created.to_string().contains(OWN),
        "the secret is never returned"
    );
    // Once projected, at once: the refusal above cached the secrets known then, and the
    // projection of the new tenant makes that cache stale.
    lyo_tests::project_tenants(&platform).await;
    let (status, text) = post(&base, body.clone(), Some(own_signature)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _) = post(
        &base,
        body.clone(),
        Some(meta_signature("another-secret", &body)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        signed(&base, &body).await.0,
        StatusCode::OK,
        "the platform's secret still signs"
    );
    assert_eq!(inbox(&platform.db).await.len(), 2);
}
