//! Tenants: the admin API, sealed credentials, the phone-number directory, and the CLI.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use axum::http::StatusCode;
use lyo_api::platform::Platform;
use lyo_application::event_log::Position;
use lyo_application::tenants::TenantDirectory;
use lyo_tests::process::lyo;
use lyo_tests::{call_api as call, master_key, on_both_backends, platform, Backend, TestDb};
use serde_json::{json, Value};

const ADMIN: &str = "test-admin-token";
const TOKEN: &str = "EAAGm0PX4ZCpsBAKZCZA-secret-access-token";

fn new_tenant(phone_number_id: &str) -> String {
    json!({
        "name": "Trattoria da Gino",
        "time_zone": "Europe/Rome",
        "languages": ["it", "en"],
        "whatsapp": {
            "phone_number_ids": [phone_number_id],
            "display_phone_number": "+39 06 1234 5678",
            "access_token": TOKEN,
        }
    })
    .to_string()
}

async fn raw_event_payloads(platform: &Platform) -> String {
    lyo_tests::read_log(platform.log.as_ref(), 1)
        .await
        .iter()
        .map(|e| e.payload.to_string())
        .collect()
}

on_both_backends!(
    an_admin_creates_reads_and_changes_a_tenant,
    tenant_calls_need_the_admin_token,
    bad_tenant_input_gets_a_clear_error,
    a_phone_number_id_routes_to_its_tenant_and_is_not_shared,
);

async fn an_admin_creates_reads_and_changes_a_tenant(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let (status, _, created) = call(
        &platform,
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(new_tenant("1065403522")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Trattoria da Gino");
    assert_eq!(created["whatsapp"]["has_access_token"], true);
    assert!(
        !created.to_string().contains(TOKEN),
        "credentials are never returned"
    );
    let id = created["id"].as_str().unwrap().to_string();

    let (status, _, read) = call(
        &platform,
        "GET",
        &format!("/api/v1/tenants/{id}"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((status, &read), (StatusCode::OK, &created));

    let patch = json!({ "time_zone": "Europe/Madrid", "whatsapp": { "phone_number_ids": ["1065403522", "2000"] } });
    let (status, _, changed) = call(
        &platform,
        "PATCH",
        &format!("/api/v1/tenants/{id}"),
        Some(ADMIN),
        Some(patch.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["time_zone"], "Europe/Madrid");
    assert_eq!(
        changed["whatsapp"]["phone_number_ids"],
        json!(["1065403522", "2000"])
    );
    assert_eq!(changed["name"], "Trattoria da Gino");

    let events = lyo_tests::read_log(platform.log.as_ref(), 3).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "TenantCreated",
            "TenantProfileChanged",
            "TenantWhatsAppChanged"
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.tenant_id == id && e.aggregate_id == id));
    let metadata =
        lyo_application::metadata::EventMetadata::from_json(&events[0].metadata).unwrap();
    assert_eq!(
        metadata.actor.kind,
        lyo_application::metadata::ActorKind::Admin
    );
    assert!(
        !raw_event_payloads(&platform).await.contains(TOKEN),
        "credentials are sealed in events"
    );
}

async fn tenant_calls_need_the_admin_token(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, headers, body) = call(
            &platform,
            "POST",
            "/api/v1/tenants",
            token,
            Some(new_tenant("1")),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(body["error"], "unauthorized");
    }
    assert_eq!(platform.log.count_after(Position::START).await.unwrap(), 0);
}

async fn bad_tenant_input_gets_a_clear_error(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let post = |body: String| {
        call(
            &platform,
            "POST",
            "/api/v1/tenants",
            Some(ADMIN),
            Some(body),
        )
    };

    let (status, _, body) = post("{\"name\": ".into()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (status, _, body) = post(json!({ "name": "x", "time_zone": "Europe/Rome", "whatsapp": { "phone_number_ids": ["1"] }, "colour": "red" }).to_string()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {body}"
    );
    let (status, _, body) = post(new_tenant("1").replace("Europe/Rome", "Europe/Atlantis")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"].as_str().unwrap().contains("time zone"),
        "{body}"
    );
    let (status, _, _) = post(new_tenant("12ab")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let unknown = lyo_domain::ids::TenantId::new();
    for path in [
        format!("/api/v1/tenants/{unknown}"),
        "/api/v1/tenants/not-a-uuid".into(),
    ] {
        let (status, _, body) = call(&platform, "GET", &path, Some(ADMIN), None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }
    let (status, _, _) = call(
        &platform,
        "PATCH",
        &format!("/api/v1/tenants/{unknown}"),
        Some(ADMIN),
        Some("{}".into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        platform.log.count_after(Position::START).await.unwrap(),
        0,
        "nothing recorded"
    );
}

async fn a_phone_number_id_routes_to_its_tenant_and_is_not_shared(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let directory = platform.projector("tenant_directory").unwrap();
    let (_, _, created) = call(
        &platform,
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(new_tenant("555")),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        platform
            .directory
            .tenant_for_phone_number("555")
            .await
            .unwrap(),
        None,
        "not projected yet"
    );
    platform.runner(directory.clone()).catch_up().await.unwrap();
    let routed = platform
        .directory
        .tenant_for_phone_number("555")
        .await
        .unwrap();
    assert_eq!(
        routed.map(|t| t.to_string()),
        Some(id.clone()),
        "the projector cleared the cached miss"
    );

    let (status, _, body) = call(
        &platform,
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(new_tenant("555")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let patch = json!({ "whatsapp": { "phone_number_ids": ["777"] } }).to_string();
    call(
        &platform,
        "PATCH",
        &format!("/api/v1/tenants/{id}"),
        Some(ADMIN),
        Some(patch),
    )
    .await;
    platform.runner(directory).catch_up().await.unwrap();
    assert_eq!(
        platform
            .directory
            .tenant_for_phone_number("555")
            .await
            .unwrap(),
        None
    );
    assert!(platform
        .directory
        .tenant_for_phone_number("777")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn lyo_tenant_add_prints_the_new_tenant_as_json() {
    let db = TestDb::migrated(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("lyo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = master_key();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
        ("LYO_TENANT_ACCESS_TOKEN", TOKEN),
    ];
    let (ok, out) = lyo(
        &dir,
        &[
            "tenant",
            "add",
            "--name",
            "Salone Bella",
            "--timezone",
            "Europe/Rome",
            "--phone-number-id",
            "42",
            "--language",
            "it",
            "--language",
            "en",
        ],
        &env,
    );
    assert!(ok, "{out}");
    let tenant: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(tenant["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert_eq!(tenant["languages"], json!(["it", "en"]));
    assert_eq!(tenant["whatsapp"]["has_access_token"], true);
    assert!(!out.contains(TOKEN));

    let (ok, _) = lyo(
        &dir,
        &[
            "tenant",
            "add",
            "--name",
            "X",
            "--timezone",
            "Mars/Base",
            "--phone-number-id",
            "43",
        ],
        &env,
    );
    assert!(!ok, "a bad time zone fails the command");
    std::fs::remove_dir_all(dir).unwrap();
}
