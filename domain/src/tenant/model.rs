//! What a tenant is: its profile and its WhatsApp account, validated on the way in.
//!
//! Secrets (the Graph API access token, a per-tenant app secret) only ever appear here sealed
//! ([`SealedSecret`]): the caller encrypts them under `LYO_MASTER_KEY` before building a
//! command, so the domain, the events and the read models never hold them in plaintext.

use super::assistant::{AssistantError, AssistantPatch};
use super::booking::settings_field;
use crate::availability::{BookingSettings, SettingsError};
use crate::understanding::Language;
use serde::{Deserialize, Serialize};

/// A secret encrypted under the master key (XChaCha20-Poly1305, base64 parts). Opaque here.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub nonce: String,
    pub data: String,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppAccount {
    /// Meta's ids of the tenant's business phone numbers; webhooks are routed by them.
    pub phone_number_ids: Vec<String>,
    pub display_phone_number: Option<String>,
    pub business_account_id: Option<String>,
    pub access_token: Option<SealedSecret>,
    /// Overrides `WHATSAPP_APP_SECRET` for this tenant's Meta app.
    pub app_secret: Option<SealedSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantProfile {
    pub name: String,
    /// IANA zone name, e.g. `Europe/Rome`.
    pub time_zone: String,
    /// The first is the default when a customer's language is unclear.
    pub languages: Vec<Language>,
    pub whatsapp: WhatsAppAccount,
}

/// A change to a tenant: `None` leaves a field as it is. Booking settings are replaced as a
/// whole; assistant settings field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub languages: Option<Vec<Language>>,
    pub phone_number_ids: Option<Vec<String>>,
    pub display_phone_number: Option<String>,
    pub business_account_id: Option<String>,
    pub access_token: Option<SealedSecret>,
    pub app_secret: Option<SealedSecret>,
    /// Its `time_zone` must be the tenant's zone after this change.
    pub booking: Option<BookingSettings>,
    pub assistant: Option<AssistantPatch>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("the tenant already exists")]
    AlreadyExists,
    #[error("no such tenant")]
    NotFound,
    #[error("name must be 1 to 120 characters")]
    InvalidName,
    #[error("unknown time zone `{0}`")]
    UnknownTimeZone(String),
    #[error("at least one language (it, en, es) is required, without repeats")]
    InvalidLanguages,
    #[error("phone number ids must be 1 to 32 digits, at least one, without repeats")]
    InvalidPhoneNumberId,
    #[error("`{0}` must be 1 to 64 characters")]
    InvalidField(&'static str),
    #[error("booking.{}: {}", settings_field(.0), .0)]
    InvalidBooking(SettingsError),
    #[error(
        "booking.time_zone: {booking:?} is not the tenant's time zone {tenant:?} \
         (leave it out: the tenant's time_zone applies)"
    )]
    BookingTimeZoneMismatch { booking: String, tenant: String },
    #[error("assistant.{0}")]
    InvalidAssistant(AssistantError),
}

pub(crate) fn validate_name(name: &str) -> Result<(), TenantError> {
    let length = name.trim().chars().count();
    if name.trim() != name || length == 0 || length > 120 {
        return Err(TenantError::InvalidName);
    }
    Ok(())
}

pub(crate) fn validate_time_zone(zone: &str) -> Result<(), TenantError> {
    jiff::tz::TimeZone::get(zone)
        .map(|_| ())
        .map_err(|_| TenantError::UnknownTimeZone(zone.to_string()))
}

pub(crate) fn validate_languages(languages: &[Language]) -> Result<(), TenantError> {
    let distinct = languages
        .iter()
        .enumerate()
        .all(|(i, l)| !languages[..i].contains(l));
    if languages.is_empty() || !distinct {
        return Err(TenantError::InvalidLanguages);
    }
    Ok(())
}

pub(crate) fn validate_phone_number_ids(ids: &[String]) -> Result<(), TenantError> {
    let well_formed = ids
        .iter()
        .all(|id| (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()));
    let distinct = ids.iter().enumerate().all(|(i, id)| !ids[..i].contains(id));
    if ids.is_empty() || !well_formed || !distinct {
        return Err(TenantError::InvalidPhoneNumberId);
    }
    Ok(())
}

pub(crate) fn validate_short(field: &'static str, value: &str) -> Result<(), TenantError> {
    if value.is_empty() || value.chars().count() > 64 {
        return Err(TenantError::InvalidField(field));
    }
    Ok(())
}

impl TenantProfile {
    pub fn validate(&self) -> Result<(), TenantError> {
        validate_name(&self.name)?;
        validate_time_zone(&self.time_zone)?;
        validate_languages(&self.languages)?;
        validate_phone_number_ids(&self.whatsapp.phone_number_ids)?;
        if let Some(display) = &self.whatsapp.display_phone_number {
            validate_short("display_phone_number", display)?;
        }
        if let Some(account) = &self.whatsapp.business_account_id {
            validate_short("business_account_id", account)?;
        }
        Ok(())
    }
}
