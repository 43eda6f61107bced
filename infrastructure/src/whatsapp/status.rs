//! One status update (`value.statuses[]`) about a message the business sent: sent, delivered,
//! read or failed (with Graph errors), with the optional `conversation` and `pricing` objects.
//! A status value Meta adds later is kept as [`Status::Other`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::contact::{CustomerKey, GraphError};
use super::json;

/// Keys of a status modelled by [`StatusUpdate`]; the rest go to `extra`.
const KNOWN: &[&str] = &[
    "id",
    "status",
    "timestamp",
    "recipient_id",
    "recipient_user_id",
    "recipient_parent_user_id",
    "conversation",
    "pricing",
    "errors",
];

/// The state of an outbound message. Repeats of the same `(id, status)` are the same fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    Delivered,
    Read,
    Failed,
    /// Any other value (e.g. `deleted`, `warning`), as sent.
    Other(String),
}

impl Status {
    fn parse(value: Option<String>) -> Self {
        match value.as_deref() {
            Some("sent") => Self::Sent,
            Some("delivered") => Self::Delivered,
            Some("read") => Self::Read,
            Some("failed") => Self::Failed,
            _ => Self::Other(value.unwrap_or_default()),
        }
    }

    /// The value as Meta spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Other(other) => other,
        }
    }
}

/// A status update. The recipient ids are personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The id (`wamid....`) of our outbound message.
    pub id: String,
    pub status: Status,
    /// When the status changed, in Unix seconds; 0 when missing or unreadable.
    pub timestamp: i64,
    /// `recipient_id`: the recipient's `wa_id` (or a group id).
    pub recipient_id: Option<String>,
    /// `recipient_user_id`: the recipient's business-scoped user id.
    pub recipient_user_id: Option<String>,
    pub recipient_parent_user_id: Option<String>,
    pub conversation: Option<Conversation>,
    pub pricing: Option<Pricing>,
    /// Why a `failed` message failed.
    pub errors: Vec<GraphError>,
    /// Keys not modelled above (e.g. `biz_opaque_callback_data`, `recipient_type`).
    pub extra: Map<String, Value>,
}

impl StatusUpdate {
    pub(crate) fn parse(value: &Value) -> Self {
        Self {
            id: json::string_or_empty(value, "id"),
            status: Status::parse(json::string(value, "status")),
            timestamp: json::integer(value, "timestamp").unwrap_or(0),
            recipient_id: json::string(value, "recipient_id"),
            recipient_user_id: json::string(value, "recipient_user_id"),
            recipient_parent_user_id: json::string(value, "recipient_parent_user_id"),
            conversation: json::object(value, "conversation").map(Conversation::parse),
            pricing: json::object(value, "pricing").map(Pricing::parse),
            errors: GraphError::parse_all(value),
            extra: json::extra(value, KNOWN),
        }
    }

    /// The recipient's customer key, by the same rule as for inbound messages.
    pub fn customer_key(&self) -> Option<CustomerKey<'_>> {
        CustomerKey::choose(
            self.recipient_user_id.as_deref(),
            self.recipient_id.as_deref(),
        )
    }
}

impl std::fmt::Debug for StatusUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusUpdate")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("timestamp", &self.timestamp)
            .field("conversation", &self.conversation)
            .field("pricing", &self.pricing)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// `conversation`: the billing conversation a message opened or belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: Option<String>,
    /// `origin.type`: `service`, `utility`, `marketing`, `authentication`, ...
    pub origin_type: Option<String>,
    /// Unix seconds; only on the status that opened the conversation.
    pub expiration_timestamp: Option<i64>,
}

impl Conversation {
    fn parse(value: &Value) -> Self {
        Self {
            id: json::string(value, "id"),
            origin_type: json::object(value, "origin").and_then(|o| json::string(o, "type")),
            expiration_timestamp: json::integer(value, "expiration_timestamp"),
        }
    }
}

/// `pricing`: how Meta bills the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub billable: Option<bool>,
    /// `CBP`, `PMP`, ...
    pub pricing_model: Option<String>,
    pub category: Option<String>,
    /// `type`: `regular`, `free_customer_service`, `free_entry_point`, ...
    pub pricing_type: Option<String>,
}

impl Pricing {
    fn parse(value: &Value) -> Self {
        Self {
            billable: json::boolean(value, "billable"),
            pricing_model: json::string(value, "pricing_model"),
            category: json::string(value, "category"),
            pricing_type: json::string(value, "type"),
        }
    }
}
