//! XChaCha20-Poly1305 (RustCrypto) for both layers of the envelope: the master key wraps
//! data keys, data keys seal field values. Random 192-bit nonces make nonce reuse negligible
//! without any counter state.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

pub(crate) const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("LYO_MASTER_KEY must be 32 bytes encoded in base64 (44 characters)")]
    Malformed,
    #[error(
        "a sealed secret does not open with LYO_MASTER_KEY (wrong key, or moved from its place)"
    )]
    CannotOpen,
}

/// The key-encryption key. Never logged: its `Debug` prints nothing of it.
#[derive(Clone)]
pub struct MasterKey(XChaCha20Poly1305, [u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_base64(encoded: &str) -> Result<Self, MasterKeyError> {
        let bytes = B64
            .decode(encoded.trim())
            .map_err(|_| MasterKeyError::Malformed)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| MasterKeyError::Malformed)?;
        // A separate key for identifier digests, derived so that it never equals the cipher key.
        let mut derive = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut derive, b"lyo:identifier-mac:v1");
        sha2::Digest::update(&mut derive, &bytes);
        Ok(Self(cipher, sha2::Digest::finalize(derive).into()))
    }

    /// A new random key, base64-encoded, for first start in embedded mode.
    pub fn generate_base64() -> String {
        B64.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// Encrypts a credential (a tenant's access token, an app secret) for storage in events and
    /// read models. `purpose` binds it to its place: a sealed token copied elsewhere won't open.
    pub fn seal_secret(&self, plaintext: &str, purpose: &str) -> lyo_domain::tenant::SealedSecret {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = format!("lyo:secret:v1:{purpose}");
        let data = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 only fails for messages over 256 GiB");
        lyo_domain::tenant::SealedSecret {
            nonce: B64.encode(nonce),
            data: B64.encode(data),
        }
    }

    pub fn open_secret(
        &self,
        sealed: &lyo_domain::tenant::SealedSecret,
        purpose: &str,
    ) -> Result<secrecy::SecretString, MasterKeyError> {
        let aad = format!("lyo:secret:v1:{purpose}");
        let nonce = B64
            .decode(&sealed.nonce)
            .map_err(|_| MasterKeyError::CannotOpen)?;
        let data = B64
            .decode(&sealed.data)
            .map_err(|_| MasterKeyError::CannotOpen)?;
        if nonce.len() != NONCE_LEN {
            return Err(MasterKeyError::CannotOpen);
        }
        let plaintext = self
            .0
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &data,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| MasterKeyError::CannotOpen)?;
        String::from_utf8(plaintext)
            .map(secrecy::SecretString::from)
            .map_err(|_| MasterKeyError::CannotOpen)
    }

    /// A keyed digest (HMAC-SHA256, hex) of an identifier such as a phone number: equal inputs
    /// give equal digests, so lookups work, but the identifier cannot be read back or guessed
    /// without the master key.
    pub fn identifier_digest(&self, identifier: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.1)
            .expect("HMAC takes keys of any length");
        mac.update(identifier.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Seals bytes for storage (nonce || ciphertext), bound to `aad`.
    pub fn seal_bytes(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        seal(&self.0, plaintext, aad)
            .expect("XChaCha20-Poly1305 only fails for messages over 256 GiB")
    }

    pub fn open_bytes(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        open(&self.0, sealed, aad).map_err(|_| MasterKeyError::CannotOpen)
    }

    pub(crate) fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        seal(&self.0, &data_key.bytes, aad)
    }

    pub(crate) fn unwrap_key(&self, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, SealError> {
        let bytes = open(&self.0, wrapped, aad)?;
        DataKey::from_bytes(&bytes)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("authenticated encryption failed: wrong key or corrupted data")]
pub(crate) struct SealError;

/// One subject's data key.
#[derive(Clone)]
pub(crate) struct DataKey {
    bytes: Vec<u8>,
    cipher: XChaCha20Poly1305,
}

impl DataKey {
    pub(crate) fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        Self {
            bytes: key.to_vec(),
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        Ok(Self {
            bytes: bytes.to_vec(),
            cipher: XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| SealError)?,
        })
    }

    /// Returns (nonce, ciphertext) both base64-encoded.
    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<(String, String), SealError> {
        let sealed = seal(&self.cipher, plaintext, aad)?;
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        Ok((B64.encode(nonce), B64.encode(data)))
    }

    pub(crate) fn open(&self, nonce: &str, data: &str, aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut sealed = B64.decode(nonce).map_err(|_| SealError)?;
        sealed.extend(B64.decode(data).map_err(|_| SealError)?);
        open(&self.cipher, &sealed, aad)
    }
}

/// nonce || ciphertext
fn seal(cipher: &XChaCha20Poly1305, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| SealError)?;
    let mut out = nonce.to_vec();
    out.extend(ciphertext);
    Ok(out)
}

fn open(cipher: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN {
        return Err(SealError);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| SealError)
}

impl lyo_application::tenants::SecretSealer for MasterKey {
    fn seal(&self, plaintext: &str, purpose: &str) -> lyo_domain::tenant::SealedSecret {
        self.seal_secret(plaintext, purpose)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_wrapped_key_opens_only_with_the_same_master_key_and_aad() {
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let key = DataKey::generate();
        let wrapped = master.wrap(&key, b"k1").unwrap();
        assert_eq!(master.unwrap_key(&wrapped, b"k1").unwrap().bytes, key.bytes);
        assert!(master.unwrap_key(&wrapped, b"k2").is_err());
        assert!(other.unwrap_key(&wrapped, b"k1").is_err());
    }

    #[test]
    fn sealed_data_round_trips_and_rejects_tampering() {
        let key = DataKey::generate();
        let (nonce, data) = key.seal(b"Rossi", b"aad").unwrap();
        assert_eq!(key.open(&nonce, &data, b"aad").unwrap(), b"Rossi");
        assert!(key.open(&nonce, &data, b"other").is_err());
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_purpose() {
        use secrecy::ExposeSecret;
        let master = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let sealed = master.seal_secret("EAAG-token", "tenant:1:access_token");
        assert!(!sealed.data.contains("EAAG"));
        let opened = master
            .open_secret(&sealed, "tenant:1:access_token")
            .unwrap();
        assert_eq!(opened.expose_secret(), "EAAG-token");
        assert!(master
            .open_secret(&sealed, "tenant:2:access_token")
            .is_err());
    }

    #[test]
    fn a_short_master_key_is_refused() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}
