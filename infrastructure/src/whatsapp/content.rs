//! What an inbound message says: one variant per message `type` Meta documents, and
//! [`Content::Unknown`] with the raw message for anything else (a new type, or a known type
//! whose payload object is missing), so nothing is dropped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::content_parts::{Location, Media, Order, SharedContact, System};
use super::json;

/// The content of an inbound message, by `type`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    Text {
        body: String,
    },
    Image(Media),
    Audio(Media),
    Video(Media),
    Document(Media),
    Sticker(Media),
    Location(Location),
    /// Shared contact cards.
    Contacts(Vec<SharedContact>),
    /// `interactive.button_reply`: a reply button tapped.
    ButtonReply {
        id: String,
        title: Option<String>,
    },
    /// `interactive.list_reply`: a list row chosen.
    ListReply {
        id: String,
        title: Option<String>,
        description: Option<String>,
    },
    /// `interactive.nfm_reply`: a WhatsApp Flow completed; `response_json` is the flow's answer,
    /// a JSON document encoded as a string, kept as sent.
    FlowReply {
        name: Option<String>,
        body: Option<String>,
        response_json: Option<String>,
    },
    /// `button`: a template quick-reply button tapped.
    Button {
        payload: Option<String>,
        text: Option<String>,
    },
    /// A reaction to `message_id`; `emoji` is `None` when the reaction was removed.
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    Order(Order),
    System(System),
    /// The user deleted `original_message_id`.
    Revoke {
        original_message_id: String,
    },
    /// The user edited `original_message_id`; `content` is the new content when Meta sent it.
    Edit {
        original_message_id: String,
        content: Option<Box<Content>>,
    },
    /// A type Cloud API does not deliver (its errors are on the message); `kind` is
    /// `unsupported.type` when given.
    Unsupported {
        kind: Option<String>,
    },
    /// Anything else: `kind` is the message `type` (`interactive/<subtype>` for an unknown
    /// interactive reply), `raw` the whole message object.
    Unknown {
        kind: String,
        raw: Value,
    },
}

impl Content {
    /// Reads the content of `message` (a `messages[]` element, or the `message` of an `edit`).
    pub(crate) fn parse(message: &Value) -> Self {
        let kind = json::string_or_empty(message, "type");
        Self::parse_known(&kind, message).unwrap_or_else(|| Self::Unknown {
            kind: kind.clone(),
            raw: message.clone(),
        })
    }

    fn parse_known(kind: &str, message: &Value) -> Option<Self> {
        let payload = || json::object(message, kind);
        let media = || payload().map(Media::parse);
        Some(match kind {
            "text" => Self::Text {
                body: json::string(payload()?, "body")?,
            },
            "image" => Self::Image(media()?),
            "audio" => Self::Audio(media()?),
            "video" => Self::Video(media()?),
            "document" => Self::Document(media()?),
            "sticker" => Self::Sticker(media()?),
            "location" => Self::Location(Location::parse(payload()?)),
            "contacts" => Self::Contacts(
                json::array(message, "contacts")
                    .iter()
                    .map(SharedContact::parse)
                    .collect(),
            ),
            "interactive" => return Self::parse_interactive(message, payload()?),
            "button" => {
                let button = payload()?;
                Self::Button {
                    payload: json::string(button, "payload"),
                    text: json::string(button, "text"),
                }
            }
            "reaction" => {
                let reaction = payload()?;
                Self::Reaction {
                    message_id: json::string_or_empty(reaction, "message_id"),
                    emoji: json::string(reaction, "emoji").filter(|e| !e.is_empty()),
                }
            }
            "order" => Self::Order(Order::parse(payload()?)),
            "system" => Self::System(System::parse(payload()?)),
            "revoke" => Self::Revoke {
                original_message_id: json::string(payload()?, "original_message_id")?,
            },
            "edit" => {
                let edit = payload()?;
                Self::Edit {
                    original_message_id: json::string(edit, "original_message_id")?,
                    content: json::object(edit, "message").map(|m| Box::new(Self::parse(m))),
                }
            }
            "unsupported" => Self::Unsupported {
                kind: payload().and_then(|u| json::string(u, "type")),
            },
            _ => return None,
        })
    }

    fn parse_interactive(message: &Value, interactive: &Value) -> Option<Self> {
        let kind = json::string_or_empty(interactive, "type");
        let reply = json::object(interactive, &kind);
        Some(match (kind.as_str(), reply) {
            ("button_reply", Some(reply)) => Self::ButtonReply {
                id: json::string_or_empty(reply, "id"),
                title: json::string(reply, "title"),
            },
            ("list_reply", Some(reply)) => Self::ListReply {
                id: json::string_or_empty(reply, "id"),
                title: json::string(reply, "title"),
                description: json::string(reply, "description"),
            },
            ("nfm_reply", Some(reply)) => Self::FlowReply {
                name: json::string(reply, "name"),
                body: json::string(reply, "body"),
                response_json: json::string(reply, "response_json"),
            },
            _ => Self::Unknown {
                kind: format!("interactive/{kind}"),
                raw: message.clone(),
            },
        })
    }

    /// The message `type` this content came from (`nfm_reply`, `button_reply` and `list_reply`
    /// for the interactive replies), for metrics and logs: never personal data.
    pub fn kind(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Image(_) => "image",
            Self::Audio(_) => "audio",
            Self::Video(_) => "video",
            Self::Document(_) => "document",
            Self::Sticker(_) => "sticker",
            Self::Location(_) => "location",
            Self::Contacts(_) => "contacts",
            Self::ButtonReply { .. } => "button_reply",
            Self::ListReply { .. } => "list_reply",
            Self::FlowReply { .. } => "nfm_reply",
            Self::Button { .. } => "button",
            Self::Reaction { .. } => "reaction",
            Self::Order(_) => "order",
            Self::System(_) => "system",
            Self::Revoke { .. } => "revoke",
            Self::Edit { .. } => "edit",
            Self::Unsupported { .. } => "unsupported",
            Self::Unknown { kind, .. } => kind,
        }
    }
}

/// Only the kind and non-personal structure: texts, captions and replies are personal data.
impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Image(m)
            | Self::Audio(m)
            | Self::Video(m)
            | Self::Document(m)
            | Self::Sticker(m) => {
                write!(f, "Content::{}({m:?})", self.kind())
            }
            Self::Order(o) => write!(f, "Content::order({o:?})"),
            Self::System(s) => write!(f, "Content::system({s:?})"),
            Self::Edit { content, .. } => write!(f, "Content::edit({content:?})"),
            Self::Unsupported { kind } => write!(f, "Content::unsupported({kind:?})"),
            _ => write!(f, "Content::{}(..)", self.kind()),
        }
    }
}
