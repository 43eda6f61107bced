//! Property tests: whatever bytes or JSON reach the parser or the signature check, nothing
//! panics; envelope-shaped JSON with arbitrary insides is always accepted and survives a store
//! and reload; a correct signature always verifies and a changed body never does.
#![allow(clippy::unwrap_used)]

use hmac::{Hmac, Mac};
use lyo_infrastructure::whatsapp::{
    envelope_phone_number_ids, parse_delivery, verify_signature, Delivery, EnvelopeError,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use sha2::Sha256;

/// Keys Meta uses, so generated objects hit the parser's paths, plus arbitrary ones.
const KEYS: &[&str] = &[
    "object",
    "entry",
    "id",
    "changes",
    "field",
    "value",
    "metadata",
    "phone_number_id",
    "contacts",
    "profile",
    "name",
    "wa_id",
    "user_id",
    "messages",
    "statuses",
    "errors",
    "from",
    "from_user_id",
    "timestamp",
    "type",
    "text",
    "body",
    "image",
    "interactive",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "reaction",
    "emoji",
    "order",
    "product_items",
    "system",
    "edit",
    "message",
    "original_message_id",
    "context",
    "referral",
    "conversation",
    "origin",
    "pricing",
    "status",
    "error_data",
    "latitude",
    "quantity",
    "forwarded",
    "billable",
];

const TYPES: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "order",
    "system",
    "revoke",
    "edit",
    "unsupported",
    "hologram",
    "",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

/// Arbitrary JSON whose numbers survive a text round trip exactly.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
        "\\PC{0,12}".prop_map(Value::String),
        proptest::sample::select(TYPES).prop_map(Value::from),
        Just(Value::from("1749416383")),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A message object with a known (or unknown) type and arbitrary insides.
fn message() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(TYPES),
        json_value(),
        json_value(),
        json_value(),
    )
        .prop_map(|(kind, payload, context, rest)| {
            let mut message = json!({"id": "wamid.X", "from": "1", "timestamp": "1", "type": kind});
            message[kind] = payload;
            message["context"] = context;
            message["edit"] = json!({"original_message_id": "wamid.Y", "message": rest});
            message
        })
}

/// A well-formed envelope whose changes carry arbitrary values in the known places.
fn envelope() -> impl Strategy<Value = Value> {
    let change = (
        prop_oneof![Just(json!("messages")), json_value()],
        proptest::collection::vec(message(), 0..4),
        proptest::collection::vec(json_value(), 0..3),
        json_value(),
        json_value(),
    )
        .prop_map(|(field, messages, statuses, contacts, metadata)| {
            json!({"field": field, "value": {
                "metadata": metadata, "contacts": [contacts], "messages": messages,
                "statuses": statuses, "errors": [{"code": "7"}]}})
        });
    let entry = (json_value(), proptest::collection::vec(change, 0..3))
        .prop_map(|(id, changes)| json!({"id": id, "changes": changes}));
    proptest::collection::vec(entry, 0..3)
        .prop_map(|entries| json!({"object": "whatsapp_business_account", "entry": entries}))
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn store_and_reload(delivery: &Delivery) -> Delivery {
    serde_json::from_slice(&serde_json::to_vec(delivery).unwrap()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_delivery(&body);
    }

    #[test]
    fn arbitrary_json_is_parsed_or_refused_without_panicking(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        match parse_delivery(&body) {
            Ok(delivery) => prop_assert_eq!(store_and_reload(&delivery), delivery),
            Err(error) => prop_assert!(matches!(error, EnvelopeError::NotAnEnvelope(_))),
        }
    }

    #[test]
    fn envelopes_with_arbitrary_insides_are_accepted_and_survive_storage(value in envelope()) {
        let body = serde_json::to_vec(&value).unwrap();
        let delivery = parse_delivery(&body).unwrap();
        prop_assert_eq!(store_and_reload(&delivery), delivery.clone());
        let _ = format!("{delivery:?}");
        for (_, message) in delivery.messages() {
            let _ = (message.customer_key(), message.identity_link(), message.content.kind());
        }
    }

    /// The webhook acknowledges on the light check; the worker parses fully later. They must
    /// agree on every body, or an acknowledged delivery could never be processed.
    #[test]
    fn the_acknowledgement_check_agrees_with_the_full_parser(
        value in prop_oneof![envelope(), json_value()],
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        for body in [serde_json::to_vec(&value).unwrap(), bytes] {
            let full = parse_delivery(&body).map(|d| {
                d.phone_number_ids().into_iter().map(str::to_owned).collect::<Vec<_>>()
            });
            prop_assert_eq!(envelope_phone_number_ids(&body), full);
        }
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic_the_signature_check(
        secret in proptest::collection::vec(any::<u8>(), 0..80),
        header in proptest::option::of("\\PC{0,80}"),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = verify_signature(&secret, header.as_deref(), &body);
        let prefixed = header.map(|h| format!("sha256={h}"));
        let _ = verify_signature(&secret, prefixed.as_deref(), &body);
    }

    #[test]
    fn a_correct_signature_verifies_and_any_changed_body_does_not(
        secret in proptest::collection::vec(any::<u8>(), 0..80),
        body in proptest::collection::vec(any::<u8>(), 1..256),
        flip in any::<prop::sample::Index>(),
    ) {
        let header = sign(&secret, &body);
        prop_assert_eq!(verify_signature(&secret, Some(&header), &body), Ok(()));
        let mut changed = body.clone();
        changed[flip.index(body.len())] ^= 0x01;
        prop_assert!(verify_signature(&secret, Some(&header), &changed).is_err());
    }
}

#[test]
fn nesting_deeper_than_the_json_limit_is_refused_not_a_stack_overflow() {
    let depth = 100_000;
    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(EnvelopeError::NotJson(_))
    ));
    let inner = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let body = format!("{{\"object\":\"x\",\"entry\":[{inner}]}}");
    assert!(matches!(
        parse_delivery(body.as_bytes()),
        Err(EnvelopeError::NotJson(_))
    ));
}
