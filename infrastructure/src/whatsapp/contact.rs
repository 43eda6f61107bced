//! Who a change is about and what went wrong: `contacts[]` (profile name, phone-based `wa_id`,
//! business-scoped `user_id`), the identity rule that keys a customer, and Graph API errors.
//!
//! Identity rule (issue 3): from 2026 a customer may arrive with a business-scoped user id
//! (BSUID) and no phone number. The customer is keyed on the BSUID when present, else on the
//! `wa_id`; when both appear they are linked.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::json;

/// One element of `value.contacts[]`: the WhatsApp user a change concerns. Personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// `profile.name`: the user's display name.
    pub name: Option<String>,
    /// `profile.username`, when the user has adopted a username.
    pub username: Option<String>,
    /// `wa_id`: the phone-based WhatsApp id; absent for some username users.
    pub wa_id: Option<String>,
    /// `user_id`: the business-scoped user id (BSUID).
    pub user_id: Option<String>,
    /// `parent_user_id`: the parent BSUID, for linked business portfolios.
    pub parent_user_id: Option<String>,
    /// Keys not modelled above (e.g. `identity_key_hash`).
    pub extra: Map<String, Value>,
}

impl Contact {
    pub(crate) fn parse(value: &Value) -> Self {
        let profile = json::object(value, "profile").unwrap_or(&Value::Null);
        Self {
            name: json::string(profile, "name"),
            username: json::string(profile, "username"),
            wa_id: json::string(value, "wa_id"),
            user_id: json::string(value, "user_id"),
            parent_user_id: json::string(value, "parent_user_id"),
            extra: json::extra(value, &["profile", "wa_id", "user_id", "parent_user_id"]),
        }
    }

    /// The key this contact's customer subject is stored under (see [`CustomerKey`]).
    pub fn customer_key(&self) -> Option<CustomerKey<'_>> {
        CustomerKey::choose(self.user_id.as_deref(), self.wa_id.as_deref())
    }

    /// Both ids, when both are present, so the two can be linked.
    pub fn identity_link(&self) -> Option<IdentityLink<'_>> {
        IdentityLink::of(self.user_id.as_deref(), self.wa_id.as_deref())
    }
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contact")
            .field("has_wa_id", &self.wa_id.is_some())
            .field("has_user_id", &self.user_id.is_some())
            .finish_non_exhaustive()
    }
}

/// The key a customer subject is stored under: the business-scoped user id when Meta sent one,
/// else the phone-based `wa_id`. The variant says which, so the two namespaces never mix.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerKey<'a> {
    UserId(&'a str),
    WaId(&'a str),
}

impl<'a> CustomerKey<'a> {
    pub(crate) fn choose(user_id: Option<&'a str>, wa_id: Option<&'a str>) -> Option<Self> {
        let present = |s: &&str| !s.is_empty();
        user_id
            .filter(present)
            .map(Self::UserId)
            .or_else(|| wa_id.filter(present).map(Self::WaId))
    }

    /// The id itself.
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::UserId(id) | Self::WaId(id) => id,
        }
    }
}

impl std::fmt::Debug for CustomerKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UserId(_) => f.write_str("CustomerKey::UserId(..)"),
            Self::WaId(_) => f.write_str("CustomerKey::WaId(..)"),
        }
    }
}

/// A business-scoped user id and a `wa_id` seen together: the same customer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityLink<'a> {
    pub user_id: &'a str,
    pub wa_id: &'a str,
}

impl<'a> IdentityLink<'a> {
    pub(crate) fn of(user_id: Option<&'a str>, wa_id: Option<&'a str>) -> Option<Self> {
        match (user_id, wa_id) {
            (Some(user_id), Some(wa_id)) if !user_id.is_empty() && !wa_id.is_empty() => {
                Some(Self { user_id, wa_id })
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for IdentityLink<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityLink { .. }")
    }
}

/// A Graph API error object, as found in `value.errors[]`, `messages[].errors[]` and
/// `statuses[].errors[]`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
    pub href: Option<String>,
}

impl GraphError {
    pub(crate) fn parse(value: &Value) -> Self {
        let data = json::object(value, "error_data").unwrap_or(&Value::Null);
        Self {
            code: json::integer(value, "code"),
            title: json::string(value, "title"),
            message: json::string(value, "message"),
            details: json::string(data, "details"),
            href: json::string(value, "href"),
        }
    }

    pub(crate) fn parse_all(parent: &Value) -> Vec<Self> {
        json::array(parent, "errors")
            .iter()
            .map(Self::parse)
            .collect()
    }
}

/// Code and title only: Meta's messages and details may quote what the user sent.
impl std::fmt::Debug for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphError")
            .field("code", &self.code)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}
