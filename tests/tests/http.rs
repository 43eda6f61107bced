//! The HTTP surface in-process (tower `oneshot`): every error mapping of the routes so far.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use lyo_api::http::{router, AppState};
use lyo_api::platform::{Migrate, Platform};
use lyo_api::telemetry::metrics_handle;
use lyo_tests::{on_both_backends, Backend, TestDb};
use tower::ServiceExt;

async fn get(
    platform: &Platform,
    path: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    lyo_tests::call_api(platform, "GET", path, None, None).await
}

on_both_backends!(ready_is_503_until_migrations_are_applied);

async fn ready_is_503_until_migrations_are_applied(backend: Backend) {
    let test_db = TestDb::empty(backend).await;
    let (platform, _) = Platform::open(lyo_tests::settings(&test_db, &[]), Migrate::No)
        .await
        .unwrap();
    let db = platform.db.clone();
    let (status, headers, body) = get(&platform, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["error"], "unavailable");
    assert!(body["message"].as_str().unwrap().contains("lyo migrate"));

    let (status, _, _) = get(&platform, "/health").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );

    db.migrate().await.unwrap();
    let (status, _, body) = get(&platform, "/ready").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    db.close().await;
    let (status, _, body) = get(&platform, "/ready").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "an unreachable database is not ready"
    );
    assert_eq!(body["message"], "database unreachable");
}

#[tokio::test]
async fn an_unknown_path_is_404_and_metrics_are_prometheus_text() {
    let test_db = TestDb::empty(Backend::Sqlite).await;
    let (platform, _) = Platform::open(lyo_tests::settings(&test_db, &[]), Migrate::No)
        .await
        .unwrap();
    let (status, _, _) = get(&platform, "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = router(AppState::new(&platform, metrics_handle()))
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
}
