//! The structured payloads some inbound message types carry: media, a location, shared contact
//! cards, an order, a system notice. Each is read leniently from Meta's object for that type.
//! `Debug` prints no personal data (captions, names, numbers, addresses).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json;

/// `image`, `audio`, `video`, `document` or `sticker`: a media object to fetch by `id`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Media id, to download through the Graph API.
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// Image, video and document captions.
    pub caption: Option<String>,
    /// Documents: the file name.
    pub filename: Option<String>,
    /// Stickers: whether animated.
    pub animated: Option<bool>,
    /// Audio: whether a voice note.
    pub voice: Option<bool>,
    /// A download URL, when Meta includes one.
    pub url: Option<String>,
}

impl Media {
    pub(crate) fn parse(value: &Value) -> Self {
        Self {
            id: json::string_or_empty(value, "id"),
            mime_type: json::string(value, "mime_type"),
            sha256: json::string(value, "sha256"),
            caption: json::string(value, "caption"),
            filename: json::string(value, "filename"),
            animated: json::boolean(value, "animated"),
            voice: json::boolean(value, "voice"),
            url: json::string(value, "url"),
        }
    }
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("id", &self.id)
            .field("mime_type", &self.mime_type)
            .finish_non_exhaustive()
    }
}

/// `location`: a shared pin.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

impl Location {
    pub(crate) fn parse(value: &Value) -> Self {
        Self {
            latitude: json::float(value, "latitude"),
            longitude: json::float(value, "longitude"),
            name: json::string(value, "name"),
            address: json::string(value, "address"),
            url: json::string(value, "url"),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Location { .. }")
    }
}

/// One card of a `contacts` message: the formatted name and phones, plus the whole card as Meta
/// sent it (addresses, emails, org, urls, birthday).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedContact {
    /// `name.formatted_name`.
    pub formatted_name: Option<String>,
    pub phones: Vec<SharedPhone>,
    pub raw: Value,
}

impl SharedContact {
    pub(crate) fn parse(value: &Value) -> Self {
        let name = json::object(value, "name").unwrap_or(&Value::Null);
        Self {
            formatted_name: json::string(name, "formatted_name"),
            phones: json::array(value, "phones")
                .iter()
                .map(SharedPhone::parse)
                .collect(),
            raw: value.clone(),
        }
    }
}

impl std::fmt::Debug for SharedContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedContact")
            .field("phones", &self.phones.len())
            .finish_non_exhaustive()
    }
}

/// A phone of a shared contact card.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedPhone {
    pub phone: Option<String>,
    pub wa_id: Option<String>,
    /// `type`: `HOME`, `WORK`, ...
    pub kind: Option<String>,
}

impl SharedPhone {
    fn parse(value: &Value) -> Self {
        Self {
            phone: json::string(value, "phone"),
            wa_id: json::string(value, "wa_id"),
            kind: json::string(value, "type"),
        }
    }
}

impl std::fmt::Debug for SharedPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPhone")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// `order`: a cart sent from a catalog.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub catalog_id: Option<String>,
    /// The text the user sent with the order.
    pub text: Option<String>,
    pub product_items: Vec<ProductItem>,
}

impl Order {
    pub(crate) fn parse(value: &Value) -> Self {
        Self {
            catalog_id: json::string(value, "catalog_id"),
            text: json::string(value, "text"),
            product_items: json::array(value, "product_items")
                .iter()
                .map(ProductItem::parse)
                .collect(),
        }
    }
}

impl std::fmt::Debug for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Order")
            .field("catalog_id", &self.catalog_id)
            .field("product_items", &self.product_items)
            .finish_non_exhaustive()
    }
}

/// A line of an order. Not personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductItem {
    pub product_retailer_id: Option<String>,
    pub quantity: Option<i64>,
    /// The unit price as Meta sends it (a decimal number in `currency`).
    pub item_price: Option<f64>,
    pub currency: Option<String>,
}

impl ProductItem {
    fn parse(value: &Value) -> Self {
        Self {
            product_retailer_id: json::string(value, "product_retailer_id"),
            quantity: json::integer(value, "quantity"),
            item_price: json::float(value, "item_price"),
            currency: json::string(value, "currency"),
        }
    }
}

/// `system`: a notice about the user, e.g. `user_changed_number` (new `wa_id`, new and previous
/// business-scoped ids) or `user_changed_user_id` (new and previous business-scoped ids only).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// `type`: `user_changed_number`, `user_changed_user_id`, `customer_identity_changed`, ...
    pub kind: Option<String>,
    pub body: Option<String>,
    /// The user's new `wa_id`.
    pub wa_id: Option<String>,
    /// `new_wa_id`, the older spelling of `wa_id`.
    pub new_wa_id: Option<String>,
    /// The user's new business-scoped user id.
    pub user_id: Option<String>,
    pub parent_user_id: Option<String>,
    pub previous_user_id: Option<String>,
    pub previous_parent_user_id: Option<String>,
    /// `identity` (for `customer_identity_changed`).
    pub identity: Option<String>,
    pub customer: Option<String>,
}

impl System {
    pub(crate) fn parse(value: &Value) -> Self {
        let s = |key| json::string(value, key);
        Self {
            kind: s("type"),
            body: s("body"),
            wa_id: s("wa_id"),
            new_wa_id: s("new_wa_id"),
            user_id: s("user_id"),
            parent_user_id: s("parent_user_id"),
            previous_user_id: s("previous_user_id"),
            previous_parent_user_id: s("previous_parent_user_id"),
            identity: s("identity"),
            customer: s("customer"),
        }
    }
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
