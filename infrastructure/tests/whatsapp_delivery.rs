//! Statuses, batches, the envelope's errors and leniency, redacting `Debug`, and the storable
//! form of a delivery.
#![allow(clippy::unwrap_used)]

use lyo_infrastructure::whatsapp::{
    parse_delivery, Content, Conversation, Delivery, EnvelopeError, Pricing, Status,
};

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn fixture(name: &str) -> Delivery {
    parse_delivery(&fixture_bytes(name)).unwrap()
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/tests/fixtures/whatsapp", env!("CARGO_MANIFEST_DIR"));
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
        .collect();
    all.sort();
    assert!(all.len() >= 30);
    all
}

#[test]
fn sent_keeps_conversation_pricing_recipient_ids_and_extra_keys() {
    let delivery = fixture("status_sent");
    let status = &delivery.changes[0].statuses[0];
    assert_eq!(status.status, Status::Sent);
    assert!(status.id.starts_with("wamid."));
    assert_eq!(status.timestamp, 1_750_263_773);
    assert_eq!(status.recipient_id.as_deref(), Some("16505551234"));
    assert_eq!(
        status.recipient_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    let conversation = Conversation {
        id: Some("4d4d1ea1b5a1b4e4d2a1e2c3b4a5f6e7".to_owned()),
        origin_type: Some("service".to_owned()),
        expiration_timestamp: Some(1_750_350_180),
    };
    assert_eq!(status.conversation, Some(conversation));
    let pricing = Pricing {
        billable: Some(false),
        pricing_model: Some("PMP".to_owned()),
        category: Some("service".to_owned()),
        pricing_type: Some("free_customer_service".to_owned()),
    };
    assert_eq!(status.pricing, Some(pricing));
    assert_eq!(status.extra["biz_opaque_callback_data"], "booking-42");
    assert!(status.errors.is_empty());
}

#[test]
fn delivered_read_and_an_unknown_status_value_are_kept() {
    let delivered = &fixture("status_delivered").changes[0].statuses[0];
    assert_eq!(delivered.status, Status::Delivered);
    assert_eq!(delivered.conversation, None);
    assert_eq!(delivered.pricing.as_ref().unwrap().billable, Some(true));
    let read = &fixture("status_read").changes[0].statuses[0];
    assert_eq!(
        (read.status.clone(), read.pricing.clone()),
        (Status::Read, None)
    );
    let other = &fixture("status_unknown_value").changes[0].statuses[0];
    assert_eq!(other.status, Status::Other("deleted".to_owned()));
    assert_eq!(other.status.as_str(), "deleted");
}

#[test]
fn failed_keeps_its_error_codes_and_needs_no_contacts() {
    let delivery = fixture("status_failed");
    let change = &delivery.changes[0];
    assert!(change.contacts.is_empty());
    let status = &change.statuses[0];
    assert_eq!(status.status, Status::Failed);
    assert_eq!(status.recipient_user_id, None);
    let error = &status.errors[0];
    assert_eq!(error.code, Some(131047));
    assert_eq!(error.title.as_deref(), Some("Re-engagement message"));
    assert!(error.details.as_deref().unwrap().contains("24 hours"));
    assert!(error.href.is_some());
    assert_eq!(status.customer_key().unwrap().as_str(), "16505551234");
}

#[test]
fn a_batch_flattens_every_entry_and_change_in_order() {
    let delivery = fixture("batch");
    let fields: Vec<_> = delivery.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "messages",
            "messages",
            "messages",
            "messages",
            "account_update"
        ]
    );
    let accounts: Vec<_> = delivery
        .changes
        .iter()
        .map(|c| c.business_account_id.as_str())
        .collect();
    assert_eq!(accounts[..2], ["102290129340398", "102290129340398"]);
    assert_eq!(accounts[2..], ["987654321098765"; 3]);
    assert_eq!(
        delivery.phone_number_ids(),
        ["106540352242922", "209876543210987"]
    );
    let messages: Vec<_> = delivery.messages().map(|(_, m)| m.id.as_str()).collect();
    assert_eq!(
        messages,
        ["wamid.BATCH-1", "wamid.BATCH-2", "wamid.BATCH-3"]
    );
    let statuses: Vec<_> = delivery
        .statuses()
        .map(|(_, s)| s.status.as_str())
        .collect();
    assert_eq!(statuses, ["delivered", "read", "failed"]);
    let (change, spanish) = delivery.messages().nth(2).unwrap();
    assert_eq!(change.phone_number_id.as_deref(), Some("209876543210987"));
    assert_eq!(
        spanish.content,
        Content::Text {
            body: "¿Mesa para 2?".to_owned()
        }
    );
    assert_eq!(
        change.contact_of(spanish).unwrap().name.as_deref(),
        Some("Lucía")
    );
    let (_, gianni) = delivery.messages().nth(1).unwrap();
    let gianni_card = delivery.changes[0].contact_of(gianni).unwrap();
    assert_eq!(gianni_card.name.as_deref(), Some("Gianni"));
    let other = &delivery.changes[4];
    assert_eq!(other.value.as_ref().unwrap()["event"], "VERIFIED_ACCOUNT");
}

#[test]
fn an_unknown_field_is_kept_raw_with_its_metadata() {
    let delivery = fixture("unknown_field");
    let change = &delivery.changes[0];
    assert_eq!(change.field, "some_future_field");
    assert_eq!(change.phone_number_id.as_deref(), Some("106540352242922"));
    assert!(change.messages.is_empty() && change.statuses.is_empty());
    assert_eq!(
        change.value.as_ref().unwrap()["some_future_thing"][0]["state"],
        "on"
    );
}

#[test]
fn extra_keys_anywhere_are_accepted_and_kept_where_modelled() {
    let delivery = fixture("extra_keys");
    let change = &delivery.changes[0];
    assert_eq!(change.extra["surprise"], true);
    assert_eq!(
        change.contacts[0].extra["identity_key_hash"],
        "DF2lS5v2W6x="
    );
    let message = &change.messages[0];
    assert_eq!(
        message.content,
        Content::Text {
            body: "Ciao".to_owned()
        }
    );
    assert_eq!(message.extra["brand_new_key"]["nested"][2], 3);
    assert!(message.extra.contains_key("group_id"));
    assert!(
        !message.extra.contains_key("text"),
        "a modelled payload is not repeated"
    );
}

#[test]
fn webhook_level_errors_are_kept() {
    let change = &fixture("value_errors").changes[0];
    assert_eq!(change.errors[0].code, Some(131000));
    assert_eq!(change.errors[0].details.as_deref(), Some("Unknown error"));
}

#[test]
fn bodies_that_are_not_json_are_refused_as_such() {
    let truncated = &fixture_bytes("text")[..100];
    for body in [
        truncated,
        b"",
        b"   ",
        b"{\"object\":",
        b"\xff\xfe",
        b"{} trailing",
    ] {
        let error = parse_delivery(body).unwrap_err();
        assert!(
            matches!(error, EnvelopeError::NotJson(_)),
            "{body:?}: {error:?}"
        );
    }
}

#[test]
fn json_that_is_not_an_envelope_is_refused_as_such() {
    let cases: [&[u8]; 8] = [
        b"[]",
        b"[{\"object\":\"whatsapp_business_account\",\"entry\":[]}]",
        b"42",
        b"\"whatsapp\"",
        b"null",
        b"{\"object\":\"whatsapp_business_account\"}",
        b"{\"object\":\"whatsapp_business_account\",\"entry\":{}}",
        b"{\"object\":1,\"entry\":[]}",
    ];
    for body in cases {
        let error = parse_delivery(body).unwrap_err();
        assert!(
            matches!(error, EnvelopeError::NotAnEnvelope(_)),
            "{error:?}"
        );
    }
    let missing = parse_delivery(b"{\"entry\":[]}").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the body is not a WhatsApp webhook envelope: \"object\" is missing"
    );
}

#[test]
fn error_messages_never_quote_the_body() {
    let secret_text = "Mario Rossi +393331234567";
    let bodies = [
        format!("{{\"object\":\"x\",\"entry\":[{{\"text\":\"{secret_text}\""),
        format!("{{\"object\":\"{secret_text}\"}}"),
        format!("[\"{secret_text}\"]"),
        format!("\"{secret_text}"),
    ];
    for body in bodies {
        let error = parse_delivery(body.as_bytes()).unwrap_err();
        assert!(!error.to_string().contains("Mario"), "{error}");
        assert!(!error.to_string().contains("39333"), "{error}");
    }
}

#[test]
fn an_envelope_with_odd_entries_and_changes_is_accepted() {
    let body = br#"{"object":"page","entry":[1,{"id":7,"changes":[null,{"field":"messages","value":{"messages":[3,{"type":"text"}],"statuses":{}}}]},{"changes":"no"}]}"#;
    let delivery = parse_delivery(body).unwrap();
    assert_eq!(delivery.object, "page");
    assert_eq!(delivery.changes.len(), 2);
    assert_eq!(delivery.changes[0].business_account_id, "7");
    assert_eq!(delivery.changes[0].value, Some(serde_json::Value::Null));
    let messages = &delivery.changes[1].messages;
    assert_eq!(messages.len(), 2);
    assert_eq!((messages[0].id.as_str(), messages[0].timestamp), ("", 0));
    assert!(matches!(messages[1].content, Content::Unknown { ref kind, .. } if kind == "text"));
    assert_eq!(
        parse_delivery(br#"{"object":"","entry":[]}"#)
            .unwrap()
            .changes,
        []
    );
}

#[test]
fn debug_output_never_shows_personal_data() {
    let personal = [
        "16505551234",
        "US.1349",
        "Sheena",
        "Marta",
        "@marta",
        "Does it come",
        "finestra",
        "Philz",
        "Hacker Way",
        "Barbara",
        "19405551234",
        "Confermo",
        "Sat 20:00",
        "party_size",
        "Sposta",
        "👍",
        "stasera",
        "changed from",
        "Siamo in 5",
        "Tasting menu",
        "How can we help",
        "allergeni",
        "Lucía",
        "Mesa",
        "Gianni",
        "393331112222",
        "34600111222",
        "ES.998",
        "IT.150",
        "hours have passed",
        "José",
        "Buenos",
    ];
    for (name, bytes) in all_fixtures() {
        let debug = format!("{:?}", parse_delivery(&bytes).unwrap());
        for needle in personal {
            assert!(!debug.contains(needle), "{name} shows {needle:?}: {debug}");
        }
    }
}

#[test]
fn every_fixture_survives_a_store_and_reload() {
    for (name, bytes) in all_fixtures() {
        let delivery = parse_delivery(&bytes).unwrap();
        let stored = serde_json::to_vec(&delivery).unwrap();
        let reloaded: Delivery = serde_json::from_slice(&stored).unwrap();
        assert_eq!(reloaded, delivery, "{name}");
    }
}
