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

/// The process managers read sealed payloads from the global log and open them here.
#[async_trait::async_trait]
impl lyo_application::booking::PayloadOpener for PiiVault {
    async fn open(
        &self,
        payloads: &mut [serde_json::Value],
    ) -> Result<(), lyo_application::event_log::StoreError> {
        use lyo_application::event_log::StoreError;
        self.open_payloads(payloads)
            .await
            .map_err(|error| match error {
                PiiError::Database(e) => crate::event_store::store_error(e),
                other => StoreError::Unexpected(Box::new(other)),
            })
    }
}
