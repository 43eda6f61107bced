//! Tenant booking and assistant settings: set at creation and by PATCH, validated, recorded as
//! events, and read by the assistant through `TenantConfigs` (the `tenant_settings` read model).

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use axum::http::StatusCode;
use lyo_api::platform::Platform;
use lyo_application::event_log::Position;
use lyo_domain::availability::{Capacity, Minutes};
use lyo_domain::ids::TenantId;
use lyo_domain::reply::ReplyPurpose;
use lyo_domain::understanding::Language;
use lyo_tests::process::lyo;
use lyo_tests::{call_api as call, master_key, on_both_backends, platform, Backend, TestDb};
use serde_json::{json, Value};

const ADMIN: &str = "test-admin-token";
const TOKEN: &str = "EAAGm0PX4ZCpsBAKZCZA-secret-access-token";

fn booking() -> Value {
    json!({
        "weekly": {
            "tuesday": [{"name": "dinner", "from": "19:00", "to": "23:00"}],
            "saturday": [
                {"name": "lunch", "from": "12:00", "to": "15:00"},
                {"name": "dinner", "from": "19:00", "to": "23:30"}
            ]
        },
        "exceptions": [{"date": "2026-12-25", "hours": {"kind": "closed"}}],
        "granularity": 15,
        "lead": {"earliest": 60, "latest_days": 60},
        "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8, "max_covers": 40,
                     "tables": [{"id": "T1", "seats": 2}, {"id": "T2", "seats": 4}],
                     "combinations": [{"tables": ["T1", "T2"]}]}
    })
}

fn assistant() -> Value {
    json!({
        "auto_confirm": false,
        "address": "Via Roma 1, 00100 Roma",
        "reminder_minutes_before": [120, 1440],
        "templates": {
            "reminder": {
                "it": {"name": "promemoria_prenotazione", "language_code": "it"},
                "en": {"name": "booking_reminder", "language_code": "en_US"}
            }
        }
    })
}

fn new_tenant(phone_number_id: &str) -> Value {
    json!({
        "name": "Trattoria da Gino",
        "time_zone": "Europe/Rome",
        "languages": ["it", "en"],
        "whatsapp": {"phone_number_ids": [phone_number_id], "access_token": TOKEN},
        "booking": booking(),
        "assistant": assistant(),
    })
}

async fn create(platform: &Platform, body: &Value) -> (StatusCode, Value) {
    let (status, _, answer) = call(
        platform,
        "POST",
        "/api/v1/tenants",
        Some(ADMIN),
        Some(body.to_string()),
    )
    .await;
    (status, answer)
}

async fn patch(platform: &Platform, id: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, answer) = call(
        platform,
        "PATCH",
        &format!("/api/v1/tenants/{id}"),
        Some(ADMIN),
        Some(body.to_string()),
    )
    .await;
    (status, answer)
}

async fn event_types(platform: &Platform, expected: usize) -> Vec<String> {
    lyo_tests::read_log(platform.log.as_ref(), expected)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn catch_up(platform: &Platform) {
    let projector = platform.projector("tenant_settings").unwrap();
    platform.runner(projector).catch_up().await.unwrap();
}

on_both_backends!(
    settings_given_at_creation_are_recorded_and_returned,
    a_patch_replaces_the_booking_settings_and_merges_the_assistant_settings,
    invalid_settings_are_refused_naming_the_field,
    the_assistant_reads_settings_through_tenant_configs,
);

async fn settings_given_at_creation_are_recorded_and_returned(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let (status, created) = create(&platform, &new_tenant("1065403522")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["booking"]["time_zone"], "Europe/Rome",
        "the tenant's zone"
    );
    assert_eq!(created["booking"]["capacity"]["max_covers"], 40);
    assert_eq!(
        created["booking"]["weekly"]["tuesday"][0]["from"],
        "19:00:00"
    );
    assert_eq!(created["assistant"]["auto_confirm"], false);
    assert_eq!(created["assistant"]["address"], "Via Roma 1, 00100 Roma");
    assert_eq!(
        created["assistant"]["reminder_minutes_before"],
        json!([1440, 120]),
        "longest first"
    );
    assert_eq!(
        created["assistant"]["templates"]["reminder"]["en"],
        json!({"name": "booking_reminder", "language_code": "en_US"})
    );
    let id = created["id"].as_str().unwrap();
    let (status, _, read) = call(
        &platform,
        "GET",
        &format!("/api/v1/tenants/{id}"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((status, &read), (StatusCode::OK, &created));
    assert_eq!(
        event_types(&platform, 3).await,
        [
            "TenantCreated",
            "TenantBookingSettingsChanged",
            "TenantAssistantSettingsChanged"
        ]
    );

    // Without settings: no booking, the assistant's defaults, and no settings events.
    let mut bare = new_tenant("2000");
    bare.as_object_mut().unwrap().remove("booking");
    bare.as_object_mut().unwrap().remove("assistant");
    let (status, created) = create(&platform, &bare).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["booking"], Value::Null);
    assert_eq!(
        created["assistant"],
        json!({"auto_confirm": true, "address": null, "reminder_minutes_before": [1440, 120], "templates": {}})
    );
    assert_eq!(event_types(&platform, 4).await.len(), 4);
}

async fn a_patch_replaces_the_booking_settings_and_merges_the_assistant_settings(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let (_, created) = create(&platform, &new_tenant("1")).await;
    let id = created["id"].as_str().unwrap();

    let mut salon = booking();
    salon["capacity"] = json!({"kind": "salon",
        "services": [{"id": "taglio", "name": "Taglio", "duration": 45}],
        "resources": [{"id": "anna", "name": "Anna", "services": ["taglio"]}]});
    let (status, changed) = patch(
        &platform,
        id,
        json!({"booking": salon, "assistant": {"address": null, "auto_confirm": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["booking"]["capacity"]["kind"], "salon");
    assert_eq!(
        changed["booking"]["exceptions"],
        created["booking"]["exceptions"]
    );
    assert_eq!(changed["assistant"]["address"], Value::Null);
    assert_eq!(changed["assistant"]["auto_confirm"], true);
    assert_eq!(
        changed["assistant"]["templates"], created["assistant"]["templates"],
        "fields not given stay"
    );
    assert_eq!(
        event_types(&platform, 5).await[3..],
        [
            "TenantBookingSettingsChanged",
            "TenantAssistantSettingsChanged"
        ]
    );

    // The same again changes nothing and records nothing.
    let (status, same) = patch(
        &platform,
        id,
        json!({"booking": salon, "assistant": {"auto_confirm": true}}),
    )
    .await;
    assert_eq!((status, &same), (StatusCode::OK, &changed));

    // A new zone for the tenant moves the booking settings along.
    let (status, moved) = patch(&platform, id, json!({"time_zone": "Europe/Madrid"})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["booking"]["time_zone"], "Europe/Madrid");
    assert_eq!(
        event_types(&platform, 7).await[5..],
        ["TenantProfileChanged", "TenantBookingSettingsChanged"]
    );
    assert_eq!(
        platform.log.count_after(Position::START).await.unwrap(),
        7,
        "the repeated change recorded nothing"
    );
}

async fn invalid_settings_are_refused_naming_the_field(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let mut cases = Vec::new();
    let mut twice = new_tenant("1");
    twice["booking"]["capacity"]["tables"][1]["id"] = json!("T1");
    cases.push((twice, "booking.capacity.tables: table T1 is listed twice"));
    let mut overlapping = new_tenant("1");
    overlapping["booking"]["weekly"]["tuesday"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "late", "from": "22:00", "to": "23:45"}));
    cases.push((overlapping, "booking.weekly.tuesday: "));
    let mut madrid = new_tenant("1");
    madrid["booking"]["time_zone"] = json!("Europe/Madrid");
    cases.push((madrid, "booking.time_zone: "));
    let mut typo = new_tenant("1");
    typo["booking"]["capacity"]["max_cover"] = json!(30);
    cases.push((typo, "unknown field `booking.capacity.max_cover`"));
    let mut missing = new_tenant("1");
    missing["booking"].as_object_mut().unwrap().remove("lead");
    cases.push((missing, "booking: missing field `lead`"));
    let mut template = new_tenant("1");
    template["assistant"]["templates"]["reminder"]["it"]["name"] = json!("Promemoria!");
    cases.push((template, "assistant.templates.reminder.it.name: "));
    let mut reminders = new_tenant("1");
    reminders["assistant"]["reminder_minutes_before"] = json!([0]);
    cases.push((reminders, "assistant.reminder_minutes_before: "));

    for (body, expected) in cases {
        let (status, answer) = create(&platform, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["error"], "validation");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{expected:?} in {message:?}");
    }
    assert_eq!(platform.log.count_after(Position::START).await.unwrap(), 0);

    let (_, created) = create(&platform, &new_tenant("1")).await;
    let id = created["id"].as_str().unwrap();
    let (status, answer) = patch(
        &platform,
        id,
        json!({"booking": {"granularity": 0, "weekly": {}, "lead": {"earliest": 0, "latest_days": 1},
                           "capacity": {"kind": "restaurant", "seating": 60, "largest_party": 2, "max_covers": 4}}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("booking.granularity: "),
        "{answer}"
    );
    assert_eq!(
        platform.log.count_after(Position::START).await.unwrap(),
        3,
        "only the creation"
    );
}

async fn the_assistant_reads_settings_through_tenant_configs(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[("LYO_ADMIN_TOKEN", ADMIN)]).await;
    let configs = platform.tenant_configs.clone();
    let (_, created) = create(&platform, &new_tenant("1065403522")).await;
    let id: TenantId = created["id"].as_str().unwrap().parse().unwrap();

    assert_eq!(configs.get(id).await.unwrap(), None, "not projected yet");
    assert!(!configs.is_current().await.unwrap());
    lyo_tests::read_log(platform.log.as_ref(), 3).await;
    catch_up(&platform).await;
    assert!(configs.is_current().await.unwrap());
    let config = configs.get(id).await.unwrap().expect("projected");
    assert_eq!(config.name, "Trattoria da Gino");
    assert_eq!(config.time_zone, "Europe/Rome");
    assert_eq!(config.languages, [Language::It, Language::En]);
    assert_eq!(config.default_language(), Language::It);
    assert_eq!(config.phone_number_ids, ["1065403522"]);
    assert!(!config.auto_confirm);
    assert_eq!(config.address.as_deref(), Some("Via Roma 1, 00100 Roma"));
    assert_eq!(
        config.reminder_minutes_before,
        [Minutes(1440), Minutes(120)]
    );
    assert_eq!(
        config
            .template(ReplyPurpose::Reminder, Language::It)
            .map(|t| t.name.as_str()),
        Some("promemoria_prenotazione")
    );
    let booking = config.booking.as_ref().expect("valid booking settings");
    assert_eq!(booking.settings().time_zone, "Europe/Rome");
    assert!(matches!(
        booking.settings().capacity,
        Capacity::Restaurant(_)
    ));
    assert_eq!(
        configs.get(TenantId::new()).await.unwrap(),
        None,
        "unknown tenant"
    );

    // Cached: a change shows only once the projector applied it, and then at once.
    patch(
        &platform,
        &id.to_string(),
        json!({"name": "Da Gino", "assistant": {"auto_confirm": true}}),
    )
    .await;
    let cached = configs.get(id).await.unwrap().unwrap();
    assert_eq!(cached.name, "Trattoria da Gino", "served from the cache");
    lyo_tests::read_log(platform.log.as_ref(), 5).await;
    catch_up(&platform).await;
    let fresh = configs.get(id).await.unwrap().unwrap();
    assert_eq!((fresh.name.as_str(), fresh.auto_confirm), ("Da Gino", true));
    assert!(fresh.position > cached.position);

    // No credentials in the read model, and a rebuild gives the same configuration.
    let dump = table_dump(&platform).await;
    assert!(
        dump.contains("Da Gino") && !dump.contains("nonce"),
        "{dump}"
    );
    let projector = platform.projector("tenant_settings").unwrap();
    projector.reset().await.unwrap();
    catch_up(&platform).await;
    assert_eq!(table_dump(&platform).await, dump);
}

async fn table_dump(platform: &Platform) -> String {
    const SQL: &str = "SELECT tenant_id || ' ' || state FROM tenant_settings ORDER BY tenant_id";
    let rows: Vec<String> = match &platform.db {
        lyo_infrastructure::db::Db::Postgres(pool) => {
            sqlx::query_scalar(SQL).fetch_all(pool).await.unwrap()
        }
        lyo_infrastructure::db::Db::Sqlite(pool) => {
            sqlx::query_scalar(SQL).fetch_all(pool).await.unwrap()
        }
    };
    rows.join("\n")
}

#[tokio::test]
async fn lyo_tenant_add_takes_settings_from_files() {
    let db = TestDb::migrated(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("lyo-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("booking.json"), booking().to_string()).unwrap();
    std::fs::write(dir.join("assistant.json"), assistant().to_string()).unwrap();
    std::fs::write(dir.join("bad.json"), json!({"granularity": 15}).to_string()).unwrap();
    let key = master_key();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("LYO_MASTER_KEY", key.as_str()),
    ];
    let args = |phone: &'static str, booking: &'static str| {
        vec![
            "tenant",
            "add",
            "--name",
            "Trattoria",
            "--timezone",
            "Europe/Rome",
            "--phone-number-id",
            phone,
            "--booking-file",
            booking,
            "--assistant-file",
            "assistant.json",
        ]
    };
    let (ok, out) = lyo(&dir, &args("42", "booking.json"), &env);
    assert!(ok, "{out}");
    let tenant: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(tenant["booking"]["time_zone"], "Europe/Rome");
    assert_eq!(tenant["assistant"]["auto_confirm"], false);

    let (ok, _) = lyo(&dir, &args("43", "bad.json"), &env);
    assert!(!ok, "a malformed settings file fails the command");
    std::fs::remove_dir_all(dir).unwrap();
}
