//! `X-Hub-Signature-256` verification: `sha256=` followed by the hex HMAC-SHA256 of the raw body
//! under the app secret.
//!
//! The MAC is computed over the bytes exactly as received and compared with `verify_slice`
//! (constant time). The header's shape (prefix, length, hex digits) is public and checked first;
//! only the MAC comparison must not leak timing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";
/// Hex digits in a SHA-256 MAC.
const HEX_LEN: usize = 64;

/// Why a delivery's signature was refused. Every case is a 401 for the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not \"sha256=\" followed by 64 hex digits")]
    Malformed,
    #[error("the X-Hub-Signature-256 header does not match the body")]
    Mismatch,
}

/// Checks `header` (the raw `X-Hub-Signature-256` value) against `body` signed with
/// `app_secret`.
///
/// Hex digits are accepted in either case (Meta sends lowercase; a correct MAC in uppercase proves
/// the same thing).
pub fn verify_signature(
    app_secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let digits = header
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed)?;
    if digits.len() != HEX_LEN {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(digits).map_err(|_| SignatureError::Malformed)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_body_signed_with_the_app_secret_verifies() {
        let header = sign(b"secret", b"{}");
        assert_eq!(verify_signature(b"secret", Some(&header), b"{}"), Ok(()));
    }

    #[test]
    fn an_empty_secret_and_an_empty_body_still_verify_consistently() {
        let header = sign(b"", b"");
        assert_eq!(verify_signature(b"", Some(&header), b""), Ok(()));
        assert_eq!(
            verify_signature(b"x", Some(&header), b""),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_header_of_the_right_length_with_non_hex_digits_is_malformed() {
        let header = format!("sha256={}", "g".repeat(64));
        assert_eq!(
            verify_signature(b"secret", Some(&header), b"{}"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn a_multibyte_character_in_the_header_is_malformed_not_a_panic() {
        let header = format!("sha256={}é", "a".repeat(62));
        assert_eq!(header.len(), 7 + 64);
        assert_eq!(
            verify_signature(b"secret", Some(&header), b"{}"),
            Err(SignatureError::Malformed)
        );
    }
}
