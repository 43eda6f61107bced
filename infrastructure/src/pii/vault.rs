//! The per-subject key store and the sealing of personal-data fields in JSON payloads.

use super::crypto::{DataKey, MasterKey};
use crate::db::{Arg, Db};
use lyo_domain::personal::PII_MARKER;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

const SEALED_MARKER: &str = "$sealed";

/// A subject's data key and its id.
type KeyEntry = (Uuid, DataKey);

#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    #[error("a personal-data field is malformed: {0}")]
    Malformed(&'static str),
    #[error("a subject key does not open with LYO_MASTER_KEY (wrong master key?)")]
    WrongMasterKey,
    #[error("a sealed personal-data field does not decrypt (corrupted?)")]
    Corrupted,
    #[error("the subject belongs to another tenant")]
    TenantMismatch,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Seals and opens personal data with per-subject keys kept in `subject_keys`.
#[derive(Clone, Debug)]
pub struct PiiVault {
    db: Db,
    master: MasterKey,
}

fn key_aad(key_id: Uuid, subject: &str) -> Vec<u8> {
    format!("lyo:subject-key:v1:{key_id}:{subject}").into_bytes()
}

fn field_aad(key_id: Uuid, subject: &str) -> Vec<u8> {
    format!("lyo:pii:v1:{key_id}:{subject}").into_bytes()
}

impl PiiVault {
    pub fn new(db: Db, master: MasterKey) -> Self {
        Self { db, master }
    }

    /// Replaces every `{"$pii": {...}}` object in `payload` by its sealed form, creating the
    /// subject's key on first use.
    pub async fn seal_payload(&self, tenant_id: &str, payload: &mut Value) -> Result<(), PiiError> {
        let mut subjects = BTreeSet::new();
        visit(payload, PII_MARKER, &mut |inner| {
            if let Some(subject) = inner.get("subject").and_then(Value::as_str) {
                subjects.insert(subject.to_string());
            }
        });
        if subjects.is_empty() {
            return Ok(());
        }
        let mut keys = HashMap::new();
        for subject in subjects {
            let key = self.key_for_subject(tenant_id, &subject).await?;
            keys.insert(subject, key);
        }
        transform(payload, PII_MARKER, &mut |inner| {
            let subject = inner
                .get("subject")
                .and_then(Value::as_str)
                .ok_or(PiiError::Malformed("personal value without subject"))?;
            let redacted = json!({ PII_MARKER: { "subject": subject, "redacted": true } });
            let Some(value) = inner.get("value") else {
                // Already redacted: nothing left to seal.
                return Ok(redacted);
            };
            let Some((key_id, key)) = keys
                .get(subject)
                .ok_or(PiiError::Malformed("subject changed while sealing"))?
            else {
                // The subject was erased: its data is never stored again.
                return Ok(redacted);
            };
            let plaintext = serde_json::to_vec(value).map_err(|_| PiiError::Corrupted)?;
            let (nonce, data) = key
                .seal(&plaintext, &field_aad(*key_id, subject))
                .map_err(|_| PiiError::Corrupted)?;
            Ok(json!({ SEALED_MARKER: {
                "subject": subject, "key": key_id.to_string(), "nonce": nonce, "data": data
            }}))
        })
    }

    /// Replaces every sealed object in `payload` by the opened `{"$pii": ...}` form, or by a
    /// redacted one when the subject's key has been destroyed.
    pub async fn open_payload(&self, payload: &mut Value) -> Result<(), PiiError> {
        self.open_payloads(std::slice::from_mut(payload)).await
    }

    /// Opens many payloads with one key look-up for all of them (an aggregate's whole stream).
    pub async fn open_payloads(&self, payloads: &mut [Value]) -> Result<(), PiiError> {
        let mut key_ids = BTreeSet::new();
        for payload in payloads.iter() {
            visit(payload, SEALED_MARKER, &mut |inner| {
                if let Some(Ok(id)) = inner
                    .get("key")
                    .and_then(Value::as_str)
                    .map(Uuid::parse_str)
                {
                    key_ids.insert(id);
                }
            });
        }
        if key_ids.is_empty() {
            return Ok(());
        }
        let keys = self.keys_by_ids(&key_ids).await?;
        for payload in payloads.iter_mut() {
            transform(payload, SEALED_MARKER, &mut |inner| {
                let field = |name: &'static str| {
                    inner
                        .get(name)
                        .and_then(Value::as_str)
                        .ok_or(PiiError::Malformed(name))
                };
                let subject = field("subject")?;
                let key_id =
                    Uuid::parse_str(field("key")?).map_err(|_| PiiError::Malformed("key"))?;
                let Some(key) = keys.get(&key_id) else {
                    return Ok(json!({ PII_MARKER: { "subject": subject, "redacted": true } }));
                };
                let plaintext = key
                    .open(field("nonce")?, field("data")?, &field_aad(key_id, subject))
                    .map_err(|_| PiiError::Corrupted)?;
                let value: Value =
                    serde_json::from_slice(&plaintext).map_err(|_| PiiError::Corrupted)?;
                Ok(json!({ PII_MARKER: { "subject": subject, "value": value } }))
            })?;
        }
        Ok(())
    }

    /// Destroys the subject's key for good: every field sealed under it opens as redacted,
    /// and the tombstone left in its place makes later writes store the subject's personal
    /// data as redacted too. Records the erasure (without personal data).
    pub async fn erase_subject(&self, tenant_id: &str, subject: &str) -> Result<(), PiiError> {
        const TOMBSTONE_PG: &str = "
INSERT INTO subject_keys (key_id, subject_id, tenant_id, wrapped_key, erased_at)
VALUES ($1::uuid, $2, $3, NULL, now())
ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = NULL, erased_at = coalesce(subject_keys.erased_at, now())
 WHERE subject_keys.tenant_id = excluded.tenant_id";
        const TOMBSTONE_SQLITE: &str = "
INSERT INTO subject_keys (key_id, subject_id, tenant_id, wrapped_key, erased_at)
VALUES ($1, $2, $3, NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
ON CONFLICT (subject_id) DO UPDATE SET wrapped_key = NULL,
       erased_at = coalesce(subject_keys.erased_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
 WHERE subject_keys.tenant_id = excluded.tenant_id";
        const RECORD: &str = "INSERT INTO subject_erasures (subject_id, tenant_id) VALUES ($1, $2)";
        let tombstone = match &self.db {
            Db::Postgres(_) => TOMBSTONE_PG,
            Db::Sqlite(_) => TOMBSTONE_SQLITE,
        };
        let (subject, tenant) = (Arg::Text(subject.into()), Arg::Text(tenant_id.into()));
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                tombstone,
                &[
                    Arg::Text(Uuid::new_v4().to_string()),
                    subject.clone(),
                    tenant.clone(),
                ],
            )
            .await?;
        tx.execute(RECORD, &[subject, tenant]).await?;
        // Another tenant's subject: roll back, record nothing.
        if changed == 1 {
            tx.commit().await?;
        }
        if changed == 1 {
            Ok(())
        } else {
            Err(PiiError::TenantMismatch)
        }
    }

    /// The subject's live key, created on first use; `None` once the subject is erased.
    async fn key_for_subject(
        &self,
        tenant_id: &str,
        subject: &str,
    ) -> Result<Option<KeyEntry>, PiiError> {
        if let Some(stored) = self.select_by_subject(tenant_id, subject).await? {
            return Ok(stored);
        }
        let key_id = Uuid::new_v4();
        let key = DataKey::generate();
        let wrapped = self
            .master
            .wrap(&key, &key_aad(key_id, subject))
            .map_err(|_| PiiError::WrongMasterKey)?;
        const INSERT: &str = "INSERT INTO subject_keys (key_id, subject_id, tenant_id, wrapped_key)
             VALUES ($1, $2, $3, $4) ON CONFLICT (subject_id) DO NOTHING";
        match &self.db {
            Db::Postgres(pool) => {
                sqlx::query(INSERT)
                    .bind(key_id)
                    .bind(subject)
                    .bind(tenant_id)
                    .bind(&wrapped)
                    .execute(pool)
                    .await?;
            }
            Db::Sqlite(pool) => {
                sqlx::query(INSERT)
                    .bind(key_id.to_string())
                    .bind(subject)
                    .bind(tenant_id)
                    .bind(&wrapped)
                    .execute(pool)
                    .await?;
            }
        }
        // Another writer (or an erasure) may have won the race: use whatever is stored.
        self.select_by_subject(tenant_id, subject)
            .await?
            .ok_or(PiiError::Malformed(
                "subject key vanished while being created",
            ))
    }

    /// `None`: no row; `Some(None)`: erased; `Some(Some(key))`: live.
    async fn select_by_subject(
        &self,
        tenant_id: &str,
        subject: &str,
    ) -> Result<Option<Option<KeyEntry>>, PiiError> {
        const SELECT: &str =
            "SELECT key_id, tenant_id, wrapped_key FROM subject_keys WHERE subject_id = $1";
        let row: Option<(Uuid, String, Option<Vec<u8>>)> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as(SELECT)
                    .bind(subject)
                    .fetch_optional(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                let row: Option<(String, String, Option<Vec<u8>>)> = sqlx::query_as(SELECT)
                    .bind(subject)
                    .fetch_optional(pool)
                    .await?;
                row.map(|(id, tenant, wrapped)| {
                    Uuid::parse_str(&id)
                        .map(|id| (id, tenant, wrapped))
                        .map_err(|_| PiiError::Malformed("stored key id"))
                })
                .transpose()?
            }
        };
        let Some((key_id, stored_tenant, wrapped)) = row else {
            return Ok(None);
        };
        if stored_tenant != tenant_id {
            return Err(PiiError::TenantMismatch);
        }
        wrapped
            .map(|wrapped| Ok((key_id, self.unwrap(key_id, subject, &wrapped)?)))
            .transpose()
            .map(Some)
    }

    /// The live keys among `key_ids` (destroyed ones are absent), in one query.
    async fn keys_by_ids(
        &self,
        key_ids: &BTreeSet<Uuid>,
    ) -> Result<HashMap<Uuid, DataKey>, PiiError> {
        let rows: Vec<(Uuid, String, Option<Vec<u8>>)> = match &self.db {
            Db::Postgres(pool) => {
                let ids: Vec<Uuid> = key_ids.iter().copied().collect();
                sqlx::query_as("SELECT key_id, subject_id, wrapped_key FROM subject_keys WHERE key_id = ANY($1)")
                    .bind(ids)
                    .fetch_all(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                let placeholders: Vec<String> =
                    (1..=key_ids.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT key_id, subject_id, wrapped_key FROM subject_keys WHERE key_id IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query_as::<_, (String, String, Option<Vec<u8>>)>(&sql);
                for id in key_ids {
                    query = query.bind(id.to_string());
                }
                query
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(|(id, subject, wrapped)| {
                        Uuid::parse_str(&id)
                            .map(|id| (id, subject, wrapped))
                            .map_err(|_| PiiError::Malformed("stored key id"))
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mut keys = HashMap::new();
        for (key_id, subject, wrapped) in rows {
            if let Some(wrapped) = wrapped {
                keys.insert(key_id, self.unwrap(key_id, &subject, &wrapped)?);
            }
        }
        Ok(keys)
    }

    fn unwrap(&self, key_id: Uuid, subject: &str, wrapped: &[u8]) -> Result<DataKey, PiiError> {
        self.master
            .unwrap_key(wrapped, &key_aad(key_id, subject))
            .map_err(|_| PiiError::WrongMasterKey)
    }
}

/// Calls `f` with the inner object of every `{marker: {...}}` object in `value`.
fn visit(value: &Value, marker: &str, f: &mut dyn FnMut(&Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::Object(inner))) = (map.len(), map.get(marker)) {
                f(inner);
            } else {
                map.values().for_each(|v| visit(v, marker, f));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| visit(v, marker, f)),
        _ => {}
    }
}

/// Turns the inner object of a marked object into its replacement.
type Rewrite<'a> = dyn FnMut(&Map<String, Value>) -> Result<Value, PiiError> + 'a;

/// Replaces every `{marker: {...}}` object in `value` by what `f` makes of its inner object.
fn transform(value: &mut Value, marker: &str, f: &mut Rewrite<'_>) -> Result<(), PiiError> {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::Object(inner))) = (map.len(), map.get(marker)) {
                *value = f(inner)?;
            } else if map.contains_key(marker) {
                // Fail closed: never store a marked value we do not know how to seal.
                return Err(PiiError::Malformed(
                    "a marked object must be exactly {marker: {...}}",
                ));
            } else {
                for v in map.values_mut() {
                    transform(v, marker, f)?;
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                transform(v, marker, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}
