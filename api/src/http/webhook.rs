//! `GET/POST /webhooks/whatsapp`: Meta's handshake and deliveries. See
//! `docs/whatsapp-webhook.md` for every input and its answer.
//!
//! A POST is acknowledged only once it is durably in the inbox; understanding and replies
//! happen later, off this path. Order: size limit (413) -> signature over the raw bytes (401)
//! -> envelope shape (400) -> inbox (503 if the database fails) -> 200.

use super::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use lyo_application::tenants::TenantDirectory;
use lyo_infrastructure::inbox::WebhookInbox;
use lyo_infrastructure::pii::MasterKey;
use lyo_infrastructure::projection::SqlTenantDirectory;
use lyo_infrastructure::whatsapp::{
    envelope_phone_number_ids, verify_signature, SignatureError, SIGNATURE_HEADER,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Meta batches up to 3 MB in one POST.
pub const MAX_BODY: usize = 3 * 1024 * 1024;
const TENANT_SECRETS_TTL: Duration = Duration::from_secs(5);

pub struct Webhook {
    pub app_secret: Option<SecretString>,
    pub verify_token: Option<SecretString>,
    pub inbox: WebhookInbox,
    pub directory: SqlTenantDirectory,
    pub master: MasterKey,
    tenant_secrets: Mutex<Option<OpenedSecrets>>,
}

/// Tenants' opened app secrets, with the directory generation they were read at and when.
struct OpenedSecrets {
    generation: u64,
    at: Instant,
    secrets: Arc<Vec<SecretString>>,
}

impl Webhook {
    pub fn new(
        app_secret: Option<SecretString>,
        verify_token: Option<SecretString>,
        inbox: WebhookInbox,
        directory: SqlTenantDirectory,
        master: MasterKey,
    ) -> Self {
        Self {
            app_secret,
            verify_token,
            inbox,
            directory,
            master,
            tenant_secrets: Mutex::new(None),
        }
    }

    /// Tenants' own app secrets, opened, cached until this process's directory projector
    /// applies a tenant change, and for a few seconds at most (changes made by other processes).
    async fn tenant_secrets(&self) -> Arc<Vec<SecretString>> {
        let generation = self.directory.generation();
        if let Ok(cached) = self.tenant_secrets.lock() {
            if let Some(opened) = cached.as_ref() {
                if opened.generation == generation && opened.at.elapsed() < TENANT_SECRETS_TTL {
                    return opened.secrets.clone();
                }
            }
        }
        let secrets: Vec<SecretString> = match self.directory.sealed_app_secrets().await {
            Ok(sealed) => sealed
                .iter()
                .filter_map(|(tenant, s)| {
                    self.master
                        .open_secret(s, &format!("tenant:{tenant}:app_secret"))
                        .ok()
                })
                .collect(),
            Err(error) => {
                tracing::warn!(error = %error, "cannot read tenants' app secrets");
                Vec::new()
            }
        };
        let secrets = Arc::new(secrets);
        if let Ok(mut cached) = self.tenant_secrets.lock() {
            *cached = Some(OpenedSecrets {
                generation,
                at: Instant::now(),
                secrets: secrets.clone(),
            });
        }
        secrets
    }

    /// Accepts a body signed with the platform's app secret or any tenant's own one.
    async fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        let mut outcome = Err(SignatureError::Mismatch);
        if let Some(secret) = &self.app_secret {
            outcome = verify_signature(secret.expose_secret().as_bytes(), header, body);
            if !matches!(outcome, Err(SignatureError::Mismatch)) {
                return outcome;
            }
        }
        for secret in self.tenant_secrets().await.iter() {
            outcome = verify_signature(secret.expose_secret().as_bytes(), header, body);
            if !matches!(outcome, Err(SignatureError::Mismatch)) {
                return outcome;
            }
        }
        match (header, outcome) {
            (None, _) => Err(SignatureError::Missing),
            (_, outcome) => outcome,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/webhooks/whatsapp",
        get(handshake)
            .post(receive)
            .layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

async fn handshake(State(state): State<AppState>, Query(query): Query<Handshake>) -> Response {
    let expected = state
        .webhook
        .verify_token
        .as_ref()
        .map(|t| digest(t.expose_secret()));
    let token_ok = matches!((expected, &query.verify_token), (Some(e), Some(t)) if e == digest(t));
    match (query.mode.as_deref(), token_ok, query.challenge) {
        (Some("subscribe"), true, Some(challenge)) => {
            ([(header::CONTENT_TYPE, "text/plain")], challenge).into_response()
        }
        _ => StatusCode::FORBIDDEN.into_response(),
    }
}

fn answer(status: StatusCode, outcome: &'static str, message: &str) -> Response {
    metrics::counter!("lyo_webhook_deliveries_total", "outcome" => outcome).increment(1);
    let body = serde_json::json!({ "error": outcome, "message": message });
    (status, axum::Json(body)).into_response()
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let webhook = &state.webhook;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if let Err(error) = webhook.verify(signature, &body).await {
        return answer(StatusCode::UNAUTHORIZED, "unauthorized", &error.to_string());
    }
    // Only the envelope's shape and its phone number ids here; the worker normalises the rest.
    let phone_number_ids = match envelope_phone_number_ids(&body) {
        Ok(ids) => ids,
        Err(error) => return answer(StatusCode::BAD_REQUEST, "bad_request", &error.to_string()),
    };
    if let Err(error) = webhook.inbox.store(&body).await {
        tracing::warn!(error = %lyo_application::error_chain(&error), "delivery not stored; Meta will retry");
        let mut response = answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the delivery could not be stored; retry",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return response;
    }
    for phone_number_id in &phone_number_ids {
        // Cached lookups; a phone number id identifies a business line, not a person.
        if let Ok(None) = webhook
            .directory
            .tenant_for_phone_number(phone_number_id)
            .await
        {
            metrics::counter!("lyo_webhook_unknown_phone_number_total").increment(1);
            tracing::warn!(
                phone_number_id,
                "delivery for an unknown phone number id (stored, not routed)"
            );
        }
    }
    metrics::counter!("lyo_webhook_deliveries_total", "outcome" => "accepted").increment(1);
    StatusCode::OK.into_response()
}
