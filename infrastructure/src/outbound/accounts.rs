//! Tenants' sending accounts: the business number, the opened access token, the name and the
//! templates, read from the `Tenant` aggregate itself (the token is never projected) and kept
//! for a few seconds, so a changed token or template is used soon after it is saved.

use crate::event_store::EventRepository;
use crate::pii::MasterKey;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::EventStore;
use lyo_domain::ids::TenantId;
use lyo_domain::tenant::{Templates, Tenant};
use lyo_domain::understanding::Language;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the dispatcher needs of a tenant to send for it.
#[derive(Clone)]
pub struct Account {
    pub name: String,
    /// The number replies go out from: the tenant's first phone number id.
    pub phone_number_id: String,
    pub access_token: Option<SecretString>,
    /// Identifies the sealed token without revealing it: a new token has a new digest.
    pub token_digest: Option<String>,
    pub templates: Templates,
    pub default_language: Language,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("cannot load the tenant")]
    Load(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the tenant's access token does not open with LYO_MASTER_KEY")]
    Token,
}

type Entry = (Option<Arc<Account>>, Instant);

pub struct Accounts {
    store: PersistedEventStore<EventRepository, Tenant>,
    master: MasterKey,
    ttl: Duration,
    cache: Mutex<HashMap<TenantId, Entry>>,
}

impl Accounts {
    pub fn new(repository: EventRepository, master: MasterKey, ttl: Duration) -> Self {
        Self {
            store: PersistedEventStore::new_event_store(repository),
            master,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's account (`None`: no such tenant, or it has no phone number), cached.
    pub async fn get(&self, tenant: TenantId) -> Result<Option<Arc<Account>>, AccountError> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((account, at)) = cache.get(&tenant) {
                if at.elapsed() < self.ttl {
                    return Ok(account.clone());
                }
            }
        }
        self.fresh(tenant).await
    }

    /// The tenant's account read now, bypassing (and refreshing) the cache.
    pub async fn fresh(&self, tenant: TenantId) -> Result<Option<Arc<Account>>, AccountError> {
        let context = self
            .store
            .load_aggregate(&tenant.to_string())
            .await
            .map_err(|e| AccountError::Load(Box::new(e)))?;
        let account = self.account(tenant, &context.aggregate)?.map(Arc::new);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(tenant, (account.clone(), Instant::now()));
        }
        Ok(account)
    }

    fn account(&self, tenant: TenantId, state: &Tenant) -> Result<Option<Account>, AccountError> {
        let Some(profile) = &state.profile else {
            return Ok(None);
        };
        let Some(phone_number_id) = profile.whatsapp.phone_number_ids.first() else {
            return Ok(None);
        };
        let sealed = profile.whatsapp.access_token.as_ref();
        let access_token = sealed
            .map(|s| {
                self.master
                    .open_secret(s, &format!("tenant:{tenant}:access_token"))
            })
            .transpose()
            .map_err(|_| AccountError::Token)?;
        let token_digest = sealed.map(|s| {
            let digest = Sha256::digest(format!("{}.{}", s.nonce, s.data));
            hex::encode(&digest[..8])
        });
        Ok(Some(Account {
            name: profile.name.clone(),
            phone_number_id: phone_number_id.clone(),
            access_token,
            token_digest,
            templates: state.assistant.templates.clone(),
            default_language: profile.languages.first().copied().unwrap_or(Language::It),
        }))
    }
}
