//! The Cloud API sender against a fake Graph API that is a real HTTP server (wiremock): the
//! exact body and headers of every message kind, every error class, timeouts and broken
//! connections classified by whether the message may have gone out, and limits that stop a
//! reply before any request. Then the sandbox sender.
#![allow(clippy::unwrap_used)]

use lyo_application::outbound::{
    OutboundMessage, Outcome, Recipient, ReplySender, RetryCause, RetryScope, SendError,
    SenderAccount,
};
use lyo_domain::reply::{Choice, ListRow, ListSection, Reply, ReplyBody, ReplyPurpose};
use lyo_infrastructure::sender::{GraphConfig, GraphSender, SandboxRecord, SandboxSender};
use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;
use wiremock::matchers::{any, body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PHONE_NUMBER_ID: &str = "106540352242922";
const TOKEN: &str = "EAAJB-test-token";
const MESSAGES_PATH: &str = "/v21.0/106540352242922/messages";

fn account() -> SenderAccount {
    SenderAccount {
        phone_number_id: PHONE_NUMBER_ID.into(),
        access_token: TOKEN.into(),
    }
}

fn sender_for(base_url: String, timeout: Duration) -> GraphSender {
    GraphSender::new(&GraphConfig {
        base_url,
        timeout,
        connect_timeout: Duration::from_millis(500),
    })
    .unwrap()
}

fn sender(server: &MockServer) -> GraphSender {
    sender_for(format!("{}/v21.0", server.uri()), Duration::from_secs(5))
}

fn reply_id() -> Uuid {
    Uuid::parse_str("0192f0c1-7e4a-7cc0-9a55-3c1d2e4f5a6b").unwrap()
}

fn message(body: ReplyBody, context: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        reply_id: reply_id(),
        recipient: Recipient::WaId("393331234567".into()),
        reply: Reply {
            purpose: ReplyPurpose::Answer,
            body,
            context: context.map(str::to_string),
        },
    }
}

fn text(body: &str) -> ReplyBody {
    ReplyBody::Text { body: body.into() }
}

fn accepted(wamid: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": "393331234567", "wa_id": "393331234567" }],
        "messages": [{ "id": wamid, "message_status": "accepted" }],
    }))
}

/// The common head of every message body, merged with the kind-specific part.
fn expected(to: (&str, &str), rest: Value) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "biz_opaque_callback_data": reply_id().to_string(),
    });
    body[to.0] = to.1.into();
    for (key, value) in rest.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

/// Mounts a mock that answers only the exact body with the right headers, sends, and checks
/// the wamid came back.
async fn assert_sends(msg: OutboundMessage, body: Value) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(&body))
        .respond_with(accepted("wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgS"))
        .expect(1)
        .mount(&server)
        .await;
    let sent = sender(&server).send(&account(), &msg).await;
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        sent.map(|s| s.wamid).ok().as_deref(),
        Some("wamid.HBgLMzkzMzMxMjM0NTY3FQIAERgS"),
        "sent {}",
        received
            .first()
            .map(|r| String::from_utf8_lossy(&r.body).to_string())
            .unwrap_or_default()
    );
}

#[tokio::test]
async fn text_is_sent_without_link_preview_and_with_reply_context() {
    assert_sends(
        message(text("A che ora?"), Some("wamid.inbound.1")),
        expected(
            ("to", "393331234567"),
            json!({
                "context": { "message_id": "wamid.inbound.1" },
                "type": "text",
                "text": { "preview_url": false, "body": "A che ora?" },
            }),
        ),
    )
    .await;
}

#[tokio::test]
async fn reply_buttons_are_sent_as_interactive_button() {
    let buttons = ReplyBody::Buttons {
        body: "Confermi per sabato alle 20:00?".into(),
        buttons: vec![
            Choice {
                id: "confirm".into(),
                title: "Conferma".into(),
            },
            Choice {
                id: "change".into(),
                title: "Modifica".into(),
            },
        ],
    };
    assert_sends(
        message(buttons, None),
        expected(
            ("to", "393331234567"),
            json!({
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": { "text": "Confermi per sabato alle 20:00?" },
                    "action": { "buttons": [
                        { "type": "reply", "reply": { "id": "confirm", "title": "Conferma" } },
                        { "type": "reply", "reply": { "id": "change", "title": "Modifica" } },
                    ] },
                },
            }),
        ),
    )
    .await;
}

#[tokio::test]
async fn lists_are_sent_with_sections_rows_and_optional_parts() {
    let row = |id: &str, title: &str, description: Option<&str>| ListRow {
        id: id.into(),
        title: title.into(),
        description: description.map(str::to_string),
    };
    let list = ReplyBody::List {
        body: "Scegli un orario".into(),
        button: "Orari".into(),
        sections: vec![
            ListSection {
                title: Some("Sabato".into()),
                rows: vec![
                    row("slot:1930", "19:30", Some("Sala interna")),
                    row("slot:2000", "20:00", None),
                ],
            },
            ListSection {
                title: Some("Domenica".into()),
                rows: vec![row("slot:1300", "13:00", None)],
            },
        ],
    };
    assert_sends(
        message(list, None),
        expected(
            ("to", "393331234567"),
            json!({
                "type": "interactive",
                "interactive": {
                    "type": "list",
                    "body": { "text": "Scegli un orario" },
                    "action": {
                        "button": "Orari",
                        "sections": [
                            { "title": "Sabato", "rows": [
                                { "id": "slot:1930", "title": "19:30", "description": "Sala interna" },
                                { "id": "slot:2000", "title": "20:00" },
                            ] },
                            { "title": "Domenica", "rows": [
                                { "id": "slot:1300", "title": "13:00" },
                            ] },
                        ],
                    },
                },
            }),
        ),
    )
    .await;
}

#[tokio::test]
async fn templates_carry_language_body_parameters_and_quick_reply_payloads() {
    let reminder = ReplyBody::Template {
        name: "booking_reminder".into(),
        language: "it".into(),
        parameters: vec!["Maria".into(), "sabato 20:00".into()],
        quick_replies: vec!["reminder:confirm:42".into(), "reminder:cancel:42".into()],
    };
    assert_sends(
        message(reminder, None),
        expected(
            ("to", "393331234567"),
            json!({
                "type": "template",
                "template": {
                    "name": "booking_reminder",
                    "language": { "code": "it" },
                    "components": [
                        { "type": "body", "parameters": [
                            { "type": "text", "text": "Maria" },
                            { "type": "text", "text": "sabato 20:00" },
                        ] },
                        { "type": "button", "sub_type": "quick_reply", "index": "0",
                          "parameters": [{ "type": "payload", "payload": "reminder:confirm:42" }] },
                        { "type": "button", "sub_type": "quick_reply", "index": "1",
                          "parameters": [{ "type": "payload", "payload": "reminder:cancel:42" }] },
                    ],
                },
            }),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_template_without_parameters_has_no_components() {
    let plain = ReplyBody::Template {
        name: "opt_out_confirmed".into(),
        language: "en_US".into(),
        parameters: vec![],
        quick_replies: vec![],
    };
    assert_sends(
        message(plain, None),
        expected(
            ("to", "393331234567"),
            json!({
                "type": "template",
                "template": { "name": "opt_out_confirmed", "language": { "code": "en_US" } },
            }),
        ),
    )
    .await;
}

#[tokio::test]
async fn a_business_scoped_user_id_is_addressed_as_recipient_and_a_phone_number_wins() {
    let mut to_user = message(text("Ciao"), None);
    to_user.recipient = Recipient::UserId("IT.13491208655302741918".into());
    let content = json!({ "type": "text", "text": { "preview_url": false, "body": "Ciao" } });
    assert_sends(
        to_user,
        expected(("recipient", "IT.13491208655302741918"), content.clone()),
    )
    .await;
    let mut to_both = message(text("Ciao"), None);
    to_both.recipient = Recipient::Both {
        wa_id: "393331234567".into(),
        user_id: "IT.13491208655302741918".into(),
    };
    assert_sends(to_both, expected(("to", "393331234567"), content)).await;
}

#[tokio::test]
async fn mark_read_sends_the_read_status_of_the_inbound_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": "wamid.inbound.7",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "success": true })))
        .expect(1)
        .mount(&server)
        .await;
    sender(&server)
        .mark_read(&account(), "wamid.inbound.7")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_read_receipt_is_classified_like_a_send() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(graph_error(190.into())))
        .mount(&server)
        .await;
    let error = sender(&server)
        .mark_read(&account(), "wamid.inbound.7")
        .await
        .unwrap_err();
    assert_eq!(shape(&error), ("tenant_blocked", Some(190), None, None));
}

/// Class, code, scope and outcome: what the dispatcher acts on.
type Shape = (
    &'static str,
    Option<i64>,
    Option<RetryScope>,
    Option<Outcome>,
);

fn shape(error: &SendError) -> Shape {
    match error {
        SendError::Retry { scope, outcome, .. } => {
            (error.class(), error.code(), Some(*scope), Some(*outcome))
        }
        _ => (error.class(), error.code(), None, None),
    }
}

fn graph_error(code: Value) -> Value {
    json!({ "error": {
        "message": "(#0) Some error",
        "type": "OAuthException",
        "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": "Some details" },
        "fbtrace_id": "AbCdEf123",
    } })
}

#[tokio::test]
async fn every_error_code_is_classified_by_code_not_by_http_status() {
    use Outcome::NotSent;
    use RetryScope::{Message, Recipient as Pair, Tenant};
    let retry = |code, scope| ("retry", Some(code), Some(scope), Some(NotSent));
    let permanent = |code| ("permanent", Some(code), None, None);
    let blocked = |code| ("tenant_blocked", Some(code), None, None);
    let cases: Vec<(u16, i64, Shape)> = vec![
        (429, 130429, retry(130429, Tenant)),
        (400, 131056, retry(131056, Pair)),
        (500, 131000, retry(131000, Message)),
        (500, 1, retry(1, Message)),
        (503, 2, retry(2, Message)),
        (503, 131016, retry(131016, Message)),
        (503, 133004, retry(133004, Message)),
        (400, 4, retry(4, Tenant)),
        (400, 80007, retry(80007, Tenant)),
        (400, 131057, retry(131057, Tenant)),
        // The status says "bad request", the code says "come back later": the code wins.
        (400, 131000, retry(131000, Message)),
        (400, 100, permanent(100)),
        (400, 131008, permanent(131008)),
        (400, 131009, permanent(131009)),
        (400, 131021, permanent(131021)),
        (400, 131026, permanent(131026)),
        (400, 131051, permanent(131051)),
        (400, 132000, permanent(132000)),
        (400, 132001, permanent(132001)),
        (400, 132012, permanent(132012)),
        // And the other way round: a 500 with a permanent code is permanent.
        (500, 132001, permanent(132001)),
        (400, 131047, ("outside_window", Some(131047), None, None)),
        (401, 190, blocked(190)),
        (400, 368, blocked(368)),
        (400, 131031, blocked(131031)),
        (400, 131042, blocked(131042)),
        (403, 10, blocked(10)),
        // Codes not in the table: a refusal of the request on a 4xx, transient on a 5xx.
        (400, 987654, permanent(987654)),
        (500, 987654, retry(987654, Message)),
        (429, 987654, retry(987654, Message)),
    ];
    let server = MockServer::start().await;
    let sender = sender(&server);
    for (status, code, want) in cases {
        server.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(graph_error(code.into())))
            .mount(&server)
            .await;
        let error = sender
            .send(&account(), &message(text("Ciao"), None))
            .await
            .unwrap_err();
        assert_eq!(shape(&error), want, "HTTP {status} code {code}");
    }
}

#[tokio::test]
async fn a_code_sent_as_a_string_is_read_as_a_number() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error("131056".into())))
        .mount(&server)
        .await;
    let error = sender(&server)
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert_eq!(
        shape(&error),
        (
            "retry",
            Some(131056),
            Some(RetryScope::Recipient),
            Some(Outcome::NotSent)
        )
    );
}

#[tokio::test]
async fn a_permanent_error_keeps_meta_s_message_details_and_subcode_as_its_reason() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({ "error": {
            "message": "(#132001) Template name does not exist in the translation",
            "type": "OAuthException",
            "code": 132001,
            "error_subcode": 2494073,
            "error_data": { "messaging_product": "whatsapp", "details": "template name (booking_reminder) does not exist in it" },
            "fbtrace_id": "A1b2C3",
        } })))
        .mount(&server)
        .await;
    let error = sender(&server)
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    let SendError::Permanent { code, reason } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*code, 132001);
    assert_eq!(
        reason.as_str(),
        "(#132001) Template name does not exist in the translation — template name \
         (booking_reminder) does not exist in it (subcode 2494073)"
    );
    assert_eq!(error.to_string(), "rejected by Meta (code 132001)");
}

#[tokio::test]
async fn answers_without_a_graph_error_are_classified_by_status_and_retry_after_is_kept() {
    let cases: Vec<(ResponseTemplate, Shape, Option<Duration>)> = vec![
        (
            ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
            (
                "retry",
                None,
                Some(RetryScope::Message),
                Some(Outcome::Unknown),
            ),
            None,
        ),
        (
            ResponseTemplate::new(503).insert_header("retry-after", "7"),
            (
                "retry",
                None,
                Some(RetryScope::Message),
                Some(Outcome::NotSent),
            ),
            Some(Duration::from_secs(7)),
        ),
        (
            ResponseTemplate::new(404).set_body_string("Not Found"),
            (
                "retry",
                None,
                Some(RetryScope::Tenant),
                Some(Outcome::NotSent),
            ),
            None,
        ),
        (
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_json(graph_error(130429.into())),
            (
                "retry",
                Some(130429),
                Some(RetryScope::Tenant),
                Some(Outcome::NotSent),
            ),
            Some(Duration::from_secs(30)),
        ),
    ];
    let server = MockServer::start().await;
    let sender = sender(&server);
    for (response, want, want_after) in cases {
        server.reset().await;
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        let error = sender
            .send(&account(), &message(text("Ciao"), None))
            .await
            .unwrap_err();
        assert_eq!(shape(&error), want);
        let SendError::Retry { after, .. } = error else {
            unreachable!()
        };
        assert_eq!(after, want_after);
    }
}

#[tokio::test]
async fn a_success_without_a_message_id_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "messages": [] })))
        .mount(&server)
        .await;
    let error = sender(&server)
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        SendError::Retry {
            outcome: Outcome::Unknown,
            cause: RetryCause::MalformedResponse,
            ..
        }
    ));
}

#[tokio::test]
async fn a_timeout_after_the_request_was_sent_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(accepted("wamid.late").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let sender = sender_for(
        format!("{}/v21.0", server.uri()),
        Duration::from_millis(200),
    );
    let error = sender
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Retry {
            after: None,
            scope: RetryScope::Message,
            outcome: Outcome::Unknown,
            cause: RetryCause::Timeout,
        }
    );
    assert!(error.outcome_unknown());
    // The request did reach the server: this is the duplicate window.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_has_an_unknown_outcome() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 64 * 1024];
        // Read the request, then hang up without a word.
        let n = socket.read(&mut buffer).await.unwrap();
        drop(socket);
        n
    });
    let sender = sender_for(format!("http://{address}/v21.0"), Duration::from_secs(5));
    let error = sender
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert!(server.await.unwrap() > 0, "the request was written");
    assert_eq!(
        error,
        SendError::Retry {
            after: None,
            scope: RetryScope::Message,
            outcome: Outcome::Unknown,
            cause: RetryCause::Connection,
        }
    );
}

#[tokio::test]
async fn a_refused_connection_was_certainly_not_sent() {
    // Bind to learn a free port, then close it: nothing listens there.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sender = sender_for(format!("http://{address}/v21.0"), Duration::from_secs(5));
    let error = sender
        .send(&account(), &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Retry {
            after: None,
            scope: RetryScope::Message,
            outcome: Outcome::NotSent,
            cause: RetryCause::Connection,
        }
    );
    assert!(!error.outcome_unknown());
}

fn too_big() -> Vec<ReplyBody> {
    let choice = |i: usize| Choice {
        id: format!("c{i}"),
        title: "ok".into(),
    };
    vec![
        text(&"x".repeat(4097)),
        text(""),
        ReplyBody::Buttons {
            body: "x".into(),
            buttons: (0..4).map(choice).collect(),
        },
        ReplyBody::Buttons {
            body: "é".repeat(1025),
            buttons: vec![choice(0)],
        },
        ReplyBody::List {
            body: "x".into(),
            button: "Orari".into(),
            sections: vec![ListSection {
                title: None,
                rows: (0..11)
                    .map(|i| ListRow {
                        id: format!("r{i}"),
                        title: "20:00".into(),
                        description: None,
                    })
                    .collect(),
            }],
        },
    ]
}

#[tokio::test]
async fn replies_that_break_a_limit_never_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(accepted("wamid.never"))
        .expect(0)
        .mount(&server)
        .await;
    let graph = sender(&server);
    let sandbox = SandboxSender::default();
    for body in too_big() {
        let msg = message(body, None);
        let error = graph.send(&account(), &msg).await.unwrap_err();
        assert_eq!(error.class(), "invalid", "{error}");
        assert_eq!(sandbox.send(&account(), &msg).await.unwrap_err(), error);
    }
    let blank = graph.mark_read(&account(), " ").await.unwrap_err();
    assert_eq!(blank.class(), "invalid");
    let bad_token = SenderAccount {
        phone_number_id: PHONE_NUMBER_ID.into(),
        access_token: "token\nwith a newline".into(),
    };
    let error = graph
        .send(&bad_token, &message(text("Ciao"), None))
        .await
        .unwrap_err();
    assert_eq!(error.class(), "tenant_blocked");
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(sandbox.records().is_empty());
}

#[tokio::test]
async fn the_sandbox_records_what_would_be_sent_and_keeps_only_the_latest() {
    let sandbox = SandboxSender::new(2);
    let mut live = sandbox.subscribe();
    let mut wamids = Vec::new();
    for body in ["uno", "due", "tre"] {
        let sent = sandbox
            .send(&account(), &message(text(body), None))
            .await
            .unwrap();
        assert!(sent.wamid.starts_with("wamid.sandbox."));
        wamids.push(sent.wamid);
    }
    sandbox
        .mark_read(&account(), "wamid.inbound.9")
        .await
        .unwrap();
    let kept = sandbox.records();
    assert_eq!(
        kept.iter().map(SandboxRecord::seq).collect::<Vec<_>>(),
        [3, 4]
    );
    let SandboxRecord::Sent { reply, wamid, .. } = &kept[0] else {
        panic!("{kept:?}")
    };
    assert_eq!(reply.body, text("tre"));
    assert_eq!(wamid, &wamids[2]);
    assert!(
        matches!(&kept[1], SandboxRecord::Read { message_id, .. } if message_id == "wamid.inbound.9")
    );
    assert_eq!(sandbox.records_after(3).len(), 1);
    let first = live.recv().await.unwrap();
    assert_eq!(first.seq(), 1);
    assert!(!format!("{first:?}").contains("uno"));
    wamids.dedup();
    assert_eq!(wamids.len(), 3);
}
