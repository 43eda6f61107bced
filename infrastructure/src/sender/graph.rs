//! The WhatsApp Cloud API adapter of [`ReplySender`]: one reqwest client for all tenants, each
//! request with the tenant's own token, to `{WHATSAPP_GRAPH_URL}/{phone-number-id}/messages`.

use super::{answer, body};
use crate::config::Settings;
use lyo_application::outbound::{
    kind_of, OutboundMessage, Outcome, Reason, ReplySender, RetryCause, RetryScope, SendError,
    SenderAccount, Sent,
};
use lyo_domain::reply::ReplyLimitError;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Client, Url};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Bodies read from Meta are small; anything larger is cut here rather than buffered.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphConfig {
    /// The Graph API base URL with its version, e.g. `https://graph.facebook.com/v21.0`.
    pub base_url: String,
    /// Whole request, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Establishing the connection (TCP and TLS). Failing here means certainly not sent.
    pub connect_timeout: Duration,
}

impl GraphConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            base_url: settings.whatsapp_graph_url.clone(),
            timeout: settings.graph_timeout,
            connect_timeout: settings.graph_connect_timeout,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GraphSenderError {
    #[error("the Graph API URL `{url}` is not an absolute http(s) URL")]
    Url { url: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

#[derive(Debug, Clone)]
pub struct GraphSender {
    client: Client,
    base: Url,
}

impl GraphSender {
    pub fn new(config: &GraphConfig) -> Result<Self, GraphSenderError> {
        let url_error = || GraphSenderError::Url {
            url: config.base_url.clone(),
        };
        let base = Url::parse(&config.base_url).map_err(|_| url_error())?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(url_error());
        }
        let client = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect of a POST is never expected from Meta; following one could resend.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("lyo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(GraphSenderError::Client)?;
        Ok(Self { client, base })
    }

    fn messages_url(&self, phone_number_id: &str) -> Url {
        let mut url = self.base.clone();
        // `new` refused URLs that cannot be a base, so segments are always available; each
        // segment is percent-encoded, so an id cannot change the path.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(phone_number_id)
                .push("messages");
        }
        url
    }

    /// POSTs `body` for `account` and returns the answer's status, `Retry-After` and body.
    async fn post(&self, account: &SenderAccount, body: &Value) -> Result<Answer, SendError> {
        let token = bearer(account)?;
        let response = self
            .client
            .post(self.messages_url(&account.phone_number_id))
            .header(AUTHORIZATION, token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let after = answer::retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = read_limited(response).await;
        Ok(Answer {
            status,
            after,
            body,
        })
    }
}

struct Answer {
    status: u16,
    after: Option<Duration>,
    /// The body, or how reading it failed.
    body: Result<Vec<u8>, SendError>,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn failure(&self) -> SendError {
        let error = self
            .body
            .as_ref()
            .ok()
            .and_then(|b| answer::MetaError::parse(b));
        let failure = answer::failure(self.status, error.as_ref(), self.after);
        if let Some(error) = &error {
            // Rate limits and Meta's hiccups come in bursts and are retried: debug. What needs
            // a person (a refused message, a blocked tenant) is a warning.
            let (code, subcode, http_status) = (error.code, error.subcode, self.status);
            let fbtrace_id = error.fbtrace_id.as_deref().unwrap_or("");
            let class = failure.class();
            if matches!(failure, SendError::Retry { .. }) {
                tracing::debug!(
                    http_status,
                    code,
                    subcode,
                    fbtrace_id,
                    class,
                    "the Graph API refused a request"
                );
            } else {
                tracing::warn!(
                    http_status,
                    code,
                    subcode,
                    fbtrace_id,
                    class,
                    "the Graph API refused a request"
                );
            }
        }
        failure
    }
}

#[async_trait::async_trait]
impl ReplySender for GraphSender {
    async fn send(
        &self,
        account: &SenderAccount,
        message: &OutboundMessage,
    ) -> Result<Sent, SendError> {
        message.reply.body.validate()?;
        let started = Instant::now();
        // The span puts the reply on the refusal warning logged inside.
        let span = tracing::info_span!(
            "graph_send",
            reply_id = %message.reply_id,
            phone_number_id = %account.phone_number_id,
        );
        let posted = self
            .post(account, &body::message(message))
            .instrument(span)
            .await;
        let result = match posted {
            Ok(answer) if answer.is_success() => match &answer.body {
                Ok(bytes) => answer::wamid(bytes)
                    .map(|wamid| Sent { wamid })
                    .ok_or(unknown(RetryCause::MalformedResponse)),
                // Meta said yes but the body broke off: accepted, most likely.
                Err(error) => Err(error.clone()),
            },
            Ok(answer) => Err(answer.failure()),
            Err(error) => Err(error),
        };
        record("send", &result, started);
        tracing::debug!(
            reply_id = %message.reply_id,
            kind = kind_of(&message.reply),
            result = result.as_ref().map_or_else(SendError::class, |_| "sent"),
            code = result.as_ref().err().and_then(SendError::code),
            "reply sent to the Graph API"
        );
        result
    }

    async fn mark_read(&self, account: &SenderAccount, message_id: &str) -> Result<(), SendError> {
        if message_id.trim().is_empty() {
            return Err(SendError::Invalid(ReplyLimitError {
                field: "message_id".into(),
                problem: "blank".into(),
            }));
        }
        let started = Instant::now();
        let result = match self.post(account, &body::read_receipt(message_id)).await {
            Ok(answer) if answer.is_success() => Ok(()),
            Ok(answer) => Err(answer.failure()),
            Err(error) => Err(error),
        };
        record("mark_read", &result, started);
        result
    }
}

fn record<T>(operation: &'static str, result: &Result<T, SendError>, started: Instant) {
    let result = result.as_ref().map_or_else(SendError::class, |_| "ok");
    metrics::counter!("lyo_graph_requests_total", "operation" => operation, "result" => result)
        .increment(1);
    metrics::histogram!("lyo_graph_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

/// The `Authorization` header, marked sensitive so that no HTTP-level logging prints it. A
/// token that cannot be a header value is as unusable as an expired one (190).
fn bearer(account: &SenderAccount) -> Result<HeaderValue, SendError> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", account.access_token.expose_secret()))
            .map_err(|_| SendError::TenantBlocked {
                code: 190,
                reason: Reason::new("the access token is not a valid HTTP header value"),
            })?;
    value.set_sensitive(true);
    Ok(value)
}

fn unknown(cause: RetryCause) -> SendError {
    SendError::Retry {
        after: None,
        scope: RetryScope::Message,
        outcome: Outcome::Unknown,
        cause,
    }
}

/// A request that got no answer. Failing to connect (DNS, refused, TLS, connect timeout)
/// means the request never left; anything after that (a timeout waiting for the answer, a
/// reset connection) may have reached Meta.
fn transport(error: &reqwest::Error) -> SendError {
    let cause = if error.is_timeout() {
        RetryCause::Timeout
    } else {
        RetryCause::Connection
    };
    if error.is_connect() {
        SendError::Retry {
            after: None,
            scope: RetryScope::Message,
            outcome: Outcome::NotSent,
            cause,
        }
    } else {
        unknown(cause)
    }
}

/// Reads at most [`MAX_ANSWER_BYTES`] of the body.
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, SendError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_ANSWER_BYTES {
                    return Ok(body);
                }
            }
            Ok(None) => return Ok(body),
            Err(error) => return Err(unknown_from(&error)),
        }
    }
}

fn unknown_from(error: &reqwest::Error) -> SendError {
    unknown(if error.is_timeout() {
        RetryCause::Timeout
    } else {
        RetryCause::Connection
    })
}
