//! The delivery envelope: `{"object": ..., "entry": [{"id", "changes": [{"field", "value"}]}]}`,
//! flattened into one [`Change`] per `entry[] x changes[]`.
//!
//! Only the envelope itself is strict (a JSON object with a string `object` and an array
//! `entry`); a malformed entry or change inside it is kept as well as it can be, never an error.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::contact::{Contact, GraphError};
use super::json;
use super::message::InboundMessage;
use super::status::StatusUpdate;

/// The `field` whose changes carry inbound messages and statuses.
const MESSAGES_FIELD: &str = "messages";

/// Keys of a `messages` value modelled by [`Change`]; the rest go to `extra`.
const KNOWN_VALUE_KEYS: &[&str] = &[
    "messaging_product",
    "metadata",
    "contacts",
    "messages",
    "statuses",
    "errors",
];

/// Why a body is refused before anything in it is looked at: a 400 for the handler. The
/// messages say what is wrong with the shape and never quote the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a WhatsApp webhook envelope: {0}")]
    NotAnEnvelope(String),
}

/// One verified POST from Meta, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `object`: `whatsapp_business_account` for the Cloud API.
    pub object: String,
    /// Every change of every entry, in the order sent.
    pub changes: Vec<Change>,
}

impl Delivery {
    /// The distinct `metadata.phone_number_id`s of the changes, in order of appearance: what the
    /// handler routes to tenants by.
    pub fn phone_number_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in self
            .changes
            .iter()
            .filter_map(|c| c.phone_number_id.as_deref())
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// All inbound messages, with the change each came in.
    pub fn messages(&self) -> impl Iterator<Item = (&Change, &InboundMessage)> {
        self.changes
            .iter()
            .flat_map(|c| c.messages.iter().map(move |m| (c, m)))
    }

    /// All status updates, with the change each came in.
    pub fn statuses(&self) -> impl Iterator<Item = (&Change, &StatusUpdate)> {
        self.changes
            .iter()
            .flat_map(|c| c.statuses.iter().map(move |s| (c, s)))
    }
}

/// One `entry[].changes[]` element.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `entry[].id`: the WhatsApp Business Account id.
    pub business_account_id: String,
    /// `field`: `messages`, or another subscribed field (`account_update`, ...); empty if absent.
    pub field: String,
    /// `value.metadata.phone_number_id`: the business number the change is for.
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub contacts: Vec<Contact>,
    /// Inbound messages; only read from `messages` changes.
    pub messages: Vec<InboundMessage>,
    /// Statuses of outbound messages; only read from `messages` changes.
    pub statuses: Vec<StatusUpdate>,
    /// `value.errors[]`: problems Meta reports about the webhook itself.
    pub errors: Vec<GraphError>,
    /// For fields other than `messages`, the whole `value` as sent (or the whole change, if it
    /// was not an object).
    pub value: Option<Value>,
    /// For `messages` changes, keys of `value` not modelled above.
    pub extra: Map<String, Value>,
}

impl Change {
    fn parse(business_account_id: &str, change: &Value) -> Self {
        let field = json::string_or_empty(change, "field");
        let value = change.get("value").unwrap_or(&Value::Null);
        let metadata = json::object(value, "metadata").unwrap_or(&Value::Null);
        let is_messages = field == MESSAGES_FIELD;
        let each = |key| json::array(value, key).iter().filter(move |_| is_messages);
        Self {
            business_account_id: business_account_id.to_owned(),
            phone_number_id: json::string(metadata, "phone_number_id"),
            display_phone_number: json::string(metadata, "display_phone_number"),
            contacts: json::array(value, "contacts")
                .iter()
                .map(Contact::parse)
                .collect(),
            messages: each("messages").map(InboundMessage::parse).collect(),
            statuses: each("statuses").map(StatusUpdate::parse).collect(),
            errors: GraphError::parse_all(value),
            value: match (is_messages, change.is_object()) {
                (true, _) => None,
                (false, true) => Some(value.clone()),
                (false, false) => Some(change.clone()),
            },
            extra: if is_messages {
                json::extra(value, KNOWN_VALUE_KEYS)
            } else {
                Map::new()
            },
            field,
        }
    }

    /// The contact card of `message`'s sender in this change, matched on the business-scoped
    /// user id or the `wa_id` (system messages come without contacts).
    pub fn contact_of(&self, message: &InboundMessage) -> Option<&Contact> {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        self.contacts
            .iter()
            .find(|c| same(&c.user_id, &message.from_user_id))
            .or_else(|| self.contacts.iter().find(|c| same(&c.wa_id, &message.from)))
    }
}

/// The raw `value` of other fields may hold personal data: only its presence is shown.
impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("business_account_id", &self.business_account_id)
            .field("field", &self.field)
            .field("phone_number_id", &self.phone_number_id)
            .field("display_phone_number", &self.display_phone_number)
            .field("contacts", &self.contacts)
            .field("messages", &self.messages)
            .field("statuses", &self.statuses)
            .field("errors", &self.errors)
            .field("has_value", &self.value.is_some())
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Parses a (verified) delivery body. See the module documentation for what is an error.
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, EnvelopeError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        EnvelopeError::NotJson(match e.classify() {
            // Syntax errors name the problem and position, never the content.
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => e.to_string(),
            _ => format!("unreadable at line {} column {}", e.line(), e.column()),
        })
    })?;
    let not_envelope = |why: &str| EnvelopeError::NotAnEnvelope(why.to_owned());
    let envelope = root
        .as_object()
        .ok_or_else(|| not_envelope("expected a JSON object"))?;
    let object = match envelope.get("object") {
        Some(Value::String(object)) => object.clone(),
        Some(_) => return Err(not_envelope("\"object\" is not a string")),
        None => return Err(not_envelope("\"object\" is missing")),
    };
    let entries = match envelope.get("entry") {
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(not_envelope("\"entry\" is not an array")),
        None => return Err(not_envelope("\"entry\" is missing")),
    };
    let changes = entries
        .iter()
        .flat_map(|entry| {
            let id = json::string_or_empty(entry, "id");
            json::array(entry, "changes")
                .iter()
                .map(move |change| Change::parse(&id, change))
        })
        .collect();
    Ok(Delivery { object, changes })
}
