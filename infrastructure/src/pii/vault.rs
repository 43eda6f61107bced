//! The per-subject key store and the sealing of personal-data fields in JSON payloads.

use super::crypto::{DataKey, MasterKey};
use crate::db::{Arg, Db};
use lyo_domain::personal::PII_MARKER;
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long an unwrapped key stays cached. Bounds how long another process that erased a
/// subject can find its key still in this one's memory (this process drops it at once).
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);
/// Cached subjects at most; beyond that the cache starts over.
const KEY_CACHE_MAX: usize = 100_000;

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
    cache: Arc<Mutex<KeyCache>>,
}

/// Unwrapped subject keys, in memory only (never written anywhere): a stream load or a batch
/// of appends then needs no `subject_keys` query and no unwrapping for known subjects.
/// Tenant-scoped (a subject of another tenant is refused as the table would), bounded, expiring,
/// and dropped at once when this process erases the subject.
#[derive(Default)]
struct KeyCache {
    /// subject -> (tenant, live key or `None` once erased, cached at)
    by_subject: HashMap<String, (String, Option<KeyEntry>, Instant)>,
    /// live keys by key id, with their subject
    by_id: HashMap<Uuid, (String, DataKey, Instant)>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyCache({} subjects)", self.by_subject.len())
    }
}

impl KeyCache {
    fn subject(&self, subject: &str) -> Option<(&str, Option<&KeyEntry>)> {
        self.by_subject
            .get(subject)
            .filter(|(_, _, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(tenant, key, _)| (tenant.as_str(), key.as_ref()))
    }

    fn key(&self, key_id: &Uuid) -> Option<&DataKey> {
        self.by_id
            .get(key_id)
            .filter(|(_, _, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(_, key, _)| key)
    }

    fn make_room(&mut self) {
        if self.by_subject.len() >= KEY_CACHE_MAX || self.by_id.len() >= KEY_CACHE_MAX {
            self.by_subject.clear();
            self.by_id.clear();
        }
    }

    fn insert_subject(&mut self, tenant: &str, subject: &str, key: Option<KeyEntry>) {
        self.make_room();
        let now = Instant::now();
        if let Some((key_id, data_key)) = &key {
            self.by_id
                .insert(*key_id, (subject.to_string(), data_key.clone(), now));
        }
        self.by_subject
            .insert(subject.to_string(), (tenant.to_string(), key, now));
    }

    fn insert_key(&mut self, key_id: Uuid, subject: &str, key: DataKey) {
        self.make_room();
        self.by_id
            .insert(key_id, (subject.to_string(), key, Instant::now()));
    }

    fn forget(&mut self, subject: &str) {
        self.by_subject.remove(subject);
        self.by_id.retain(|_, (owner, _, _)| owner != subject);
    }
}

/// A key to store: its id, subject, tenant and the key wrapped under the master key.
type NewKey = (Uuid, String, String, Vec<u8>);

fn key_aad(key_id: Uuid, subject: &str) -> Vec<u8> {
    format!("lyo:subject-key:v1:{key_id}:{subject}").into_bytes()
}

fn field_aad(key_id: Uuid, subject: &str) -> Vec<u8> {
    format!("lyo:pii:v1:{key_id}:{subject}").into_bytes()
}

impl PiiVault {
    pub fn new(db: Db, master: MasterKey) -> Self {
        Self {
            db,
            master,
            cache: Arc::new(Mutex::new(KeyCache::default())),
        }
    }

    fn with_cache<T>(&self, f: impl FnOnce(&mut KeyCache) -> T) -> Option<T> {
        self.cache.lock().ok().map(|mut cache| f(&mut cache))
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

    /// Makes sure the keys of every subject marked in `payloads` (with their tenants) are
    /// cached, creating the missing ones: one look-up and one insert for a whole batch instead
    /// of a few statements (and a commit) per new subject. [`Self::seal_payload`] then finds
    /// them in memory. A subject of another tenant is left alone (sealing refuses it).
    pub async fn prepare_keys(&self, payloads: &[(&str, &Value)]) -> Result<(), PiiError> {
        let mut wanted: HashMap<String, String> = HashMap::new();
        for (tenant, payload) in payloads {
            visit(payload, PII_MARKER, &mut |inner| {
                if let Some(subject) = inner.get("subject").and_then(Value::as_str) {
                    wanted.insert(subject.to_string(), tenant.to_string());
                }
            });
        }
        self.with_cache(|cache| wanted.retain(|subject, _| cache.subject(subject).is_none()));
        if wanted.is_empty() {
            return Ok(());
        }
        match &self.db {
            Db::Postgres(pool) => self.store_keys_postgres(pool, &wanted).await,
            Db::Sqlite(pool) => {
                let found = self.load_subjects_sqlite(pool, &wanted).await?;
                let new = self.new_keys(
                    wanted
                        .iter()
                        .filter(|(subject, _)| !found.contains(*subject)),
                )?;
                if new.is_empty() {
                    return Ok(());
                }
                insert_keys_sqlite(pool, &new).await?;
                // Another writer (or an erasure) may have won a race: cache whatever is stored.
                let rest: HashMap<String, String> = new
                    .into_iter()
                    .map(|(_, subject, tenant, _)| (subject, tenant))
                    .collect();
                self.load_subjects_sqlite(pool, &rest).await?;
                Ok(())
            }
        }
    }

    /// Stores a new key for each subject of `wanted` that has none and caches every subject's
    /// stored key, in one statement (one round trip, one commit), where looking up, inserting
    /// and reading back took three. A key is made for every subject of `wanted` (they are not
    /// cached, so mostly new); those that turn out to be stored already are dropped unused.
    async fn store_keys_postgres(
        &self,
        pool: &sqlx::PgPool,
        wanted: &HashMap<String, String>,
    ) -> Result<(), PiiError> {
        let new = self.new_keys(wanted.iter())?;
        let rows: Vec<(Uuid, String, String, Option<Vec<u8>>)> = sqlx::query_as(
            // What the statement stored (RETURNING) and what was there before it (the LATERAL
            // read sees the statement's snapshot, not its own inserts). A key that another
            // transaction stored meanwhile is in neither: it stays uncached, and sealing reads it.
            "WITH new (key_id, subject_id, tenant_id, wrapped_key) AS (
                  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[])),
             inserted AS (
                  INSERT INTO subject_keys (key_id, subject_id, tenant_id, wrapped_key)
                  SELECT * FROM new ON CONFLICT (subject_id) DO NOTHING
                  RETURNING key_id, subject_id, tenant_id, wrapped_key)
             SELECT * FROM inserted
             UNION ALL
             SELECT k.key_id, k.subject_id, k.tenant_id, k.wrapped_key FROM new
              CROSS JOIN LATERAL (
                    SELECT * FROM subject_keys WHERE subject_id = new.subject_id LIMIT 1) k",
        )
        .bind(new.iter().map(|k| k.0).collect::<Vec<_>>())
        .bind(new.iter().map(|k| k.1.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|k| k.2.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|k| k.3.as_slice()).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(|(k, s, t, w)| (k.to_string(), s, t, w));
        self.cache_rows(wanted, rows)?;
        Ok(())
    }

    /// A new data key, wrapped under the master key, for each (subject, tenant).
    fn new_keys<'a>(
        &self,
        subjects: impl Iterator<Item = (&'a String, &'a String)>,
    ) -> Result<Vec<NewKey>, PiiError> {
        subjects
            .map(|(subject, tenant)| {
                let key_id = Uuid::new_v4();
                let wrapped = self
                    .master
                    .wrap(&DataKey::generate(), &key_aad(key_id, subject))
                    .map_err(|_| PiiError::WrongMasterKey)?;
                Ok((key_id, subject.clone(), tenant.clone(), wrapped))
            })
            .collect()
    }

    /// Reads and caches the stored keys of `wanted` (subject -> tenant); returns the subjects
    /// that have a row.
    async fn load_subjects_sqlite(
        &self,
        pool: &sqlx::SqlitePool,
        wanted: &HashMap<String, String>,
    ) -> Result<BTreeSet<String>, PiiError> {
        let subjects: Vec<&str> = wanted.keys().map(String::as_str).collect();
        let mut rows: Vec<(String, String, String, Option<Vec<u8>>)> = Vec::new();
        for chunk in subjects.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT key_id, subject_id, tenant_id, wrapped_key FROM subject_keys
                  WHERE subject_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_as(&sql);
            for subject in chunk {
                query = query.bind(*subject);
            }
            rows.extend(query.fetch_all(pool).await?);
        }
        self.cache_rows(wanted, rows)
    }

    /// Caches stored keys (key id, subject, tenant, wrapped key; none when erased) of the
    /// subjects in `wanted` (subject -> tenant); returns the subjects that have a row.
    fn cache_rows(
        &self,
        wanted: &HashMap<String, String>,
        rows: impl IntoIterator<Item = (String, String, String, Option<Vec<u8>>)>,
    ) -> Result<BTreeSet<String>, PiiError> {
        let mut found = BTreeSet::new();
        for (key_id, subject, tenant, wrapped) in rows {
            found.insert(subject.clone());
            if wanted.get(&subject) != Some(&tenant) {
                continue;
            }
            let key_id =
                Uuid::parse_str(&key_id).map_err(|_| PiiError::Malformed("stored key id"))?;
            let key = wrapped
                .map(|wrapped| {
                    Ok::<_, PiiError>((key_id, self.unwrap(key_id, &subject, &wrapped)?))
                })
                .transpose()?;
            self.with_cache(|cache| cache.insert_subject(&tenant, &subject, key));
        }
        Ok(found)
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
        let (subject_arg, tenant) = (Arg::Text(subject.into()), Arg::Text(tenant_id.into()));
        let mut tx = self.db.begin().await?;
        let changed = tx
            .execute(
                tombstone,
                &[
                    Arg::Text(Uuid::new_v4().to_string()),
                    subject_arg.clone(),
                    tenant.clone(),
                ],
            )
            .await?;
        tx.execute(RECORD, &[subject_arg, tenant]).await?;
        // Another tenant's subject: roll back, record nothing.
        if changed == 1 {
            tx.commit().await?;
            self.with_cache(|cache| cache.forget(subject));
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
        let cached = self.with_cache(|cache| {
            cache
                .subject(subject)
                .map(|(tenant, key)| (tenant == tenant_id, key.cloned()))
        });
        match cached.flatten() {
            Some((true, key)) => return Ok(key),
            Some((false, _)) => return Err(PiiError::TenantMismatch),
            None => {}
        }
        if let Some(stored) = self.select_by_subject(tenant_id, subject).await? {
            self.with_cache(|cache| cache.insert_subject(tenant_id, subject, stored.clone()));
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
        let stored =
            self.select_by_subject(tenant_id, subject)
                .await?
                .ok_or(PiiError::Malformed(
                    "subject key vanished while being created",
                ))?;
        self.with_cache(|cache| cache.insert_subject(tenant_id, subject, stored.clone()));
        Ok(stored)
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
        let mut keys = HashMap::new();
        self.with_cache(|cache| {
            for id in key_ids {
                if let Some(key) = cache.key(id) {
                    keys.insert(*id, key.clone());
                }
            }
        });
        if keys.len() == key_ids.len() {
            return Ok(keys);
        }
        let key_ids: BTreeSet<Uuid> = key_ids
            .iter()
            .filter(|id| !keys.contains_key(id))
            .copied()
            .collect();
        let key_ids = &key_ids;
        let rows: Vec<(Uuid, String, Option<Vec<u8>>)> = match &self.db {
            Db::Postgres(pool) => {
                let ids: Vec<Uuid> = key_ids.iter().copied().collect();
                sqlx::query_as(
                    "SELECT k.key_id, k.subject_id, k.wrapped_key FROM unnest($1::uuid[]) AS i(id)
                      CROSS JOIN LATERAL (SELECT * FROM subject_keys WHERE key_id = i.id LIMIT 1) k",
                )
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
        for (key_id, subject, wrapped) in rows {
            if let Some(wrapped) = wrapped {
                let key = self.unwrap(key_id, &subject, &wrapped)?;
                self.with_cache(|cache| cache.insert_key(key_id, &subject, key.clone()));
                keys.insert(key_id, key);
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

async fn insert_keys_sqlite(pool: &sqlx::SqlitePool, keys: &[NewKey]) -> Result<(), PiiError> {
    let mut tx = pool.begin().await?;
    for (key_id, subject, tenant, wrapped) in keys {
        sqlx::query(
            "INSERT INTO subject_keys (key_id, subject_id, tenant_id, wrapped_key)
             VALUES ($1, $2, $3, $4) ON CONFLICT (subject_id) DO NOTHING",
        )
        .bind(key_id.to_string())
        .bind(subject)
        .bind(tenant)
        .bind(wrapped)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
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
