//! The `tenant_settings` read model and the cached `TenantConfigs` the assistant reads on every
//! message.
//!
//! The projector folds `Tenant` events with the aggregate's own `apply` into the aggregate's
//! state, stores it without credentials, and tells the cache which tenants it changed. The cache
//! keeps a configuration for [`CACHE_TTL`] (other processes' projectors cannot reach it), and
//! after a change by this process's projector it refuses any row older than that change, so a
//! read racing the projector's commit cannot pin the old configuration.

use super::sql_projector::{AfterCommit, ReadModel, SqlProjector};
use super::tenant_events_applied;
use crate::db::{fetch, Arg, Db, DbTx};
use async_trait::async_trait;
use lyo_application::event_log::{Position, RecordedEvent, StoreError};
use lyo_application::projection::Projector;
use lyo_application::tenants::{TenantConfig, TenantConfigs};
use lyo_domain::ids::TenantId;
use lyo_domain::tenant::{Tenant, TenantEvent};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const NAME: &str = "tenant_settings";

const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_LIMIT: usize = 10_000;

type Entry = (Option<Arc<TenantConfig>>, Instant);

/// Tenant -> configuration (or a known miss), shared by the reader and the projector.
#[derive(Debug, Default)]
pub struct TenantConfigCache(Mutex<CacheState>);

#[derive(Debug, Default)]
struct CacheState {
    entries: HashMap<TenantId, Entry>,
    /// Per tenant, the last event the projector wrote and that no cached row reflects yet.
    floors: HashMap<TenantId, Position>,
}

impl TenantConfigCache {
    fn get(&self, tenant: TenantId) -> Option<Option<Arc<TenantConfig>>> {
        let state = self.0.lock().ok()?;
        state
            .entries
            .get(&tenant)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(config, _)| config.clone())
    }

    /// Keeps what was read unless it is older than a change the projector wrote.
    fn put(&self, tenant: TenantId, config: Option<Arc<TenantConfig>>) {
        let Ok(mut state) = self.0.lock() else {
            return;
        };
        if let Some(floor) = state.floors.get(&tenant).copied() {
            if config.as_ref().is_none_or(|c| c.position < floor) {
                return;
            }
            state.floors.remove(&tenant);
        }
        if state.entries.len() >= CACHE_LIMIT {
            state.entries.clear();
        }
        state.entries.insert(tenant, (config, Instant::now()));
    }

    /// The projector wrote `tenant`'s configuration as of `position`.
    fn changed(&self, tenant: TenantId, position: Position) {
        if let Ok(mut state) = self.0.lock() {
            state.entries.remove(&tenant);
            if state.floors.len() >= CACHE_LIMIT {
                state.floors.clear();
            }
            state.floors.insert(tenant, position);
        }
    }
}

pub struct TenantSettingsModel {
    pub cache: Arc<TenantConfigCache>,
}

const SELECT: &str = "SELECT state, last_transaction_id, last_position FROM tenant_settings
                       WHERE tenant_id = $1";
const UPSERT: &str = "
INSERT INTO tenant_settings (tenant_id, state, last_transaction_id, last_position)
VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id) DO UPDATE SET state = excluded.state,
    last_transaction_id = excluded.last_transaction_id, last_position = excluded.last_position";

type Row = (String, i64, i64);

fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, sqlx::Error> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

async fn stored_state(tx: &mut DbTx, tenant: &str) -> Result<Option<Tenant>, sqlx::Error> {
    let row: Option<Row> = match tx {
        DbTx::Postgres(tx) => {
            sqlx::query_as(SELECT)
                .bind(tenant)
                .fetch_optional(&mut **tx)
                .await?
        }
        DbTx::Sqlite(tx) => {
            sqlx::query_as(SELECT)
                .bind(tenant)
                .fetch_optional(&mut **tx)
                .await?
        }
    };
    row.map(|(json, _, _)| decode(&json)).transpose()
}

#[async_trait]
impl ReadModel for TenantSettingsModel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tenant_settings"]
    }

    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        // Each tenant is read once and written once per batch.
        let mut touched: HashMap<String, (Tenant, Position)> = HashMap::new();
        for event in events
            .iter()
            .filter(|e| e.aggregate_type == <Tenant as cqrs_es::Aggregate>::TYPE)
        {
            let decoded: TenantEvent = serde_json::from_value(event.payload.clone())
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            let tenant = event.aggregate_id.clone();
            let mut state = match touched.remove(&tenant) {
                Some((state, _)) => state,
                None => stored_state(tx, &tenant).await?.unwrap_or_default(),
            };
            cqrs_es::Aggregate::apply(&mut state, decoded);
            // Events come in global order: this one is the tenant's latest so far.
            touched.insert(tenant, (state.without_secrets(), event.at));
        }
        for (tenant, (state, at)) in touched {
            let json =
                serde_json::to_string(&state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            tx.execute(
                UPSERT,
                &[
                    Arg::Text(tenant.clone()),
                    Arg::Text(json),
                    Arg::I64(at.transaction_id),
                    Arg::I64(at.position),
                ],
            )
            .await?;
            if let Ok(id) = tenant.parse() {
                self.cache.changed(id, at);
            }
        }
        Ok(None)
    }
}

/// `TenantConfigs` over the `tenant_settings` read model, through the cache.
#[derive(Clone)]
pub struct SqlTenantConfigs {
    db: Db,
    cache: Arc<TenantConfigCache>,
    /// The projector, to read its checkpoint.
    projector: Arc<dyn Projector>,
}

impl SqlTenantConfigs {
    pub fn new(db: Db, cache: Arc<TenantConfigCache>) -> Self {
        let projector = Arc::new(SqlProjector::new(
            db.clone(),
            TenantSettingsModel {
                cache: cache.clone(),
            },
        ));
        Self {
            db,
            cache,
            projector,
        }
    }

    async fn load(&self, tenant: TenantId) -> Result<Option<TenantConfig>, StoreError> {
        let id = tenant.to_string();
        let row: Option<Row> = fetch!(&self.db, fetch_optional, SELECT, &id)
            .map_err(crate::event_store::store_error)?;
        let Some((json, transaction_id, position)) = row else {
            return Ok(None);
        };
        let state: Tenant = decode(&json).map_err(|e| StoreError::Unexpected(Box::new(e)))?;
        let at = Position {
            transaction_id,
            position,
        };
        Ok(TenantConfig::from_state(tenant, &state, at))
    }
}

#[async_trait]
impl TenantConfigs for SqlTenantConfigs {
    async fn get(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError> {
        if let Some(hit) = self.cache.get(tenant) {
            return Ok(hit);
        }
        let config = self.load(tenant).await?.map(Arc::new);
        self.cache.put(tenant, config.clone());
        Ok(config)
    }

    async fn is_current(&self) -> Result<bool, StoreError> {
        tenant_events_applied(&self.db, self.projector.as_ref()).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use lyo_domain::tenant::{TenantProfile, WhatsAppAccount};

    fn config(tenant: TenantId, position: i64) -> Arc<TenantConfig> {
        let state = Tenant {
            profile: Some(TenantProfile {
                name: "Gino".into(),
                time_zone: "Europe/Rome".into(),
                languages: vec![lyo_domain::understanding::Language::It],
                whatsapp: WhatsAppAccount {
                    phone_number_ids: vec!["1".into()],
                    display_phone_number: None,
                    business_account_id: None,
                    access_token: None,
                    app_secret: None,
                },
            }),
            ..Tenant::default()
        };
        let at = Position {
            transaction_id: 0,
            position,
        };
        Arc::new(TenantConfig::from_state(tenant, &state, at).unwrap())
    }

    #[test]
    fn a_read_older_than_the_projectors_last_write_is_not_cached() {
        let cache = TenantConfigCache::default();
        let tenant = TenantId::new();
        cache.put(tenant, Some(config(tenant, 1)));
        assert_eq!(cache.get(tenant).unwrap().unwrap().position.position, 1);

        // The projector wrote position 2; a read that raced its commit still sees 1.
        cache.changed(
            tenant,
            Position {
                transaction_id: 0,
                position: 2,
            },
        );
        assert!(cache.get(tenant).is_none(), "invalidated");
        cache.put(tenant, Some(config(tenant, 1)));
        assert!(cache.get(tenant).is_none(), "the stale row is not kept");
        cache.put(tenant, None);
        assert!(cache.get(tenant).is_none(), "nor a miss");

        cache.put(tenant, Some(config(tenant, 2)));
        assert_eq!(cache.get(tenant).unwrap().unwrap().position.position, 2);
    }
}
