//! A fake WhatsApp Cloud API for outbound tests: a real HTTP server (wiremock) whose answer to
//! each send is scripted per reply id (`biz_opaque_callback_data`, which the sender puts in
//! every request), and which remembers every request and what it answered.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the fake answers to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 200 with a new `wamid`.
    Accept,
    /// A Graph API error with this HTTP status and Meta code.
    Meta { status: u16, code: i64 },
    /// This HTTP status and no Graph error (a proxy or gateway).
    Status(u16),
    /// A success that arrives after this many milliseconds (past the client's timeout).
    Slow(u64),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub reply_id: String,
    pub body: Value,
    pub authorization: String,
    pub answer: Answer,
    pub wamid: Option<String>,
}

/// (reply id, earlier requests for it, `Authorization` header) -> answer.
type Script = dyn Fn(&str, usize, &str) -> Answer + Send + Sync;

#[derive(Clone)]
pub struct FakeGraph {
    pub server: Arc<MockServer>,
    received: Arc<Mutex<Vec<Received>>>,
}

struct Responder {
    script: Arc<Script>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let reply_id = body["biz_opaque_callback_data"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let authorization = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        let nth = received.iter().filter(|r| r.reply_id == reply_id).count();
        let answer = (self.script)(&reply_id, nth, &authorization);
        let wamid = matches!(answer, Answer::Accept | Answer::Slow(_))
            .then(|| format!("wamid.{}.{nth}", uuid::Uuid::new_v4().simple()));
        received.push(Received {
            reply_id,
            body,
            authorization,
            answer,
            wamid: wamid.clone(),
        });
        let success = || {
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "x", "wa_id": "x"}],
                "messages": [{"id": wamid.clone().unwrap_or_default()}]
            }))
        };
        match answer {
            Answer::Accept => success(),
            Answer::Slow(ms) => success().set_delay(Duration::from_millis(ms)),
            Answer::Meta { status, code } => ResponseTemplate::new(status).set_body_json(json!({
                "error": {"message": format!("(#{code}) scripted failure"), "type": "OAuthException",
                          "code": code, "fbtrace_id": "AbCdEf"}
            })),
            Answer::Status(status) => ResponseTemplate::new(status),
        }
    }
}

impl FakeGraph {
    /// A fake answering every send with `script(reply_id, n)`, `n` counting earlier requests
    /// for the same reply from 0.
    pub async fn start(script: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> Self {
        Self::start_with(move |reply, n, _| script(reply, n)).await
    }

    /// A fake that also sees the `Authorization` header of each request.
    pub async fn start_with(
        script: impl Fn(&str, usize, &str) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let server = MockServer::start().await;
        let received = Arc::new(Mutex::new(Vec::new()));
        Mock::given(method("POST"))
            .and(path_regex(r"^/v21\.0/[^/]+/messages$"))
            .respond_with(Responder {
                script: Arc::new(script),
                received: received.clone(),
            })
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            received,
        }
    }

    /// `WHATSAPP_GRAPH_URL` for this fake.
    pub fn url(&self) -> String {
        format!("{}/v21.0", self.server.uri())
    }

    pub fn received(&self) -> Vec<Received> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests per reply id.
    pub fn by_reply(&self) -> HashMap<String, Vec<Received>> {
        let mut map: HashMap<String, Vec<Received>> = HashMap::new();
        for r in self.received() {
            map.entry(r.reply_id.clone()).or_default().push(r);
        }
        map
    }
}
