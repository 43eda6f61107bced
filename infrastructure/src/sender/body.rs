//! The exact JSON the Cloud API's `POST /{phone-number-id}/messages` takes, built from a
//! validated reply. Pure: no I/O, no clock.

use lyo_application::outbound::{OutboundMessage, Recipient};
use lyo_domain::reply::{Choice, ListSection, ReplyBody};
use serde_json::{json, Map, Value};

/// A message to one customer. The reply id travels as `biz_opaque_callback_data`, which Meta
/// echoes in every status webhook of the message: a send whose outcome was unknown can still
/// be tied to its reply when its `sent` status arrives.
pub(crate) fn message(message: &OutboundMessage) -> Value {
    let mut body = Map::new();
    body.insert("messaging_product".into(), "whatsapp".into());
    body.insert("recipient_type".into(), "individual".into());
    address(&mut body, &message.recipient);
    body.insert(
        "biz_opaque_callback_data".into(),
        message.reply_id.to_string().into(),
    );
    if let Some(context) = &message.reply.context {
        body.insert("context".into(), json!({ "message_id": context }));
    }
    let (kind, content) = content(&message.reply.body);
    body.insert("type".into(), kind.into());
    body.insert(kind.into(), content);
    Value::Object(body)
}

/// The read receipt for an inbound message.
pub(crate) fn read_receipt(message_id: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    })
}

/// `to` takes the phone-based `wa_id`; `recipient` the business-scoped user id. Meta lets `to`
/// win when both are given and recommends phone numbers where known, so a BSUID is sent only
/// when it is all we have (older API versions do not know `recipient`).
fn address(body: &mut Map<String, Value>, recipient: &Recipient) {
    match (recipient.wa_id(), recipient.user_id()) {
        (Some(wa_id), _) => body.insert("to".into(), wa_id.into()),
        (None, Some(user_id)) => body.insert("recipient".into(), user_id.into()),
        (None, None) => None,
    };
}

fn content(reply: &ReplyBody) -> (&'static str, Value) {
    match reply {
        ReplyBody::Text { body } => ("text", json!({ "preview_url": false, "body": body })),
        ReplyBody::Buttons { body, buttons } => (
            "interactive",
            json!({
                "type": "button",
                "body": { "text": body },
                "action": { "buttons": buttons.iter().map(reply_button).collect::<Vec<_>>() },
            }),
        ),
        ReplyBody::List {
            body,
            button,
            sections,
        } => (
            "interactive",
            json!({
                "type": "list",
                "body": { "text": body },
                "action": {
                    "button": button,
                    "sections": sections.iter().map(section).collect::<Vec<_>>(),
                },
            }),
        ),
        ReplyBody::Template {
            name,
            language,
            parameters,
            quick_replies,
        } => (
            "template",
            template(name, language, parameters, quick_replies),
        ),
    }
}

fn reply_button(choice: &Choice) -> Value {
    json!({ "type": "reply", "reply": { "id": choice.id, "title": choice.title } })
}

fn section(section: &ListSection) -> Value {
    let rows: Vec<Value> = section
        .rows
        .iter()
        .map(|row| {
            let mut value = json!({ "id": row.id, "title": row.title });
            if let Some(description) = &row.description {
                value["description"] = description.as_str().into();
            }
            value
        })
        .collect();
    let mut value = json!({ "rows": rows });
    if let Some(title) = &section.title {
        value["title"] = title.as_str().into();
    }
    value
}

/// Positional body parameters (`{{1}}`, `{{2}}`, ...) and one `quick_reply` button component
/// per payload, indexed in button order. Components with nothing to fill are left out.
fn template(name: &str, language: &str, parameters: &[String], quick_replies: &[String]) -> Value {
    let mut components = Vec::new();
    if !parameters.is_empty() {
        let parameters: Vec<Value> = parameters
            .iter()
            .map(|text| json!({ "type": "text", "text": text }))
            .collect();
        components.push(json!({ "type": "body", "parameters": parameters }));
    }
    for (index, payload) in quick_replies.iter().enumerate() {
        components.push(json!({
            "type": "button",
            "sub_type": "quick_reply",
            "index": index.to_string(),
            "parameters": [{ "type": "payload", "payload": payload }],
        }));
    }
    let mut value = json!({ "name": name, "language": { "code": language } });
    if !components.is_empty() {
        value["components"] = Value::Array(components);
    }
    value
}
