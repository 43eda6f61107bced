//! The read path for a tenant's configuration: what the inbox worker and the process managers
//! need on every message (profile, booking and assistant settings), without credentials.
//!
//! Eventually consistent: an implementation serves the `tenant_settings` read model through a
//! cache, so a change is seen once the projector applied it (at once in the process that runs
//! the projector, within the cache's lifetime elsewhere). `is_current` tells a caller whether a
//! missing tenant is unknown or only not projected yet.

use crate::event_log::{Position, StoreError};
use async_trait::async_trait;
use lyo_domain::availability::{Minutes, ValidSettings};
use lyo_domain::ids::TenantId;
use lyo_domain::reply::ReplyPurpose;
use lyo_domain::tenant::{TemplateRef, Templates, Tenant};
use lyo_domain::understanding::Language;
use std::sync::Arc;

/// A tenant as the assistant sees it. No credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantConfig {
    pub tenant: TenantId,
    pub name: String,
    /// IANA zone; the booking settings' zone is always the same.
    pub time_zone: String,
    /// The first is the default.
    pub languages: Vec<Language>,
    pub phone_number_ids: Vec<String>,
    pub display_phone_number: Option<String>,
    /// `None` until the tenant set them (then nothing can be booked), or if stored settings no
    /// longer pass validation (logged).
    pub booking: Option<ValidSettings>,
    /// False: staff confirm each booking request.
    pub auto_confirm: bool,
    pub address: Option<String>,
    /// Minutes before a booking, longest first.
    pub reminder_minutes_before: Vec<Minutes>,
    pub templates: Templates,
    /// The last `Tenant` event reflected here.
    pub position: Position,
}

impl TenantConfig {
    /// The configuration of a tenant's state (`None` before it was created).
    pub fn from_state(tenant: TenantId, state: &Tenant, position: Position) -> Option<Self> {
        let profile = state.profile.as_ref()?;
        let booking = state.booking.clone().and_then(|booking| {
            booking
                .validate()
                .inspect_err(|error| {
                    tracing::error!(%tenant, %error, "stored booking settings no longer validate; ignored");
                })
                .ok()
        });
        let assistant = &state.assistant;
        Some(Self {
            tenant,
            name: profile.name.clone(),
            time_zone: profile.time_zone.clone(),
            languages: profile.languages.clone(),
            phone_number_ids: profile.whatsapp.phone_number_ids.clone(),
            display_phone_number: profile.whatsapp.display_phone_number.clone(),
            booking,
            auto_confirm: assistant.auto_confirm,
            address: assistant.address.clone(),
            reminder_minutes_before: assistant.reminder_minutes_before.clone(),
            templates: assistant.templates.clone(),
            position,
        })
    }

    /// The language used when a customer's is unclear.
    pub fn default_language(&self) -> Language {
        self.languages.first().copied().unwrap_or(Language::It)
    }

    /// The approved template for `purpose` in `language`, if the tenant registered one.
    pub fn template(&self, purpose: ReplyPurpose, language: Language) -> Option<&TemplateRef> {
        self.templates.get(purpose, language)
    }
}

/// Reads tenants' configurations; called for every message, so implementations cache.
#[async_trait]
pub trait TenantConfigs: Send + Sync {
    /// The tenant's configuration as last projected; `None` when not projected (yet).
    async fn get(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError>;

    /// Whether every `Tenant` event stored so far is projected, so that a `None` from `get`
    /// means there is no such tenant.
    async fn is_current(&self) -> Result<bool, StoreError>;
}
