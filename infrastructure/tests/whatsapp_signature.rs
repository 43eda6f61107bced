//! `verify_signature` the way Meta signs: `sha256=` + lowercase hex HMAC-SHA256 of the raw body
//! bytes. Non-ASCII bodies arrive `\u`-escaped; the signature holds only over those exact bytes.
#![allow(clippy::unwrap_used)]

use hmac::{Hmac, Mac};
use lyo_infrastructure::whatsapp::{parse_delivery, verify_signature, Content, SignatureError};
use sha2::Sha256;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_body_signed_with_the_app_secret_is_accepted() {
    let body = fixture("text");
    assert_eq!(
        verify_signature(SECRET, Some(&sign(SECRET, &body)), &body),
        Ok(())
    );
}

#[test]
fn a_body_signed_with_another_secret_is_a_mismatch() {
    let body = fixture("text");
    let header = sign(b"another secret", &body);
    assert_eq!(
        verify_signature(SECRET, Some(&header), &body),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_body_changed_by_one_byte_is_a_mismatch() {
    let body = fixture("text");
    let header = sign(SECRET, &body);
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] ^= 1;
    assert_eq!(
        verify_signature(SECRET, Some(&header), &tampered),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_missing_header_is_missing() {
    assert_eq!(
        verify_signature(SECRET, None, b"{}"),
        Err(SignatureError::Missing)
    );
}

#[test]
fn malformed_headers_are_malformed() {
    let body = fixture("text");
    let good = sign(SECRET, &body);
    let digits = good.strip_prefix("sha256=").unwrap();
    let cases = [
        String::new(),
        digits.to_owned(),                    // no prefix
        format!("sha1={digits}"),             // another algorithm
        format!("SHA256={digits}"),           // the prefix is case-sensitive
        format!("sha256= {digits}"),          // stray space
        format!("sha256={}", &digits[1..]),   // odd length
        format!("sha256={}", &digits[..32]),  // truncated
        format!("sha256={digits}00"),         // too long
        format!("sha256={}zz", &digits[2..]), // not hex
        "sha256=".to_owned(),
    ];
    for header in cases {
        assert_eq!(
            verify_signature(SECRET, Some(&header), &body),
            Err(SignatureError::Malformed),
            "{header:?}"
        );
    }
}

#[test]
fn uppercase_hex_of_the_right_mac_is_accepted_and_of_a_wrong_mac_is_a_mismatch() {
    let body = fixture("text");
    let good = sign(SECRET, &body);
    let upper = format!("sha256={}", good["sha256=".len()..].to_uppercase());
    assert_eq!(verify_signature(SECRET, Some(&upper), &body), Ok(()));
    let wrong = format!(
        "sha256={}",
        sign(b"x", &body)["sha256=".len()..].to_uppercase()
    );
    assert_eq!(
        verify_signature(SECRET, Some(&wrong), &body),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn non_ascii_text_verifies_over_metas_escaped_bytes_and_not_once_re_serialised() {
    let raw = fixture("non_ascii_escaped");
    assert!(raw.is_ascii(), "Meta sends non-ASCII \\u-escaped");
    assert!(String::from_utf8_lossy(&raw).contains(r"d\u00edas"));
    let header = sign(SECRET, &raw);
    assert_eq!(verify_signature(SECRET, Some(&header), &raw), Ok(()));

    let delivery = parse_delivery(&raw).unwrap();
    let (_, message) = delivery.messages().next().unwrap();
    assert!(matches!(
        &message.content,
        Content::Text { body } if body.starts_with("Buenos días, ¿mesa para 2? Café ☕ 😀")
    ));
    assert_eq!(
        delivery.changes[0].contacts[0].name.as_deref(),
        Some("José Müller")
    );

    // The same JSON value, serialised again (UTF-8, not escaped), is other bytes.
    let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let reserialised = serde_json::to_vec(&value).unwrap();
    assert_ne!(reserialised, raw);
    assert_eq!(
        verify_signature(SECRET, Some(&header), &reserialised),
        Err(SignatureError::Mismatch)
    );
}
