//! Customer identities -> subjects (issue 3's identity rule): key the subject on Meta's
//! business-scoped user id when present, else on the phone number, and link the two when a
//! message shows both. Identifiers are stored as keyed digests only.
//!
//! A digest, once linked to a subject, never changes (links are only ever inserted), so this
//! process caches digest -> subject (digests only, never the identifiers) and resolves a whole
//! batch of customers with one look-up of the digests it has not seen yet.

use crate::db::Db;
use crate::pii::MasterKey;
use lyo_domain::ids::{SubjectId, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Cached links at most; beyond that the cache starts over.
const CACHE_MAX: usize = 200_000;

#[derive(Clone, Debug)]
pub struct SqlSubjectDirectory {
    db: Db,
    master: MasterKey,
    /// (tenant, identifier digest) -> subject, as stored.
    links: Arc<Mutex<HashMap<(TenantId, String), SubjectId>>>,
}

/// A customer as a message or status names them: Meta's user id and/or phone number.
#[derive(Debug, Clone, Copy)]
pub struct CustomerIds<'a> {
    pub tenant: TenantId,
    pub user_id: Option<&'a str>,
    pub wa_id: Option<&'a str>,
}

const INSERT: &str = "INSERT INTO customer_identities (tenant_id, identifier_digest, subject_id)
                      VALUES ($1, $2, $3) ON CONFLICT (tenant_id, identifier_digest) DO NOTHING";

impl SqlSubjectDirectory {
    pub fn new(db: Db, master: MasterKey) -> Self {
        Self {
            db,
            master,
            links: Arc::default(),
        }
    }

    /// The subject for a customer known by `user_id` and/or `wa_id` (at least one), created on
    /// first sight. `None` when both are absent.
    pub async fn resolve(
        &self,
        tenant: TenantId,
        user_id: Option<&str>,
        wa_id: Option<&str>,
    ) -> Result<Option<SubjectId>, sqlx::Error> {
        let resolved = self
            .resolve_many(&[CustomerIds {
                tenant,
                user_id,
                wa_id,
            }])
            .await?;
        Ok(resolved.into_iter().next().flatten())
    }

    /// [`Self::resolve`] for many customers at once, in order (a later customer sees the links
    /// an earlier one made). Known digests cost no query; unknown ones one query per tenant,
    /// and all new links one insert (one commit) plus one read-back per round.
    pub async fn resolve_many(
        &self,
        customers: &[CustomerIds<'_>],
    ) -> Result<Vec<Option<SubjectId>>, sqlx::Error> {
        // The primary identifier first: the user id when there is one.
        let digests: Vec<Vec<(TenantId, String)>> = customers
            .iter()
            .map(|c| {
                [("user_id", c.user_id), ("wa_id", c.wa_id)]
                    .into_iter()
                    .filter_map(|(kind, value)| {
                        value.map(|v| {
                            let digest = self.master.identifier_digest(&format!("{kind}:{v}"));
                            (c.tenant, digest)
                        })
                    })
                    .collect()
            })
            .collect();
        // What is stored, as far as this call knows.
        let mut stored: HashMap<(TenantId, String), SubjectId> = HashMap::new();
        let mut missing: HashMap<TenantId, Vec<String>> = HashMap::new();
        if let Ok(links) = self.links.lock() {
            for key in digests.iter().flatten() {
                match links.get(key) {
                    Some(subject) => {
                        stored.insert(key.clone(), *subject);
                    }
                    None => missing.entry(key.0).or_default().push(key.1.clone()),
                }
            }
        }
        for (tenant, digests) in missing {
            for (digest, subject) in self.lookup_many(tenant, &digests).await? {
                stored.insert((tenant, digest), subject);
            }
        }
        // Rounds: decide locally, store the new links, read back what won. A concurrent
        // process linking the same identifiers makes another round; ours then sees its links.
        for _ in 0..3 {
            let mut known = stored.clone();
            let mut new_links: Vec<(TenantId, String, SubjectId)> = Vec::new();
            let mut resolved = Vec::with_capacity(customers.len());
            for keys in &digests {
                if keys.is_empty() {
                    resolved.push(None);
                    continue;
                }
                let subject = keys
                    .iter()
                    .find_map(|k| known.get(k).copied())
                    .unwrap_or_else(SubjectId::new);
                for key in keys {
                    if !known.contains_key(key) {
                        known.insert(key.clone(), subject);
                        new_links.push((key.0, key.1.clone(), subject));
                    }
                }
                resolved.push(Some(subject));
            }
            if new_links.is_empty() {
                self.remember(stored);
                return Ok(resolved);
            }
            for (tenant, digest, subject) in self.store_links(&new_links).await? {
                stored.insert((tenant, digest), subject);
            }
            let mut all_ours = true;
            for (tenant, digest, subject) in &new_links {
                if stored.get(&(*tenant, digest.clone())) != Some(subject) {
                    all_ours = false;
                }
            }
            if all_ours {
                self.remember(stored);
                return Ok(resolved);
            }
        }
        Err(sqlx::Error::Protocol(
            "customer identities kept changing while being linked".into(),
        ))
    }

    fn remember(&self, stored: HashMap<(TenantId, String), SubjectId>) {
        if let Ok(mut links) = self.links.lock() {
            if links.len() + stored.len() > CACHE_MAX {
                links.clear();
            }
            links.extend(stored);
        }
    }

    /// Inserts links, keeping any that exist already, and returns the stored links of their
    /// digests: on Postgres in one statement (one round trip, one commit). A link that another
    /// transaction stored meanwhile is missing from the answer (the statement's read sees its
    /// snapshot), which makes the caller take another round.
    async fn store_links(
        &self,
        links: &[(TenantId, String, SubjectId)],
    ) -> Result<Vec<(TenantId, String, SubjectId)>, sqlx::Error> {
        let rows: Vec<(String, String, String)> = match &self.db {
            Db::Postgres(pool) => {
                let tenants: Vec<String> = links.iter().map(|l| l.0.to_string()).collect();
                let digests: Vec<&str> = links.iter().map(|l| l.1.as_str()).collect();
                let subjects: Vec<String> = links.iter().map(|l| l.2.to_string()).collect();
                sqlx::query_as(
                    "WITH new (tenant_id, identifier_digest, subject_id) AS (
                          SELECT * FROM unnest($1::text[], $2::text[], $3::text[])),
                     inserted AS (
                          INSERT INTO customer_identities (tenant_id, identifier_digest, subject_id)
                          SELECT * FROM new ON CONFLICT (tenant_id, identifier_digest) DO NOTHING
                          RETURNING tenant_id, identifier_digest, subject_id)
                     SELECT * FROM inserted
                     UNION ALL
                     SELECT c.tenant_id, c.identifier_digest, c.subject_id FROM new
                      CROSS JOIN LATERAL (
                            SELECT * FROM customer_identities
                             WHERE tenant_id = new.tenant_id
                               AND identifier_digest = new.identifier_digest LIMIT 1) c",
                )
                .bind(tenants)
                .bind(digests)
                .bind(subjects)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (tenant, digest, subject) in links {
                    sqlx::query(INSERT)
                        .bind(tenant.to_string())
                        .bind(digest)
                        .bind(subject.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let mut by_tenant: HashMap<TenantId, Vec<String>> = HashMap::new();
                for (tenant, digest, _) in links {
                    by_tenant.entry(*tenant).or_default().push(digest.clone());
                }
                let mut stored = Vec::with_capacity(links.len());
                for (tenant, digests) in by_tenant {
                    for (digest, subject) in self.lookup_many(tenant, &digests).await? {
                        stored.push((tenant, digest, subject));
                    }
                }
                return Ok(stored);
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|(tenant, digest, subject)| {
                Some((tenant.parse().ok()?, digest, subject.parse().ok()?))
            })
            .collect())
    }

    /// The stored subjects of some digests of one tenant, in one query.
    async fn lookup_many(
        &self,
        tenant: TenantId,
        digests: &[String],
    ) -> Result<Vec<(String, SubjectId)>, sqlx::Error> {
        let tenant = tenant.to_string();
        let rows: Vec<(String, String)> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as(
                    // One probe of the primary key per digest: LATERAL with a LIMIT, which the
                    // planner cannot flatten into a join. With `= ANY` (or a plain join) a
                    // cached generic plan, made while the table was small, read every
                    // identity of the tenant.
                    "SELECT c.identifier_digest, c.subject_id
                       FROM unnest($2::text[]) AS d(digest)
                      CROSS JOIN LATERAL (
                            SELECT identifier_digest, subject_id FROM customer_identities
                             WHERE tenant_id = $1 AND identifier_digest = d.digest LIMIT 1) c",
                )
                .bind(&tenant)
                .bind(digests)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let mut rows = Vec::new();
                // Bounded by SQLite's variable limit.
                for chunk in digests.chunks(500) {
                    let placeholders: Vec<String> =
                        (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
                    let sql = format!(
                        "SELECT identifier_digest, subject_id FROM customer_identities
                          WHERE tenant_id = $1 AND identifier_digest IN ({})",
                        placeholders.join(", ")
                    );
                    let mut query = sqlx::query_as(&sql).bind(&tenant);
                    for digest in chunk {
                        query = query.bind(digest);
                    }
                    rows.extend(query.fetch_all(pool).await?);
                }
                rows
            }
        };
        Ok(rows
            .into_iter()
            .filter_map(|(digest, subject)| Some((digest, subject.parse().ok()?)))
            .collect())
    }
}
