//! Tenant administration: create, read and change tenants, their booking and assistant
//! settings. Credentials arrive in plaintext and leave this module sealed; views never contain
//! them. `config` is the fast read path for the assistant.

mod booking_input;
mod config;

pub use booking_input::BookingInput;
pub use config::{TenantConfig, TenantConfigs};

use crate::event_log::StoreError;
use crate::metadata::{Actor, EventMetadata};
use async_trait::async_trait;
use cqrs_es::{AggregateContext, AggregateError, CqrsFramework, EventStore};
use lyo_domain::availability::BookingSettings;
use lyo_domain::ids::TenantId;
use lyo_domain::tenant::{
    AssistantPatch, AssistantSettings, SealedSecret, Tenant, TenantCommand, TenantError,
    TenantPatch, TenantProfile, WhatsAppAccount,
};
use lyo_domain::understanding::Language;
use serde::{Deserialize, Serialize};

/// Encrypts credentials under the master key.
pub trait SecretSealer: Send + Sync {
    fn seal(&self, plaintext: &str, purpose: &str) -> SealedSecret;
}

/// Which tenant a WhatsApp phone number id belongs to (an eventually consistent read model).
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    async fn tenant_for_phone_number(
        &self,
        phone_number_id: &str,
    ) -> Result<Option<TenantId>, StoreError>;
}

/// What a client may send to create a tenant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub name: String,
    pub time_zone: String,
    #[serde(default = "default_languages")]
    pub languages: Vec<Language>,
    pub whatsapp: NewWhatsApp,
    /// `time_zone` may be left out; if given it must be the tenant's.
    #[serde(default)]
    pub booking: Option<BookingInput>,
    /// Applied to the defaults.
    #[serde(default)]
    pub assistant: Option<AssistantPatch>,
}

fn default_languages() -> Vec<Language> {
    vec![Language::It]
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWhatsApp {
    pub phone_number_ids: Vec<String>,
    pub display_phone_number: Option<String>,
    pub business_account_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
}

impl std::fmt::Debug for NewWhatsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWhatsApp")
            .field("phone_number_ids", &self.phone_number_ids)
            .finish_non_exhaustive()
    }
}

/// What a client may change; absent fields stay as they are.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub languages: Option<Vec<Language>>,
    pub whatsapp: Option<WhatsAppChanges>,
    /// Replaces the booking settings as a whole.
    pub booking: Option<BookingInput>,
    /// Each given field replaces that field.
    pub assistant: Option<AssistantPatch>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppChanges {
    pub phone_number_ids: Option<Vec<String>>,
    pub display_phone_number: Option<String>,
    pub business_account_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
}

/// A tenant as shown to administrators: credentials only as "present or not".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantView {
    pub id: TenantId,
    pub name: String,
    pub time_zone: String,
    pub languages: Vec<Language>,
    pub whatsapp: WhatsAppView,
    /// `null` until set.
    pub booking: Option<BookingSettings>,
    pub assistant: AssistantSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatsAppView {
    pub phone_number_ids: Vec<String>,
    pub display_phone_number: Option<String>,
    pub business_account_id: Option<String>,
    pub has_access_token: bool,
    pub has_app_secret: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantServiceError {
    #[error(transparent)]
    Rejected(#[from] TenantError),
    #[error("phone number id {0} already belongs to another tenant")]
    PhoneNumberInUse(String),
    #[error("the tenant was changed concurrently; retry")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AggregateError<TenantError>> for TenantServiceError {
    fn from(error: AggregateError<TenantError>) -> Self {
        match error {
            AggregateError::UserError(e) => Self::Rejected(e),
            AggregateError::AggregateConflict => Self::Conflict,
            AggregateError::DatabaseConnectionError(e) => Self::Store(StoreError::Unavailable(e)),
            AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => {
                Self::Store(StoreError::Unexpected(e))
            }
        }
    }
}

pub struct TenantService<ES: EventStore<Tenant>> {
    cqrs: CqrsFramework<Tenant, ES>,
    store: ES,
    sealer: Box<dyn SecretSealer>,
    directory: Box<dyn TenantDirectory>,
}

/// Who asks, for the events' metadata.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl<ES: EventStore<Tenant>> TenantService<ES> {
    /// `writer` and `reader` are two stores over the same repository.
    pub fn new(
        writer: ES,
        reader: ES,
        sealer: Box<dyn SecretSealer>,
        directory: Box<dyn TenantDirectory>,
    ) -> Self {
        Self {
            cqrs: CqrsFramework::new(writer, vec![], ()),
            store: reader,
            sealer,
            directory,
        }
    }

    pub async fn create(
        &self,
        new: NewTenant,
        caller: &Caller,
    ) -> Result<TenantView, TenantServiceError> {
        let id = TenantId::new();
        self.check_phone_numbers(id, &new.whatsapp.phone_number_ids)
            .await?;
        let seal = |secret: &Option<String>, what: &str| {
            secret
                .as_deref()
                .map(|s| self.sealer.seal(s, &format!("tenant:{id}:{what}")))
        };
        let profile = TenantProfile {
            name: new.name,
            time_zone: new.time_zone,
            languages: new.languages,
            whatsapp: WhatsAppAccount {
                access_token: seal(&new.whatsapp.access_token, "access_token"),
                app_secret: seal(&new.whatsapp.app_secret, "app_secret"),
                phone_number_ids: new.whatsapp.phone_number_ids,
                display_phone_number: new.whatsapp.display_phone_number,
                business_account_id: new.whatsapp.business_account_id,
            },
        };
        let booking = new
            .booking
            .map(|booking| booking.into_settings(&profile.time_zone));
        let command = TenantCommand::Create {
            profile,
            booking,
            assistant: new.assistant,
        };
        self.execute(id, command, caller).await?;
        self.get(id).await
    }

    pub async fn update(
        &self,
        id: TenantId,
        changes: TenantChanges,
        caller: &Caller,
    ) -> Result<TenantView, TenantServiceError> {
        let whatsapp = changes.whatsapp.unwrap_or_default();
        if let Some(ids) = &whatsapp.phone_number_ids {
            self.check_phone_numbers(id, ids).await?;
        }
        let seal = |secret: &Option<String>, what: &str| {
            secret
                .as_deref()
                .map(|s| self.sealer.seal(s, &format!("tenant:{id}:{what}")))
        };
        let booking = match changes.booking {
            Some(booking) => {
                let zone = match &changes.time_zone {
                    Some(zone) => zone.clone(),
                    None => self.load(id).await?.time_zone,
                };
                Some(booking.into_settings(&zone))
            }
            None => None,
        };
        let patch = TenantPatch {
            booking,
            assistant: changes.assistant,
            name: changes.name,
            time_zone: changes.time_zone,
            languages: changes.languages,
            access_token: seal(&whatsapp.access_token, "access_token"),
            app_secret: seal(&whatsapp.app_secret, "app_secret"),
            phone_number_ids: whatsapp.phone_number_ids,
            display_phone_number: whatsapp.display_phone_number,
            business_account_id: whatsapp.business_account_id,
        };
        self.execute(id, TenantCommand::Update(patch), caller)
            .await?;
        self.get(id).await
    }

    pub async fn get(&self, id: TenantId) -> Result<TenantView, TenantServiceError> {
        let state = self.state(id).await?;
        let profile = state.profile.ok_or(TenantError::NotFound)?;
        Ok(TenantView {
            booking: state.booking,
            assistant: state.assistant,
            id,
            name: profile.name,
            time_zone: profile.time_zone,
            languages: profile.languages,
            whatsapp: WhatsAppView {
                has_access_token: profile.whatsapp.access_token.is_some(),
                has_app_secret: profile.whatsapp.app_secret.is_some(),
                phone_number_ids: profile.whatsapp.phone_number_ids,
                display_phone_number: profile.whatsapp.display_phone_number,
                business_account_id: profile.whatsapp.business_account_id,
            },
        })
    }

    async fn state(&self, id: TenantId) -> Result<Tenant, TenantServiceError> {
        let mut context = self.store.load_aggregate(&id.to_string()).await?;
        Ok(context.aggregate().clone())
    }

    async fn load(&self, id: TenantId) -> Result<TenantProfile, TenantServiceError> {
        Ok(self.state(id).await?.profile.ok_or(TenantError::NotFound)?)
    }

    async fn execute(
        &self,
        id: TenantId,
        command: TenantCommand,
        caller: &Caller,
    ) -> Result<(), TenantServiceError> {
        let metadata = EventMetadata {
            tenant_id: id,
            actor: caller.actor.clone(),
            correlation_id: caller
                .request_id
                .clone()
                .unwrap_or_else(|| format!("tenant-{id}")),
            causation_id: None,
            request_id: caller.request_id.clone(),
        };
        self.cqrs
            .execute_with_metadata(&id.to_string(), command, metadata.to_map())
            .await
            .map_err(TenantServiceError::from)
    }

    /// Refuses phone number ids another tenant already uses (per the directory read model, so
    /// two simultaneous claims can both pass; the directory then resolves to the later one).
    async fn check_phone_numbers(
        &self,
        id: TenantId,
        ids: &[String],
    ) -> Result<(), TenantServiceError> {
        for phone_number_id in ids {
            match self
                .directory
                .tenant_for_phone_number(phone_number_id)
                .await?
            {
                Some(owner) if owner != id => {
                    return Err(TenantServiceError::PhoneNumberInUse(
                        phone_number_id.clone(),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}
