//! From a signed webhook to conversation events: routing, identity, duplicates, statuses,
//! late and rate-limited messages, personal data sealed, bodies purged. Both backends.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::EventStore;
use lyo_api::platform::Platform;
use lyo_application::event_log::RecordedEvent;
use lyo_application::metadata::{Actor, ActorKind, EventMetadata};
use lyo_application::tenants::{Caller, NewTenant, NewWhatsApp};
use lyo_domain::conversation::{Conversation, ConversationEvent};
use lyo_infrastructure::db::Db;
use lyo_tests::{meta_signature, on_both_backends, platform, spawn_app, Backend, TestDb};
use serde_json::{json, Value};
use std::collections::HashMap;

const SECRET: &str = "meta-app-secret";
const PHONE_NUMBER_ID: &str = "1065403522";

struct Setup {
    platform: Platform,
    base: String,
    tenant: String,
}

async fn setup(backend: Backend, db: &TestDb, extra: &[(&str, &str)]) -> Setup {
    let mut settings = vec![("WHATSAPP_APP_SECRET", SECRET)];
    settings.extend_from_slice(extra);
    let platform = platform(db, &settings).await;
    let caller = Caller {
        actor: Actor {
            kind: ActorKind::Admin,
            id: "test".into(),
        },
        request_id: None,
    };
    let tenant = platform
        .tenants
        .create(
            NewTenant {
                name: "Trattoria".into(),
                time_zone: "Europe/Rome".into(),
                languages: vec![lyo_domain::understanding::Language::It],
                whatsapp: NewWhatsApp {
                    phone_number_ids: vec![PHONE_NUMBER_ID.into()],
                    display_phone_number: None,
                    business_account_id: None,
                    access_token: None,
                    app_secret: None,
                },
                booking: None,
                assistant: None,
            },
            &caller,
        )
        .await
        .unwrap();
    lyo_tests::project_tenants(&platform).await;
    let _ = backend;
    let base = spawn_app(&platform).await;
    Setup {
        platform,
        base,
        tenant: tenant.id.to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn envelope(phone_number_id: &str, value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({ "display_phone_number": "15550001111", "phone_number_id": phone_number_id });
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": value }] }]
    }))
    .unwrap()
}

/// A text message from a customer known by phone number and/or business-scoped user id.
fn text(
    wamid: &str,
    wa_id: Option<&str>,
    user_id: Option<&str>,
    body: &str,
    sent_at: i64,
) -> Vec<u8> {
    let mut contact = json!({ "profile": { "name": "Giulia Bianchi" } });
    let mut message = json!({ "id": wamid, "timestamp": sent_at.to_string(), "type": "text", "text": { "body": body } });
    if let Some(wa_id) = wa_id {
        contact["wa_id"] = json!(wa_id);
        message["from"] = json!(wa_id);
    }
    if let Some(user_id) = user_id {
        contact["user_id"] = json!(user_id);
        message["from_user_id"] = json!(user_id);
    }
    envelope(
        PHONE_NUMBER_ID,
        json!({ "contacts": [contact], "messages": [message] }),
    )
}

/// A text from the customer with phone number `wa_id`, sent now.
async fn say(setup: &Setup, wamid: &str, wa_id: &str, body: &str) {
    deliver(setup, &text(wamid, Some(wa_id), None, body, now())).await;
}

async fn deliver(setup: &Setup, body: &[u8]) {
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp", setup.base))
        .header("x-hub-signature-256", meta_signature(SECRET, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// What the ingress recorded: the conversations' `MessageReceived` and `MessageStatusChanged`
/// events (the dialogue's answers to them are the booking suite's subject).
async fn conversation_events(platform: &Platform, at_least: usize) -> Vec<RecordedEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events: Vec<RecordedEvent> = lyo_tests::read_log(platform.log.as_ref(), 0)
            .await
            .into_iter()
            .filter(|e| {
                e.aggregate_type == "Conversation"
                    && matches!(
                        e.event_type.as_str(),
                        "MessageReceived" | "MessageStatusChanged"
                    )
            })
            .collect();
        if events.len() >= at_least || std::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every event of every conversation, in global order.
async fn all_conversation_events(platform: &Platform) -> Vec<RecordedEvent> {
    lyo_tests::read_log(platform.log.as_ref(), 0)
        .await
        .into_iter()
        .filter(|e| e.aggregate_type == "Conversation")
        .collect()
}

/// The sequences of every conversation's events (the dialogue's answers included), each
/// checked to run from 1 with no gap and no repeat.
async fn gapless_conversations(platform: &Platform) -> HashMap<String, Vec<i64>> {
    let mut by_conversation: HashMap<String, Vec<i64>> = HashMap::new();
    for event in all_conversation_events(platform).await {
        by_conversation
            .entry(event.aggregate_id)
            .or_default()
            .push(event.sequence);
    }
    for sequences in by_conversation.values_mut() {
        sequences.sort_unstable();
        let n = sequences.len() as i64;
        assert_eq!(
            *sequences,
            (1..=n).collect::<Vec<i64>>(),
            "no gap, no repeat"
        );
    }
    by_conversation
}

async fn pending_bodies(db: &Db) -> (i64, i64) {
    // Processed rows are deleted, bodies with them; a pending one keeps its sealed body.
    const SQL: &str = "SELECT (SELECT count(*) FROM webhook_inbox WHERE processed_at IS NULL),
                              (SELECT count(body_sealed) FROM webhook_inbox)";
    match db {
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_one(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_one(pool).await.unwrap(),
    }
}

async fn opened(platform: &Platform, subject: &str) -> Vec<ConversationEvent> {
    PersistedEventStore::<_, Conversation>::new_event_store(platform.repository.clone())
        .load_events(subject)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

on_both_backends!(
    a_message_becomes_a_sealed_conversation_event_and_its_body_is_purged,
    repeated_deliveries_change_nothing_even_when_processed_concurrently,
    a_user_id_and_a_phone_number_seen_together_are_one_customer,
    delivery_statuses_are_recorded_once_each,
    late_and_rate_limited_messages_are_recorded_but_not_answered,
    a_tenant_flooded_by_many_customers_is_rate_limited_as_a_whole,
    a_delivery_for_an_unknown_number_records_nothing,
    a_batch_of_entries_messages_and_statuses_is_processed_whole,
    a_message_for_a_tenant_not_yet_projected_waits_instead_of_being_dropped,
    a_number_this_process_saw_unknown_is_routed_once_another_projected_its_tenant,
    a_worker_decides_on_what_another_wrote_after_it_cached_a_conversation,
    the_running_worker_records_every_message_once_in_sequence,
    the_worker_handed_the_inbox_records_every_message_once,
    a_handed_row_left_unprocessed_is_claimed_from_the_table_once_its_claim_ends,
    deliveries_beyond_what_the_worker_has_taken_are_stored_unclaimed,
);

/// The pipelined loop of `lyo serve` (the next batch decided while the previous one commits),
/// twice, as in two processes racing for the same conversations (conflicts, discarded
/// pipelined batches): waves of messages, with copies, over a few customers.
async fn the_running_worker_records_every_message_once_in_sequence(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let workers = [
        tokio::spawn(s.platform.inbox_worker().run(cancel.clone())),
        tokio::spawn(s.platform.inbox_worker().run(cancel.clone())),
    ];
    let customers = ["393330000101", "393330000102", "393330000103"];
    for wave in 0..6 {
        let mut bodies = Vec::new();
        for n in 0..10 {
            let id = format!("wamid.W{wave}.{n}");
            bodies.push(text(&id, Some(customers[n % 3]), None, "ciao", now()));
        }
        let copies = bodies.clone();
        for body in bodies.iter().chain(&copies) {
            deliver(&s, body).await;
        }
    }
    let events = conversation_events(&s.platform, 60).await;
    // Nothing more arrives after a further pass.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let events_after = conversation_events(&s.platform, 60).await;
    cancel.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(events.len(), 60, "60 messages, each twice: 60 events");
    assert_eq!(events_after.len(), 60);
    let by_conversation = gapless_conversations(&s.platform).await;
    assert_eq!(by_conversation.len(), 3);
    let mut sizes: Vec<usize> = by_conversation
        .keys()
        .map(|id| events.iter().filter(|e| &e.aggregate_id == id).count())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [18, 18, 24]);
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

/// Workers cache conversation states; another process may append to the same conversation
/// meanwhile. The first worker must see that (no duplicate, no lost sequence) on its next batch.
async fn a_worker_decides_on_what_another_wrote_after_it_cached_a_conversation(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let (first, second) = (s.platform.inbox_worker(), s.platform.inbox_worker());
    let m = |id: &str| text(id, Some("393330000042"), None, "ciao", now());
    deliver(&s, &m("wamid.C1")).await;
    assert_eq!(first.drain().await.unwrap(), 1);
    deliver(&s, &m("wamid.C2")).await;
    assert_eq!(second.drain().await.unwrap(), 1, "the other process");
    // A copy of what the other one recorded, and something new, in one batch.
    deliver(&s, &m("wamid.C2")).await;
    deliver(&s, &m("wamid.C3")).await;
    assert_eq!(first.drain().await.unwrap(), 2);
    let events = conversation_events(&s.platform, 3).await;
    assert_eq!(events.len(), 3, "one event per message");
    let sequences: Vec<i64> = all_conversation_events(&s.platform)
        .await
        .iter()
        .map(|e| e.sequence)
        .collect();
    let n = sequences.len() as i64;
    assert_eq!(
        sequences,
        (1..=n).collect::<Vec<i64>>(),
        "no gap, no repeat"
    );
    let ids: Vec<String> = opened(&s.platform, &events[0].aggregate_id)
        .await
        .into_iter()
        .filter_map(|e| match e {
            ConversationEvent::MessageReceived(m) => Some(m.message_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["wamid.C1", "wamid.C2", "wamid.C3"]);
}

async fn a_message_for_a_tenant_not_yet_projected_waits_instead_of_being_dropped(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    // A second tenant, created but not yet in the directory.
    let caller = Caller {
        actor: Actor {
            kind: ActorKind::Admin,
            id: "test".into(),
        },
        request_id: None,
    };
    let new = NewTenant {
        name: "Nuovo".into(),
        time_zone: "Europe/Rome".into(),
        languages: vec![lyo_domain::understanding::Language::It],
        whatsapp: NewWhatsApp {
            phone_number_ids: vec!["777000".into()],
            display_phone_number: None,
            business_account_id: None,
            access_token: None,
            app_secret: None,
        },
        booking: None,
        assistant: None,
    };
    s.platform.tenants.create(new, &caller).await.unwrap();
    let body = envelope(
        "777000",
        json!({ "messages": [{ "from": "393330000777", "id": "wamid.N1", "timestamp": now().to_string(), "type": "text", "text": { "body": "ciao" } }] }),
    );
    deliver(&s, &body).await;
    s.platform.inbox_worker().drain().await.unwrap();
    assert!(conversation_events(&s.platform, 0).await.is_empty());
    assert_eq!(
        pending_bodies(&s.platform.db).await.0,
        1,
        "kept for later, not dropped"
    );

    lyo_tests::project_tenants(&s.platform).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    s.platform.inbox_worker().drain().await.unwrap();
    assert_eq!(conversation_events(&s.platform, 1).await.len(), 1);
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

/// Two processes on one database: this one stores a delivery for a number before its tenant
/// exists (and remembers the number as unknown for a few seconds); the other creates the
/// tenant and projects it.
/// The directory is then current, but this process's answer for the number is not: its
/// message is routed, not dropped as a message for nobody.
async fn a_number_this_process_saw_unknown_is_routed_once_another_projected_its_tenant(
    backend: Backend,
) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let other = platform(&db, &[("WHATSAPP_APP_SECRET", SECRET)]).await;
    let body = envelope(
        "777000",
        json!({ "messages": [{ "from": "393330000777", "id": "wamid.N1", "timestamp": now().to_string(), "type": "text", "text": { "body": "ciao" } }] }),
    );
    // Stored, and the number looked up on the way (the webhook's check): unknown.
    deliver(&s, &body).await;

    let caller = Caller {
        actor: Actor {
            kind: ActorKind::Admin,
            id: "test".into(),
        },
        request_id: None,
    };
    let new = NewTenant {
        name: "Nuovo".into(),
        time_zone: "Europe/Rome".into(),
        languages: vec![lyo_domain::understanding::Language::It],
        whatsapp: NewWhatsApp {
            phone_number_ids: vec!["777000".into()],
            display_phone_number: None,
            business_account_id: None,
            access_token: None,
            app_secret: None,
        },
        booking: None,
        assistant: None,
    };
    other.tenants.create(new, &caller).await.unwrap();
    lyo_tests::project_tenants(&other).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    s.platform.inbox_worker().drain().await.unwrap();
    assert_eq!(conversation_events(&s.platform, 1).await.len(), 1);
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

async fn a_batch_of_entries_messages_and_statuses_is_processed_whole(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let change = |messages: Value, statuses: Value| {
        json!({ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID },
            "messages": messages, "statuses": statuses } })
    };
    let message = |id: &str, from: &str| json!({ "from": from, "id": id, "timestamp": now().to_string(), "type": "text", "text": { "body": "ok" } });
    let status = |id: &str, to: &str| json!({ "id": id, "status": "read", "timestamp": now().to_string(), "recipient_id": to });
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [
            { "id": "1", "changes": [
                change(json!([message("wamid.B1", "391"), message("wamid.B2", "392")]), json!([status("wamid.O1", "391")])),
                change(json!([message("wamid.B3", "393")]), json!([])) ] },
            { "id": "2", "changes": [ change(json!([]), json!([status("wamid.O2", "392"), status("wamid.O3", "394")])) ] }
        ]
    }))
    .unwrap();
    deliver(&s, &body).await;
    s.platform.inbox_worker().drain().await.unwrap();
    let events = conversation_events(&s.platform, 6).await;
    let count = |kind: &str| events.iter().filter(|e| e.event_type == kind).count();
    assert_eq!(
        (count("MessageReceived"), count("MessageStatusChanged")),
        (3, 3)
    );
    let customers: std::collections::HashSet<&str> =
        events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(customers.len(), 4, "391, 392, 393 and 394");
}

async fn a_message_becomes_a_sealed_conversation_event_and_its_body_is_purged(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    say(
        &s,
        "wamid.A1",
        "393331234567",
        "tavolo per 4 domani alle 20",
    )
    .await;
    assert_eq!(s.platform.inbox_worker().drain().await.unwrap(), 1);

    let events = conversation_events(&s.platform, 1).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "MessageReceived");
    assert_eq!(event.tenant_id, s.tenant);
    let metadata = EventMetadata::from_json(&event.metadata).unwrap();
    assert_eq!(metadata.actor.kind, ActorKind::Customer);
    assert_eq!(
        metadata.actor.id, event.aggregate_id,
        "the actor is the subject, never a number"
    );
    assert_eq!(metadata.correlation_id, "wamid.A1");
    let raw = event.payload.to_string();
    for secret in ["393331234567", "Giulia", "tavolo"] {
        assert!(
            !raw.contains(secret),
            "{secret} at rest in plaintext: {raw}"
        );
    }
    assert!(!event.aggregate_id.contains("3933"));
    assert_eq!(
        pending_bodies(&s.platform.db).await,
        (0, 0),
        "processed and purged"
    );

    let ConversationEvent::MessageReceived(message) =
        &opened(&s.platform, &event.aggregate_id).await[0]
    else {
        panic!("not a message")
    };
    assert_eq!(
        message.text.as_ref().unwrap().value().unwrap(),
        "tavolo per 4 domani alle 20"
    );
    assert_eq!(
        message.customer.wa_id.as_ref().unwrap().value().unwrap(),
        "393331234567"
    );
    assert_eq!(
        message.answering,
        lyo_domain::conversation::Answering::Answer
    );
}

async fn repeated_deliveries_change_nothing_even_when_processed_concurrently(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let body = text("wamid.D1", Some("393330000001"), None, "ciao", now());
    for _ in 0..3 {
        deliver(&s, &body).await;
    }
    s.platform.inbox_worker().drain().await.unwrap();
    for _ in 0..10 {
        deliver(&s, &body).await;
    }
    // Two workers (as in two processes) race over the same copies.
    let (a, b) = (s.platform.inbox_worker(), s.platform.inbox_worker());
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    assert_eq!(
        ra.unwrap() + rb.unwrap(),
        10,
        "each copy processed by exactly one worker"
    );
    let events = conversation_events(&s.platform, 1).await;
    assert_eq!(events.len(), 1, "13 copies, one event");
}

async fn a_user_id_and_a_phone_number_seen_together_are_one_customer(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    deliver(
        &s,
        &text("wamid.I1", None, Some("IT.1234567890"), "ciao", now()),
    )
    .await;
    deliver(
        &s,
        &text(
            "wamid.I2",
            Some("393339999999"),
            Some("IT.1234567890"),
            "sono io",
            now(),
        ),
    )
    .await;
    say(&s, "wamid.I3", "393339999999", "ancora io").await;
    say(&s, "wamid.I4", "393338888888", "un altro").await;
    s.platform.inbox_worker().drain().await.unwrap();
    let events = conversation_events(&s.platform, 4).await;
    let conversations: std::collections::HashSet<&str> =
        events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(events.len(), 4);
    assert_eq!(
        conversations.len(),
        2,
        "three messages of one customer, one of another"
    );
    assert_eq!(events[0].aggregate_id, events[2].aggregate_id);
    assert_ne!(events[0].aggregate_id, events[3].aggregate_id);
}

async fn delivery_statuses_are_recorded_once_each(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let status = |status: &str, errors: Value| {
        envelope(
            PHONE_NUMBER_ID,
            json!({ "statuses": [{ "id": "wamid.OUT1", "status": status, "timestamp": now().to_string(),
                                   "recipient_id": "393337777777", "errors": errors }] }),
        )
    };
    for (name, errors) in [
        ("sent", json!([])),
        ("delivered", json!([])),
        ("delivered", json!([])),
        ("read", json!([])),
        (
            "failed",
            json!([{ "code": 131047, "title": "Re-engagement message" }]),
        ),
    ] {
        deliver(&s, &status(name, errors)).await;
    }
    s.platform.inbox_worker().drain().await.unwrap();
    let events = conversation_events(&s.platform, 4).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds, ["MessageStatusChanged"; 4],
        "the repeated `delivered` changed nothing"
    );
    let statuses: Vec<Value> = opened(&s.platform, &events[0].aggregate_id)
        .await
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(
        statuses[3]["MessageStatusChanged"]["error_codes"],
        json!([131047])
    );
    assert_eq!(
        EventMetadata::from_json(&events[0].metadata)
            .unwrap()
            .actor
            .kind,
        ActorKind::Meta
    );
}

async fn late_and_rate_limited_messages_are_recorded_but_not_answered(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(
        backend,
        &db,
        &[
            ("LYO_RATE_CUSTOMER_PER_MINUTE", "2"),
            ("LYO_MAX_MESSAGE_AGE_SECS", "3600"),
        ],
    )
    .await;
    deliver(
        &s,
        &text(
            "wamid.L0",
            Some("393331111111"),
            None,
            "di due giorni fa",
            now() - 2 * 86_400,
        ),
    )
    .await;
    for n in 1..=3 {
        say(&s, &format!("wamid.L{n}"), "393332222222", "ciao").await;
    }
    s.platform.inbox_worker().drain().await.unwrap();
    let answering = answering_by_message(&s.platform, 4).await;
    use lyo_domain::conversation::Answering::*;
    assert_eq!(
        answering.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
        [TooOld, Answer, Answer, RateLimited],
        "{answering:?}"
    );
    // Each kind of message left unanswered is counted, by reason.
    let metrics = lyo_api::telemetry::metrics_handle().render();
    for reason in ["too_old", "rate_limited"] {
        assert!(
            metrics.contains(&format!(
                "lyo_messages_not_answered_total{{reason=\"{reason}\"}}"
            )),
            "{reason}: {metrics}"
        );
    }
}

/// Per tenant as well as per customer: many customers together can flood a tenant.
async fn a_tenant_flooded_by_many_customers_is_rate_limited_as_a_whole(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[("LYO_RATE_TENANT_PER_MINUTE", "2")]).await;
    for n in 1..=3 {
        say(
            &s,
            &format!("wamid.T{n}"),
            &format!("39333444000{n}"),
            "ciao",
        )
        .await;
    }
    s.platform.inbox_worker().drain().await.unwrap();
    let answering = answering_by_message(&s.platform, 3).await;
    use lyo_domain::conversation::Answering::*;
    assert_eq!(
        answering.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
        [Answer, Answer, RateLimited],
        "{answering:?}"
    );
}

/// How each recorded message was to be answered, by message id (waits for `at_least` events).
async fn answering_by_message(
    platform: &Platform,
    at_least: usize,
) -> Vec<(String, lyo_domain::conversation::Answering)> {
    let mut answering = Vec::new();
    for event in &conversation_events(platform, at_least).await {
        for opened in opened(platform, &event.aggregate_id).await {
            if let ConversationEvent::MessageReceived(m) = opened {
                if !answering.iter().any(|(id, _)| id == &m.message_id) {
                    answering.push((m.message_id.clone(), m.answering));
                }
            }
        }
    }
    answering.sort_by(|a, b| a.0.cmp(&b.0));
    answering
}

async fn a_delivery_for_an_unknown_number_records_nothing(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let body = envelope(
        "999999",
        json!({ "messages": [{ "from": "393330000009", "id": "wamid.U1", "timestamp": now().to_string(), "type": "text", "text": { "body": "?" } }] }),
    );
    deliver(&s, &body).await;
    assert_eq!(s.platform.inbox_worker().drain().await.unwrap(), 1);
    assert!(conversation_events(&s.platform, 0).await.is_empty());
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

/// `lyo serve`'s first worker is handed what the webhook stores (claimed for it at insert);
/// a second worker, as in another process, claims from the table. Copies, several customers,
/// waves: every message once, every conversation without gaps, the inbox empty. The rows are
/// claimed for an hour: only the hand-over can have processed them.
async fn the_worker_handed_the_inbox_records_every_message_once(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let handed = s
        .platform
        .inbox_worker()
        .claiming_for(std::time::Duration::from_secs(3600))
        .with_handed(&s.platform.inbox);
    let workers = [
        tokio::spawn(handed.run(cancel.clone())),
        tokio::spawn(s.platform.inbox_worker().run(cancel.clone())),
    ];
    let customers = ["393330000201", "393330000202", "393330000203"];
    for wave in 0..5 {
        let bodies: Vec<Vec<u8>> = (0..8)
            .map(|n| {
                let id = format!("wamid.H{wave}.{n}");
                text(&id, Some(customers[n % 3]), None, "ciao", now())
            })
            .collect();
        // Each delivery twice, the copies at the same moment as the originals.
        let sends = bodies.iter().chain(&bodies).map(|body| deliver(&s, body));
        futures::future::join_all(sends).await;
    }
    let events = conversation_events(&s.platform, 40).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let events_after = conversation_events(&s.platform, 40).await;
    cancel.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(events.len(), 40, "40 messages, each twice: 40 events");
    assert_eq!(events_after.len(), 40);
    assert_eq!(gapless_conversations(&s.platform).await.len(), 3);
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

/// A row handed over is stored claimed, so no other worker takes it; if its worker never
/// processes it (the process died), it is claimed from the table once the claim ends. Once
/// the hand-over ends (its receiver dropped), rows are stored unclaimed again.
async fn a_handed_row_left_unprocessed_is_claimed_from_the_table_once_its_claim_ends(
    backend: Backend,
) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let mut receiver = s
        .platform
        .inbox
        .hand_over(std::time::Duration::from_secs(600))
        .rows;
    say(&s, "wamid.C1", "393330000301", "ciao").await;
    let handed = receiver.try_recv().expect("handed over once stored");
    assert_eq!(handed.rows.len(), 1);
    let claimed: Option<i64> = match &s.platform.db {
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT claimed_until_ms FROM webhook_inbox WHERE id = $1")
                .bind(handed.rows[0].0)
                .fetch_one(pool)
                .await
                .unwrap()
        }
        Db::Sqlite(pool) => {
            sqlx::query_scalar("SELECT claimed_until_ms FROM webhook_inbox WHERE id = $1")
                .bind(handed.rows[0].0)
                .fetch_one(pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(claimed, Some(handed.claimed_until_ms), "stored claimed");
    let other = s.platform.inbox_worker();
    assert_eq!(
        other.drain().await.unwrap(),
        0,
        "claimed for the handed worker"
    );

    // The hand-over ends: the next delivery is stored unclaimed and any worker takes it.
    drop(receiver);
    say(&s, "wamid.C2", "393330000301", "ancora").await;
    assert_eq!(other.drain().await.unwrap(), 1);
    assert_eq!(conversation_events(&s.platform, 1).await.len(), 1);

    // The first row's claim ends (as if its minutes had passed): it is taken from the table.
    s.platform
        .db
        .execute("UPDATE webhook_inbox SET claimed_until_ms = 1", &[])
        .await
        .unwrap();
    assert_eq!(other.drain().await.unwrap(), 1);
    let ids: Vec<String> = all_conversation_events(&s.platform)
        .await
        .iter()
        .filter(|e| e.event_type == "MessageReceived")
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(ids.len(), 2, "both messages, once each");
    assert_eq!(pending_bodies(&s.platform.db).await, (0, 0));
}

/// A worker that does not keep up is not handed more than a bounded number of batches: the
/// deliveries after that are stored unclaimed, and the worker is told to claim from the table.
async fn deliveries_beyond_what_the_worker_has_taken_are_stored_unclaimed(backend: Backend) {
    let db = TestDb::migrated(backend).await;
    let s = setup(backend, &db, &[]).await;
    let inbox = s
        .platform
        .inbox
        .hand_over(std::time::Duration::from_secs(600));
    inbox
        .stored_unclaimed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    // One at a time: each its own batch. Nobody takes them.
    let mut n = 0;
    while !inbox
        .stored_unclaimed
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        assert!(n < 1000, "the hand-over is bounded");
        say(&s, &format!("wamid.F{n}"), "393330000401", "ciao").await;
        n += 1;
    }
    assert!(n > 1, "batches are handed over until the channel is full");
    // Exactly the last one waits unclaimed in the table; a worker claiming there takes it.
    assert_eq!(s.platform.inbox_worker().drain().await.unwrap(), 1);
    assert_eq!(conversation_events(&s.platform, 1).await.len(), 1);
}

/// The server's Postgres connections plan each prepared statement once (`Db::connect`); the
/// inbox claim and the other hot statements are written for generic plans.
#[tokio::test]
async fn postgres_connections_use_generic_plans() {
    let test_db = TestDb::empty(Backend::Postgres).await;
    let Db::Postgres(pool) = test_db.connect().await else {
        panic!("a Postgres test database");
    };
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "force_generic_plan");
}
