//! The `Tenant` aggregate: a restaurant or salon, its profile, its WhatsApp account, its booking
//! settings and how its assistant behaves. Every change is an event, so its history is
//! auditable. Aggregate id: the tenant's UUID.
//!
//! Invariants: booking settings, once set, are valid (`BookingSettings::validate`) and carry the
//! profile's time zone (see `booking.rs`); assistant settings are valid and normalised; a command
//! that changes nothing records nothing.

mod assistant;
mod booking;
mod model;

pub use assistant::{
    purpose_key, AssistantError, AssistantPatch, AssistantSettings, TemplateRef, Templates,
    MAX_REMINDERS, MAX_REMINDER_MINUTES,
};
pub use booking::settings_field;
pub use model::{SealedSecret, TenantError, TenantPatch, TenantProfile, WhatsAppAccount};

use crate::availability::BookingSettings;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use model::{
    validate_languages, validate_name, validate_phone_number_ids, validate_short,
    validate_time_zone,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub profile: Option<TenantProfile>,
    /// `None` until first set; the assistant cannot offer slots without them.
    #[serde(default)]
    pub booking: Option<BookingSettings>,
    /// The defaults until first changed.
    #[serde(default)]
    pub assistant: AssistantSettings,
}

#[derive(Debug, Clone)]
pub enum TenantCommand {
    /// Booking settings must carry the profile's zone; assistant settings apply to the defaults.
    Create {
        profile: TenantProfile,
        booking: Option<BookingSettings>,
        assistant: Option<AssistantPatch>,
    },
    Update(TenantPatch),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantEvent {
    /// v1
    TenantCreated { profile: TenantProfile },
    /// v1: only the fields that changed are set.
    TenantProfileChanged {
        name: Option<String>,
        time_zone: Option<String>,
        languages: Option<Vec<crate::understanding::Language>>,
    },
    /// v1: only the fields that changed are set; secrets only when replaced.
    TenantWhatsAppChanged {
        phone_number_ids: Option<Vec<String>>,
        display_phone_number: Option<String>,
        business_account_id: Option<String>,
        access_token: Option<SealedSecret>,
        app_secret: Option<SealedSecret>,
    },
    /// v1: the whole booking settings as they now are; `time_zone` is the profile's.
    TenantBookingSettingsChanged { booking: BookingSettings },
    /// v1: the whole assistant settings as they now are.
    TenantAssistantSettingsChanged { assistant: AssistantSettings },
}

impl DomainEvent for TenantEvent {
    fn event_type(&self) -> String {
        match self {
            TenantEvent::TenantCreated { .. } => "TenantCreated",
            TenantEvent::TenantProfileChanged { .. } => "TenantProfileChanged",
            TenantEvent::TenantWhatsAppChanged { .. } => "TenantWhatsAppChanged",
            TenantEvent::TenantBookingSettingsChanged { .. } => "TenantBookingSettingsChanged",
            TenantEvent::TenantAssistantSettingsChanged { .. } => "TenantAssistantSettingsChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}

/// `Some(new)` when `new` is given and differs from `current`.
fn changed<T: PartialEq + Clone>(new: &Option<T>, current: &T) -> Option<T> {
    new.as_ref().filter(|n| *n != current).cloned()
}

fn changed_opt<T: PartialEq + Clone>(new: &Option<T>, current: &Option<T>) -> Option<T> {
    new.as_ref()
        .filter(|n| Some(*n) != current.as_ref())
        .cloned()
}

impl Tenant {
    fn decide(&self, command: TenantCommand) -> Result<Vec<TenantEvent>, TenantError> {
        match command {
            TenantCommand::Create {
                profile,
                booking,
                assistant,
            } => self.create(profile, booking, assistant),
            TenantCommand::Update(patch) => {
                let current = self.profile.as_ref().ok_or(TenantError::NotFound)?;
                patch.name.as_deref().map(validate_name).transpose()?;
                patch
                    .time_zone
                    .as_deref()
                    .map(validate_time_zone)
                    .transpose()?;
                patch
                    .languages
                    .as_deref()
                    .map(validate_languages)
                    .transpose()?;
                patch
                    .phone_number_ids
                    .as_deref()
                    .map(validate_phone_number_ids)
                    .transpose()?;
                if let Some(display) = &patch.display_phone_number {
                    validate_short("display_phone_number", display)?;
                }
                if let Some(account) = &patch.business_account_id {
                    validate_short("business_account_id", account)?;
                }
                let mut events = Vec::new();
                let profile = TenantEvent::TenantProfileChanged {
                    name: changed(&patch.name, &current.name),
                    time_zone: changed(&patch.time_zone, &current.time_zone),
                    languages: changed(&patch.languages, &current.languages),
                };
                if profile
                    != (TenantEvent::TenantProfileChanged {
                        name: None,
                        time_zone: None,
                        languages: None,
                    })
                {
                    events.push(profile);
                }
                let wa = &current.whatsapp;
                let whatsapp = TenantEvent::TenantWhatsAppChanged {
                    phone_number_ids: changed(&patch.phone_number_ids, &wa.phone_number_ids),
                    display_phone_number: changed_opt(
                        &patch.display_phone_number,
                        &wa.display_phone_number,
                    ),
                    business_account_id: changed_opt(
                        &patch.business_account_id,
                        &wa.business_account_id,
                    ),
                    // A sealed secret is re-encrypted each time: given means replaced.
                    access_token: patch.access_token.clone(),
                    app_secret: patch.app_secret.clone(),
                };
                if whatsapp
                    != (TenantEvent::TenantWhatsAppChanged {
                        phone_number_ids: None,
                        display_phone_number: None,
                        business_account_id: None,
                        access_token: None,
                        app_secret: None,
                    })
                {
                    events.push(whatsapp);
                }
                let zone = patch.time_zone.as_ref().unwrap_or(&current.time_zone);
                events.extend(self.booking_change(patch.booking, zone)?);
                events.extend(self.assistant_change(patch.assistant.as_ref())?);
                Ok(events)
            }
        }
    }
}

impl Tenant {
    fn create(
        &self,
        profile: TenantProfile,
        booking: Option<BookingSettings>,
        assistant: Option<AssistantPatch>,
    ) -> Result<Vec<TenantEvent>, TenantError> {
        if self.profile.is_some() {
            return Err(TenantError::AlreadyExists);
        }
        profile.validate()?;
        if let Some(booking) = &booking {
            booking::check(booking, &profile.time_zone)?;
        }
        // Given settings are recorded even when they equal the defaults, so a later change of
        // the defaults does not change this tenant.
        let assistant = assistant
            .map(|patch| AssistantSettings::default().patched(&patch))
            .transpose()
            .map_err(TenantError::InvalidAssistant)?;
        let mut events = vec![TenantEvent::TenantCreated { profile }];
        events.extend(booking.map(|booking| TenantEvent::TenantBookingSettingsChanged { booking }));
        events.extend(
            assistant.map(|assistant| TenantEvent::TenantAssistantSettingsChanged { assistant }),
        );
        Ok(events)
    }

    /// The assistant settings an update leaves, as an event when they differ.
    fn assistant_change(
        &self,
        patch: Option<&AssistantPatch>,
    ) -> Result<Option<TenantEvent>, TenantError> {
        let Some(patch) = patch else {
            return Ok(None);
        };
        let next = self
            .assistant
            .patched(patch)
            .map_err(TenantError::InvalidAssistant)?;
        Ok((next != self.assistant)
            .then_some(TenantEvent::TenantAssistantSettingsChanged { assistant: next }))
    }

    /// The booking settings an update leaves, as an event when they differ: the given ones,
    /// else the current ones moved to a changed zone.
    fn booking_change(
        &self,
        given: Option<BookingSettings>,
        zone: &str,
    ) -> Result<Option<TenantEvent>, TenantError> {
        let next = match given {
            Some(booking) => {
                booking::check(&booking, zone)?;
                Some(booking)
            }
            None => self.booking.clone().map(|mut booking| {
                booking.time_zone = zone.to_string();
                booking
            }),
        };
        Ok(next
            .filter(|next| Some(next) != self.booking.as_ref())
            .map(|booking| TenantEvent::TenantBookingSettingsChanged { booking }))
    }

    /// This state with the sealed credentials removed, for read models.
    pub fn without_secrets(mut self) -> Self {
        if let Some(profile) = &mut self.profile {
            profile.whatsapp.access_token = None;
            profile.whatsapp.app_secret = None;
        }
        self
    }
}

impl Aggregate for Tenant {
    const TYPE: &'static str = "Tenant";
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TenantCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TenantError> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: TenantEvent) {
        match event {
            TenantEvent::TenantCreated { profile } => self.profile = Some(profile),
            TenantEvent::TenantProfileChanged {
                name,
                time_zone,
                languages,
            } => {
                if let Some(profile) = &mut self.profile {
                    profile.name = name.unwrap_or(profile.name.clone());
                    profile.time_zone = time_zone.unwrap_or(profile.time_zone.clone());
                    profile.languages = languages.unwrap_or(profile.languages.clone());
                }
            }
            TenantEvent::TenantWhatsAppChanged {
                phone_number_ids,
                display_phone_number,
                business_account_id,
                access_token,
                app_secret,
            } => {
                if let Some(profile) = &mut self.profile {
                    let wa = &mut profile.whatsapp;
                    if let Some(ids) = phone_number_ids {
                        wa.phone_number_ids = ids;
                    }
                    wa.display_phone_number =
                        display_phone_number.or(wa.display_phone_number.take());
                    wa.business_account_id = business_account_id.or(wa.business_account_id.take());
                    wa.access_token = access_token.or(wa.access_token.take());
                    wa.app_secret = app_secret.or(wa.app_secret.take());
                }
            }
            TenantEvent::TenantBookingSettingsChanged { booking } => self.booking = Some(booking),
            TenantEvent::TenantAssistantSettingsChanged { assistant } => self.assistant = assistant,
        }
    }
}

#[cfg(test)]
mod tests;
