//! One inbound message (`value.messages[]`): who sent it, when, what it replies to, the ad that
//! led to it, its content and its own errors.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::contact::{CustomerKey, GraphError, IdentityLink};
use super::content::Content;
use super::json;

/// Keys of a message modelled by [`InboundMessage`]; the rest go to `extra`.
const KNOWN: &[&str] = &[
    "id",
    "from",
    "from_user_id",
    "from_parent_user_id",
    "timestamp",
    "type",
    "context",
    "referral",
    "errors",
];

/// A message a WhatsApp user sent to the business. Personal data.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The message id (`wamid....`): the key for de-duplicating Meta's repeats. Empty only if
    /// Meta sent none.
    pub id: String,
    /// `from`: the sender's `wa_id` (phone based); absent for some username users.
    pub from: Option<String>,
    /// `from_user_id`: the sender's business-scoped user id.
    pub from_user_id: Option<String>,
    /// `from_parent_user_id`: the parent business-scoped user id, for linked portfolios.
    pub from_parent_user_id: Option<String>,
    /// When the user sent it, in Unix seconds (Meta sends a decimal string). 0 when missing or
    /// unreadable, which makes the message look old: recorded, not answered automatically.
    pub timestamp: i64,
    /// The `type` as Meta sent it (`interactive` for all interactive replies).
    pub kind: String,
    pub context: Option<Context>,
    pub referral: Option<Referral>,
    pub content: Content,
    /// The message's own `errors[]` (e.g. on `unsupported` messages).
    pub errors: Vec<GraphError>,
    /// Keys not modelled above, and the type's payload for types not modelled, kept as sent.
    pub extra: Map<String, Value>,
}

impl InboundMessage {
    pub(crate) fn parse(value: &Value) -> Self {
        let content = Content::parse(value);
        let kind = json::string_or_empty(value, "type");
        let mut known: Vec<&str> = KNOWN.to_vec();
        // The payload of a modelled type lives in `content`; an unknown one stays in `extra`.
        if !matches!(content, Content::Unknown { .. }) {
            known.push(&kind);
        }
        Self {
            id: json::string_or_empty(value, "id"),
            from: json::string(value, "from"),
            from_user_id: json::string(value, "from_user_id"),
            from_parent_user_id: json::string(value, "from_parent_user_id"),
            timestamp: json::integer(value, "timestamp").unwrap_or(0),
            context: json::object(value, "context").map(Context::parse),
            referral: json::object(value, "referral").map(Referral::parse),
            errors: GraphError::parse_all(value),
            extra: json::extra(value, &known),
            content,
            kind,
        }
    }

    /// The key of the customer subject (issue 3's identity rule): the business-scoped user id
    /// when present, else the `wa_id` in `from`.
    pub fn customer_key(&self) -> Option<CustomerKey<'_>> {
        CustomerKey::choose(self.from_user_id.as_deref(), self.from.as_deref())
    }

    /// Both ids of the sender, when both appear, so the subject keyed on the user id can be
    /// linked to the one known by phone.
    pub fn identity_link(&self) -> Option<IdentityLink<'_>> {
        IdentityLink::of(self.from_user_id.as_deref(), self.from.as_deref())
    }
}

impl std::fmt::Debug for InboundMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundMessage")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("content", &self.content)
            .field("context", &self.context)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

/// `context`: the message this one replies to, or that it was forwarded.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The `wa_id` (or business number) of the quoted message's sender.
    pub from: Option<String>,
    /// The quoted message's id.
    pub id: Option<String>,
    pub forwarded: bool,
    pub frequently_forwarded: bool,
    /// The product the user asked about from a catalog message.
    pub referred_product: Option<ReferredProduct>,
}

impl Context {
    fn parse(value: &Value) -> Self {
        Self {
            from: json::string(value, "from"),
            id: json::string(value, "id"),
            forwarded: json::boolean(value, "forwarded").unwrap_or(false),
            frequently_forwarded: json::boolean(value, "frequently_forwarded").unwrap_or(false),
            referred_product: json::object(value, "referred_product").map(|p| ReferredProduct {
                catalog_id: json::string(p, "catalog_id"),
                product_retailer_id: json::string(p, "product_retailer_id"),
            }),
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("forwarded", &self.forwarded)
            .field("frequently_forwarded", &self.frequently_forwarded)
            .field("referred_product", &self.referred_product)
            .finish_non_exhaustive()
    }
}

/// `context.referred_product`. Not personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferredProduct {
    pub catalog_id: Option<String>,
    pub product_retailer_id: Option<String>,
}

/// `referral`: the click-to-WhatsApp ad or post the user came from.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub source_url: Option<String>,
    pub source_id: Option<String>,
    /// `ad` or `post`.
    pub source_type: Option<String>,
    pub headline: Option<String>,
    pub body: Option<String>,
    /// `image` or `video`.
    pub media_type: Option<String>,
    pub image_url: Option<String>,
    pub video_url: Option<String>,
    pub thumbnail_url: Option<String>,
    /// Click id for conversion reporting.
    pub ctwa_clid: Option<String>,
    /// `welcome_message.text`, the ad's greeting.
    pub welcome_message: Option<String>,
}

impl Referral {
    fn parse(value: &Value) -> Self {
        let s = |key| json::string(value, key);
        Self {
            source_url: s("source_url"),
            source_id: s("source_id"),
            source_type: s("source_type"),
            headline: s("headline"),
            body: s("body"),
            media_type: s("media_type"),
            image_url: s("image_url"),
            video_url: s("video_url"),
            thumbnail_url: s("thumbnail_url"),
            ctwa_clid: s("ctwa_clid"),
            welcome_message: json::object(value, "welcome_message")
                .and_then(|w| json::string(w, "text")),
        }
    }
}

impl std::fmt::Debug for Referral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Referral")
            .field("source_type", &self.source_type)
            .field("source_id", &self.source_id)
            .finish_non_exhaustive()
    }
}
