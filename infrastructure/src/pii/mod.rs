//! Personal data at rest: per-subject data keys wrapped under `LYO_MASTER_KEY`, and the
//! sealing of `Personal<T>` fields inside event payloads (crypto-shredding, see
//! `docs/adr/0002-personal-data.md`).
//!
//! Sealed form inside a stored payload:
//! `{"$sealed": {"subject": "<id>", "key": "<key id>", "nonce": "<b64>", "data": "<b64>"}}`.
//! Opening restores `{"$pii": {"subject", "value"}}`; when the key no longer exists (the
//! subject was erased) it yields `{"$pii": {"subject", "redacted": true}}`. A key that exists
//! but does not decrypt is an error, never silently treated as erased.

mod crypto;
mod vault;

pub use crypto::{MasterKey, MasterKeyError};
pub use vault::{PiiError, PiiVault};
