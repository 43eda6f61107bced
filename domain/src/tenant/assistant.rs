//! How the assistant behaves for a tenant: whether it confirms bookings itself, the address it
//! gives, when it sends reminders, and which approved WhatsApp templates it falls back to when
//! the 24-hour service window is closed.
//!
//! Invariants of a validated [`AssistantSettings`]: the address is 1 to 300 characters without
//! surrounding blanks; at most [`MAX_REMINDERS`] reminder offsets, each 1 to
//! [`MAX_REMINDER_MINUTES`], distinct and sorted latest-first (the longest offset first), so two
//! equal sets compare equal; template names and language codes have Meta's shapes.

use crate::availability::Minutes;
use crate::reply::ReplyPurpose;
use crate::understanding::Language;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

pub const MAX_REMINDERS: usize = 5;
/// 30 days.
pub const MAX_REMINDER_MINUTES: u32 = 30 * 24 * 60;
const MAX_ADDRESS: usize = 300;
/// Meta's limit on a template name.
const MAX_TEMPLATE_NAME: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantSettings {
    /// True: a booking that fits is confirmed at once. False: staff confirm each request.
    pub auto_confirm: bool,
    /// Given when a customer asks where the place is.
    pub address: Option<String>,
    /// When to remind a customer, in minutes before the booking starts; empty: never.
    pub reminder_minutes_before: Vec<Minutes>,
    /// Approved templates per purpose and customer language (24-hour-window fallback).
    pub templates: Templates,
}

impl Default for AssistantSettings {
    /// What a tenant that never set them gets: automatic confirmation, no address, reminders
    /// a day and two hours before, no templates.
    fn default() -> Self {
        Self {
            auto_confirm: true,
            address: None,
            reminder_minutes_before: vec![Minutes(1440), Minutes(120)],
            templates: Templates::default(),
        }
    }
}

/// A change to the assistant settings: each given field replaces that field as a whole;
/// `address: null` removes the address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistantPatch {
    #[serde(default)]
    pub auto_confirm: Option<bool>,
    /// `Some(None)`: remove the address.
    #[serde(default, deserialize_with = "present")]
    pub address: Option<Option<String>>,
    #[serde(default)]
    pub reminder_minutes_before: Option<Vec<Minutes>>,
    #[serde(default)]
    pub templates: Option<Templates>,
}

/// A present field, `null` included, is `Some`; only an absent one is `None` (`default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An approved message template as registered with Meta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Lowercase letters, digits and underscores (`booking_confirmed_v2`).
    pub name: String,
    /// The template's language as registered (`it`, `en_US`).
    pub language_code: String,
}

/// Purpose -> customer language -> template. Serialized with sorted keys, so events and read
/// models are byte-stable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Templates(HashMap<ReplyPurpose, HashMap<Language, TemplateRef>>);

impl Templates {
    pub fn get(&self, purpose: ReplyPurpose, language: Language) -> Option<&TemplateRef> {
        self.0.get(&purpose)?.get(&language)
    }

    pub fn insert(&mut self, purpose: ReplyPurpose, language: Language, template: TemplateRef) {
        self.0
            .entry(purpose)
            .or_default()
            .insert(language, template);
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(HashMap::is_empty)
    }

    pub fn iter(&self) -> impl Iterator<Item = (ReplyPurpose, Language, &TemplateRef)> {
        self.0.iter().flat_map(|(purpose, by_language)| {
            by_language
                .iter()
                .map(move |(language, template)| (*purpose, *language, template))
        })
    }
}

/// The JSON key of a purpose (`booking_confirmed`).
pub fn purpose_key(purpose: ReplyPurpose) -> String {
    match serde_json::to_value(purpose) {
        Ok(serde_json::Value::String(key)) => key,
        _ => format!("{purpose:?}"),
    }
}

impl Serialize for Templates {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<String, BTreeMap<&'static str, &TemplateRef>> = self
            .0
            .iter()
            .map(|(purpose, by_language)| {
                let inner = by_language.iter().map(|(l, t)| (l.code(), t)).collect();
                (purpose_key(*purpose), inner)
            })
            .collect();
        sorted.serialize(serializer)
    }
}

/// A rule the assistant settings break; the message starts with the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssistantError {
    #[error("address: must be 1 to 300 characters without leading or trailing blanks")]
    InvalidAddress,
    #[error(
        "reminder_minutes_before: at most 5 reminders, each 1 to 43200 minutes, without repeats"
    )]
    InvalidReminders,
    #[error(
        "templates.{}.{}.name: lowercase letters, digits and underscores, 1 to 512 characters",
        purpose_key(*.purpose),
        .language.code()
    )]
    InvalidTemplateName {
        purpose: ReplyPurpose,
        language: Language,
    },
    #[error(
        "templates.{}.{}.language_code: a code as Meta registers it, such as it or en_US",
        purpose_key(*.purpose),
        .language.code()
    )]
    InvalidTemplateLanguage {
        purpose: ReplyPurpose,
        language: Language,
    },
}

impl AssistantSettings {
    /// These settings with `patch` applied, validated and normalised.
    pub fn patched(&self, patch: &AssistantPatch) -> Result<Self, AssistantError> {
        let mut next = self.clone();
        if let Some(auto_confirm) = patch.auto_confirm {
            next.auto_confirm = auto_confirm;
        }
        if let Some(address) = &patch.address {
            next.address.clone_from(address);
        }
        if let Some(reminders) = &patch.reminder_minutes_before {
            next.reminder_minutes_before.clone_from(reminders);
        }
        if let Some(templates) = &patch.templates {
            next.templates = templates.clone();
        }
        next.validate()?;
        next.reminder_minutes_before.sort_by(|a, b| b.cmp(a));
        Ok(next)
    }

    fn validate(&self) -> Result<(), AssistantError> {
        if let Some(address) = &self.address {
            let length = address.chars().count();
            if address.trim() != address || length == 0 || length > MAX_ADDRESS {
                return Err(AssistantError::InvalidAddress);
            }
        }
        let reminders = &self.reminder_minutes_before;
        let in_range = reminders
            .iter()
            .all(|m| (1..=MAX_REMINDER_MINUTES).contains(&m.get()));
        let distinct = reminders
            .iter()
            .enumerate()
            .all(|(i, m)| !reminders[..i].contains(m));
        if reminders.len() > MAX_REMINDERS || !in_range || !distinct {
            return Err(AssistantError::InvalidReminders);
        }
        for (purpose, language, template) in self.templates.iter() {
            if !template_name_ok(&template.name) {
                return Err(AssistantError::InvalidTemplateName { purpose, language });
            }
            if !language_code_ok(&template.language_code) {
                return Err(AssistantError::InvalidTemplateLanguage { purpose, language });
            }
        }
        Ok(())
    }
}

fn template_name_ok(name: &str) -> bool {
    (1..=MAX_TEMPLATE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `it`, `fil`, `en_US`: two or three lowercase letters, optionally `_` and a region.
fn language_code_ok(code: &str) -> bool {
    let (language, region) = match code.split_once('_') {
        Some((language, region)) => (language, Some(region)),
        None => (code, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    language_ok && region_ok
}
