//! Personal data in events: sealed at rest, opened on load, redacted after erasure.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{CqrsFramework, EventStore};
use lyo_api::platform::Platform;

use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_infrastructure::db::Db;
use lyo_infrastructure::pii::MasterKey;
use lyo_tests::ledger::{Ledger, LedgerCommand};
use lyo_tests::{on_both_backends, platform, Backend, TestDb};

const NAME: &str = "Giulia Bianchi";

type Store = PersistedEventStore<lyo_infrastructure::event_store::EventRepository, Ledger>;

async fn open_ledger(platform: &Platform, tenant: TenantId, subject: SubjectId) {
    open_ledger_named(platform, "ledger-1", tenant, subject).await
}

/// Opens `ledger` with the subject's name as owner, and deposits twice.
async fn open_ledger_named(
    platform: &Platform,
    ledger: &str,
    tenant: TenantId,
    subject: SubjectId,
) {
    let cqrs = CqrsFramework::new(
        Store::new_event_store(platform.repository.clone()),
        vec![],
        (),
    );
    let metadata = lyo_tests::system_metadata(tenant);
    let owner = Personal::new(subject, NAME.to_string());
    cqrs.execute_with_metadata(ledger, LedgerCommand::Open { owner }, metadata.to_map())
        .await
        .unwrap();
    let deposit = LedgerCommand::Deposit {
        amount: 7,
        times: 2,
    };
    cqrs.execute_with_metadata(ledger, deposit, metadata.to_map())
        .await
        .unwrap();
}

async fn raw_payloads(db: &Db) -> Vec<String> {
    match db {
        Db::Postgres(pool) => sqlx::query_scalar("SELECT payload::text FROM events")
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT payload FROM events")
            .fetch_all(pool)
            .await
            .unwrap(),
    }
}

async fn load(platform: &Platform) -> Ledger {
    Store::new_event_store(platform.repository.clone())
        .load_aggregate("ledger-1")
        .await
        .unwrap()
        .aggregate
}

on_both_backends!(
    personal_fields_are_sealed_at_rest_and_opened_on_load,
    erasing_a_subject_redacts_its_fields_and_keeps_its_events,
    a_wrong_master_key_is_an_error_not_an_erasure,
    a_write_after_erasure_stores_the_subject_redacted,
    another_tenant_cannot_erase_or_use_a_subject,
);

async fn personal_fields_are_sealed_at_rest_and_opened_on_load(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let subject = SubjectId::new();
    open_ledger(&platform, TenantId::new(), subject).await;

    let raw = raw_payloads(&platform.db).await;
    assert_eq!(raw.len(), 3);
    for payload in &raw {
        assert!(
            !payload.contains("Giulia") && !payload.contains("Bianchi"),
            "plaintext at rest: {payload}"
        );
        assert!(
            !payload.contains("$pii"),
            "an unsealed marker at rest: {payload}"
        );
    }
    assert!(raw[0].contains("$sealed") && raw[0].contains(&subject.to_string()));

    let ledger = load(&platform).await;
    let owner = ledger.owner.unwrap();
    assert_eq!(owner.value().map(String::as_str), Some(NAME));
    assert_eq!(owner.subject(), subject);
    assert_eq!(ledger.balance, 14);
}

async fn erasing_a_subject_redacts_its_fields_and_keeps_its_events(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let tenant = TenantId::new();
    let subject = SubjectId::new();
    open_ledger(&platform, tenant, subject).await;
    let before = raw_payloads(&platform.db).await;

    platform
        .repository
        .vault()
        .erase_subject(&tenant.to_string(), &subject.to_string())
        .await
        .unwrap();

    assert_eq!(
        raw_payloads(&platform.db).await,
        before,
        "the event log is untouched"
    );
    let ledger = load(&platform).await;
    let owner = ledger.owner.expect("the Opened event still loads");
    assert!(owner.is_redacted());
    assert_eq!(owner.subject(), subject);
    assert_eq!(ledger.balance, 14, "non-personal fields are intact");
}

async fn a_wrong_master_key_is_an_error_not_an_erasure(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    open_ledger(&platform, TenantId::new(), SubjectId::new()).await;

    let other_key = MasterKey::generate_base64();
    let wrong = lyo_tests::platform(&db, &[("LYO_MASTER_KEY", &other_key)]).await;
    let result = Store::new_event_store(wrong.repository.clone())
        .load_aggregate("ledger-1")
        .await;
    let error = result
        .err()
        .expect("a key that does not open must not look like an erasure");
    assert!(error.to_string().contains("LYO_MASTER_KEY"), "{error}");
}

async fn a_write_after_erasure_stores_the_subject_redacted(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let tenant = TenantId::new();
    let subject = SubjectId::new();
    open_ledger(&platform, tenant, subject).await;
    platform
        .repository
        .vault()
        .erase_subject(&tenant.to_string(), &subject.to_string())
        .await
        .unwrap();

    // A command decided before the erasure still carries the value: it must not come back.
    open_ledger_named(&platform, "ledger-2", tenant, subject).await;
    for payload in raw_payloads(&platform.db).await {
        assert!(!payload.contains("Giulia"), "plaintext at rest: {payload}");
    }
    let ledger = Store::new_event_store(platform.repository.clone())
        .load_aggregate("ledger-2")
        .await
        .unwrap()
        .aggregate;
    assert!(ledger.owner.unwrap().is_redacted());
}

async fn another_tenant_cannot_erase_or_use_a_subject(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let platform = platform(&db, &[]).await;
    let (tenant, other) = (TenantId::new(), TenantId::new());
    let subject = SubjectId::new();
    open_ledger(&platform, tenant, subject).await;
    let refused = platform
        .repository
        .vault()
        .erase_subject(&other.to_string(), &subject.to_string())
        .await;
    assert!(refused.is_err());
    let ledger = load(&platform).await;
    assert_eq!(
        ledger.owner.unwrap().value().map(String::as_str),
        Some(NAME)
    );
}
