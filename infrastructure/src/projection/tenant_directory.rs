//! The `tenant_directory` read model and the cached phone-number lookup the webhook routes by.

use super::sql_projector::{AfterCommit, ReadModel};
use crate::db::{Arg, Db, DbTx};
use async_trait::async_trait;
use lyo_application::event_log::{RecordedEvent, StoreError};
use lyo_application::tenants::TenantDirectory;
use lyo_domain::ids::TenantId;
use lyo_domain::tenant::{Tenant, TenantEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const NAME: &str = "tenant_directory";

/// Phone number id -> tenant, shared by the lookup and the projector. The projector clears it
/// whenever it applies a tenant event (this process); entries also expire after [`CACHE_TTL`]
/// so other processes see changes soon. Each clearing is a new generation, which caches of
/// other directory reads (the webhook's opened app secrets) compare to know they are stale.
#[derive(Debug, Default)]
pub struct DirectoryCache {
    entries: Mutex<HashMap<String, (Option<TenantId>, Instant)>>,
    generation: AtomicU64,
}

const CACHE_TTL: Duration = Duration::from_secs(5);

impl DirectoryCache {
    fn get(&self, phone_number_id: &str) -> Option<Option<TenantId>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(phone_number_id)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(tenant, _)| *tenant)
    }

    fn put(&self, phone_number_id: &str, tenant: Option<TenantId>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(phone_number_id.to_string(), (tenant, Instant::now()));
        }
    }

    fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
        self.generation.fetch_add(1, Ordering::Release);
    }
}

pub struct TenantDirectoryModel {
    pub cache: Arc<DirectoryCache>,
}

#[async_trait]
impl ReadModel for TenantDirectoryModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tenant_directory", "tenant_phone_numbers"]
    }

    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        for event in events
            .iter()
            .filter(|e| e.aggregate_type == <Tenant as cqrs_es::Aggregate>::TYPE)
        {
            let tenant = event.aggregate_id.clone();
            let decoded: TenantEvent = serde_json::from_value(event.payload.clone())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            match decoded {
                TenantEvent::TenantCreated { profile } => {
                    let app_secret = secret_json(&profile.whatsapp.app_secret)?;
                    tx.execute(
                        "INSERT INTO tenant_directory (tenant_id, name, time_zone, app_secret) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
                                                              app_secret = excluded.app_secret",
                        &[Arg::Text(tenant.clone()), Arg::Text(profile.name), Arg::Text(profile.time_zone), app_secret],
                    )
                    .await?;
                    set_phone_numbers(tx, &tenant, &profile.whatsapp.phone_number_ids).await?;
                }
                TenantEvent::TenantProfileChanged {
                    name, time_zone, ..
                } => {
                    if let Some(name) = name {
                        tx.execute(
                            "UPDATE tenant_directory SET name = $2 WHERE tenant_id = $1",
                            &[Arg::Text(tenant.clone()), Arg::Text(name)],
                        )
                        .await?;
                    }
                    if let Some(zone) = time_zone {
                        tx.execute(
                            "UPDATE tenant_directory SET time_zone = $2 WHERE tenant_id = $1",
                            &[Arg::Text(tenant.clone()), Arg::Text(zone)],
                        )
                        .await?;
                    }
                }
                TenantEvent::TenantWhatsAppChanged {
                    phone_number_ids,
                    app_secret,
                    ..
                } => {
                    if let Some(ids) = phone_number_ids {
                        set_phone_numbers(tx, &tenant, &ids).await?;
                    }
                    if app_secret.is_some() {
                        tx.execute(
                            "UPDATE tenant_directory SET app_secret = $2 WHERE tenant_id = $1",
                            &[Arg::Text(tenant.clone()), secret_json(&app_secret)?],
                        )
                        .await?;
                    }
                }
                // Settings do not route webhooks; the directory cache stays.
                TenantEvent::TenantBookingSettingsChanged { .. }
                | TenantEvent::TenantAssistantSettingsChanged { .. } => continue,
            }
            self.cache.clear();
        }
        Ok(None)
    }
}

fn secret_json(secret: &Option<lyo_domain::tenant::SealedSecret>) -> Result<Arg, sqlx::Error> {
    Ok(match secret {
        Some(secret) => {
            Arg::Text(serde_json::to_string(secret).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
        }
        None => Arg::Null,
    })
}

async fn set_phone_numbers(tx: &mut DbTx, tenant: &str, ids: &[String]) -> Result<(), sqlx::Error> {
    tx.execute(
        "DELETE FROM tenant_phone_numbers WHERE tenant_id = $1",
        &[Arg::Text(tenant.to_string())],
    )
    .await?;
    for id in ids {
        tx.execute(
            "INSERT INTO tenant_phone_numbers (phone_number_id, tenant_id) VALUES ($1, $2)
             ON CONFLICT (phone_number_id) DO UPDATE SET tenant_id = excluded.tenant_id",
            &[Arg::Text(id.clone()), Arg::Text(tenant.to_string())],
        )
        .await?;
    }
    Ok(())
}

/// Looks tenants up by phone number id through the cache.
#[derive(Clone)]
pub struct SqlTenantDirectory {
    db: Db,
    cache: Arc<DirectoryCache>,
}

impl SqlTenantDirectory {
    pub fn new(db: Db, cache: Arc<DirectoryCache>) -> Self {
        Self { db, cache }
    }
}

impl SqlTenantDirectory {
    /// Changes whenever this process's projector applies a tenant event that can change
    /// routing or credentials.
    pub fn generation(&self) -> u64 {
        self.cache.generation.load(Ordering::Acquire)
    }

    /// Tenants' own app secrets (sealed), for verifying webhooks of their Meta apps.
    pub async fn sealed_app_secrets(
        &self,
    ) -> Result<Vec<(String, lyo_domain::tenant::SealedSecret)>, StoreError> {
        const SQL: &str =
            "SELECT tenant_id, app_secret FROM tenant_directory WHERE app_secret IS NOT NULL";
        let rows: Vec<(String, String)> = match &self.db {
            Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
            Db::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
        }
        .map_err(crate::event_store::store_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(tenant, json)| Some((tenant, serde_json::from_str(&json).ok()?)))
            .collect())
    }

    /// The tenant of `phone_number_id` as the table has it now, past the cache (which it
    /// then updates): for a caller that knows the table has caught up with something the
    /// cache may not have, such as another process's projection of a new tenant.
    pub async fn reread(&self, phone_number_id: &str) -> Result<Option<TenantId>, StoreError> {
        const SQL: &str = "SELECT tenant_id FROM tenant_phone_numbers WHERE phone_number_id = $1";
        let found: Option<String> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_scalar(SQL)
                    .bind(phone_number_id)
                    .fetch_optional(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_scalar(SQL)
                    .bind(phone_number_id)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(crate::event_store::store_error)?;
        let tenant = found.and_then(|id| id.parse().ok());
        self.cache.put(phone_number_id, tenant);
        Ok(tenant)
    }
}

#[async_trait]
impl TenantDirectory for SqlTenantDirectory {
    async fn tenant_for_phone_number(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<TenantId>, StoreError> {
        if let Some(hit) = self.cache.get(phone_number_id) {
            return Ok(hit);
        }
        self.reread(phone_number_id).await
    }
}
