//! `GET /api/v1/sandbox/messages?after=SEQ` (platform admin): what the sandbox sender would have
//! sent, oldest first, after the record `after`. Only when the server runs the sandbox sender
//! (`LYO_SENDER=sandbox`, the embedded default); 404 otherwise. `lyo chat` reads it. The
//! replies are personal data, hence the admin token.

use super::auth::Admin;
use super::{ApiError, AppState};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use lyo_domain::reply::Reply;
use lyo_infrastructure::sender::SandboxRecord;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/sandbox/messages", get(messages))
}

#[derive(Debug, Deserialize)]
struct After {
    #[serde(default)]
    after: u64,
}

#[derive(Serialize)]
struct Page {
    messages: Vec<Message>,
}

#[derive(Serialize)]
struct Message {
    seq: u64,
    /// `sent` or `read` (a read receipt for `message_id`).
    kind: &'static str,
    phone_number_id: String,
    /// The customer's phone number, or their business-scoped user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<Reply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wamid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
}

async fn messages(
    _: Admin,
    State(state): State<AppState>,
    Query(query): Query<After>,
) -> Result<Json<Page>, ApiError> {
    let sandbox = state.sandbox.as_ref().ok_or(ApiError::NotFound)?;
    let messages = sandbox
        .records_after(query.after)
        .into_iter()
        .map(|record| match record {
            SandboxRecord::Sent {
                seq,
                phone_number_id,
                reply_id,
                recipient,
                reply,
                wamid,
            } => Message {
                seq,
                kind: "sent",
                phone_number_id,
                to: recipient
                    .wa_id()
                    .or(recipient.user_id())
                    .map(str::to_string),
                reply_id: Some(reply_id),
                reply: Some(reply),
                wamid: Some(wamid),
                message_id: None,
            },
            SandboxRecord::Read {
                seq,
                phone_number_id,
                message_id,
            } => Message {
                seq,
                kind: "read",
                phone_number_id,
                to: None,
                reply_id: None,
                reply: None,
                wamid: None,
                message_id: Some(message_id),
            },
        })
        .collect();
    Ok(Json(Page { messages }))
}
