//! The outbound queue end to end: replies decided by real `Conversation` commands reach a fake
//! Graph API (a real HTTP server) through the projector and the dispatcher; every error class
//! ends as documented in `docs/outbound.md`.
#![allow(clippy::unwrap_used)]

use lyo_domain::ids::SubjectId;
use lyo_tests::graph::{Answer, FakeGraph};
use lyo_tests::outbound::{cloud_env, now_s, shop, ADMIN, TEMPLATE, TOKEN};
use lyo_tests::{call_api, on_both_backends, Backend};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const PHONE: &str = "393471234567";

on_both_backends!(
    a_reply_reaches_the_graph_api_with_its_body,
    a_transient_error_is_retried_until_accepted,
    a_permanent_error_fails_the_reply_and_keeps_the_reason_sealed,
    outside_the_window_the_template_is_sent_instead,
    an_outside_window_answer_falls_back_to_the_template,
    a_late_outside_window_status_falls_back_to_the_template,
    a_blocked_tenant_keeps_its_queue_and_resumes_with_a_new_token,
    delivery_statuses_only_move_forward,
    an_erased_customer_is_dead_lettered,
    replies_to_one_customer_go_out_in_order,
);

async fn a_reply_reaches_the_graph_api_with_its_body(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    let replies = shop.settled(1, WAIT).await;
    assert!(replies.iter().all(|r| r.state == "accepted"), "{replies:?}");
    let received = graph.received();
    assert_eq!(received.len(), replies.len(), "each reply sent once");
    for (reply, request) in replies.iter().zip(&received) {
        assert_eq!(request.reply_id, reply.reply_id, "sent in order");
        assert_eq!(reply.wamid, request.wamid);
        assert_eq!(reply.attempts, 1);
        assert_eq!(request.authorization, format!("Bearer {TOKEN}"));
        let body = &request.body;
        assert_eq!(body["messaging_product"], "whatsapp");
        assert_eq!(body["recipient_type"], "individual");
        assert_eq!(body["to"], PHONE);
        assert_eq!(body["biz_opaque_callback_data"], reply.reply_id.as_str());
        assert!(
            matches!(body["type"].as_str(), Some("text" | "interactive")),
            "{body}"
        );
    }
    let (status, _, health) = call_api(
        &shop.platform,
        "GET",
        &format!("/api/v1/tenants/{}/health", shop.tenant),
        Some(ADMIN),
        None,
    )
    .await;
    assert!(status.is_success());
    assert_eq!(health["sending"], "ok");
    assert_eq!(health["accepted"], json!(replies.len()));
}

async fn a_transient_error_is_retried_until_accepted(backend: Backend) {
    // The first answer is Meta's "temporarily unavailable", then a gateway 502 (outcome
    // unknown), then success.
    let graph = FakeGraph::start(|_, n| match n {
        0 => Answer::Meta {
            status: 503,
            code: 131_016,
        },
        1 => Answer::Status(502),
        _ => Answer::Accept,
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let replies = shop.settled(1, WAIT).await;
    for reply in &replies {
        assert_eq!(reply.state, "accepted", "{reply:?}");
        assert_eq!(reply.attempts, 3);
        assert_eq!(reply.unknown_outcomes, 1, "the 502 may have been delivered");
    }
}

async fn a_permanent_error_fails_the_reply_and_keeps_the_reason_sealed(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Meta {
        status: 400,
        code: 131_026,
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let replies = shop.settled(1, WAIT).await;
    for reply in &replies {
        assert_eq!(reply.state, "failed");
        assert_eq!(reply.last_code, Some(131_026));
        assert_eq!(reply.attempts, 1, "never retried");
    }
    // On Postgres an event is readable once no older transaction is open anywhere.
    let failed = loop {
        let log = lyo_tests::read_log(shop.platform.log.as_ref(), 1).await;
        let failed: Vec<_> = log
            .into_iter()
            .filter(|e| e.event_type == "ReplyFailed")
            .collect();
        if failed.len() >= replies.len() {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(failed.len(), replies.len());
    for event in failed {
        let text = event.payload.to_string();
        assert!(
            !text.contains("scripted failure"),
            "the reason is sealed: {text}"
        );
        assert!(text.contains("$sealed"));
    }
}

async fn outside_the_window_the_template_is_sent_instead(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    // The customer's message is two days old by Meta's timestamp.
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s() - 2 * 86_400)
        .await;
    let replies = shop.settled(1, WAIT).await;
    for reply in &replies {
        assert_eq!(reply.state, "accepted");
        assert_eq!(reply.template, 1);
    }
    for request in graph.received() {
        assert_eq!(request.body["type"], "template", "{}", request.body);
        assert_eq!(request.body["template"]["name"], TEMPLATE);
        assert_eq!(request.body["template"]["language"]["code"], "it");
        assert_eq!(
            request.body["template"]["components"][0]["parameters"][0]["text"],
            "Trattoria da Gino"
        );
    }
}

async fn an_outside_window_answer_falls_back_to_the_template(backend: Backend) {
    let graph = FakeGraph::start(|_, n| match n {
        0 => Answer::Meta {
            status: 400,
            code: 131_047,
        },
        _ => Answer::Accept,
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let replies = shop.settled(1, WAIT).await;
    for reply in &replies {
        assert_eq!(reply.state, "accepted");
        assert_eq!(reply.template, 1);
        assert_eq!(reply.attempts, 2, "the template is the second attempt");
        let requests = &graph.by_reply()[&reply.reply_id];
        assert_eq!(requests.len(), 2);
        assert_ne!(requests[0].body["type"], "template");
        assert_eq!(requests[1].body["type"], "template");
    }
}

async fn a_late_outside_window_status_falls_back_to_the_template(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    let replies = shop.settled(1, WAIT).await;
    let first = replies[0].clone();
    assert_eq!(first.template, 0);
    // Meta accepted the message, then reports it failed: outside the window.
    shop.status(
        customer,
        first.wamid.as_deref().unwrap(),
        "failed",
        vec![131_047],
    )
    .await;
    lyo_tests::eventually(WAIT, "the template replaces the failed message", || async {
        let replies = shop.replies().await;
        let r = replies
            .iter()
            .find(|r| r.reply_id == first.reply_id)
            .unwrap();
        r.state == "accepted" && r.template == 1
    })
    .await;
    let requests = &graph.by_reply()[&first.reply_id];
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body["type"], "template");
}

async fn a_blocked_tenant_keeps_its_queue_and_resumes_with_a_new_token(backend: Backend) {
    // The old token is refused with 190 (token invalid); a new one is accepted.
    let blocking = FakeGraph::start_with(|_, _, authorization| {
        if authorization == format!("Bearer {TOKEN}") {
            Answer::Meta {
                status: 401,
                code: 190,
            }
        } else {
            Answer::Accept
        }
    })
    .await;
    let shop = shop(backend, &cloud_env(&blocking), true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let path = format!("/api/v1/tenants/{}/health", shop.tenant);
    lyo_tests::eventually(WAIT, "the tenant is blocked", || async {
        let (_, _, health) = call_api(&shop.platform, "GET", &path, Some(ADMIN), None).await;
        health["sending"] == "blocked"
    })
    .await;
    let (_, _, health) = call_api(&shop.platform, "GET", &path, Some(ADMIN), None).await;
    assert_eq!(health["hold"]["code"], 190);
    assert!(
        health["pending"].as_i64().unwrap() >= 1,
        "the queue is kept: {health}"
    );
    let tries = blocking.received().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(blocking.received().len(), tries, "no sends while blocked");
    // The tenant saves a new token: sending resumes.
    let (status, _, _) = call_api(
        &shop.platform,
        "PATCH",
        &format!("/api/v1/tenants/{}", shop.tenant),
        Some(ADMIN),
        Some(json!({"whatsapp": {"access_token": "EAAG-new-token"}}).to_string()),
    )
    .await;
    assert!(status.is_success());
    let replies = shop.settled(1, WAIT).await;
    assert!(replies.iter().all(|r| r.state == "accepted"), "{replies:?}");
    let (_, _, health) = call_api(&shop.platform, "GET", &path, Some(ADMIN), None).await;
    assert_eq!(health["sending"], "ok");
}

async fn delivery_statuses_only_move_forward(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    let reply = shop.settled(1, WAIT).await[0].clone();
    let wamid = reply.wamid.clone().unwrap();
    for status in ["read", "sent", "delivered"] {
        shop.status(customer, &wamid, status, vec![]).await;
    }
    lyo_tests::eventually(WAIT, "read is kept", || async {
        let replies = shop.replies().await;
        let r = replies
            .iter()
            .find(|r| r.reply_id == reply.reply_id)
            .unwrap();
        r.status.as_deref() == Some("read")
    })
    .await;
    // A status of a message whose accept is not recorded yet is kept until it is.
    let unknown = "wamid.not-yet-recorded";
    shop.status(customer, unknown, "delivered", vec![]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replies = shop.replies().await;
    let r = replies
        .iter()
        .find(|r| r.reply_id == reply.reply_id)
        .unwrap();
    assert_eq!(r.status.as_deref(), Some("read"));
}

async fn an_erased_customer_is_dead_lettered(backend: Backend) {
    let graph = FakeGraph::start(|_, _| Answer::Accept).await;
    // No dispatcher yet: the customer is erased while the reply waits.
    let shop = shop(backend, &cloud_env(&graph), false).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    lyo_tests::eventually(WAIT, "the reply is queued", || async {
        !shop.replies().await.is_empty()
    })
    .await;
    shop.platform
        .repository
        .vault()
        .erase_subject(&shop.tenant.to_string(), &customer.to_string())
        .await
        .unwrap();
    tokio::spawn(shop.platform.dispatcher().run(shop.workers.child_token()));
    let replies = shop.settled(1, WAIT).await;
    for reply in replies {
        assert_eq!(reply.state, "dead_lettered");
        assert_eq!(reply.dead_reason.as_deref(), Some("erased"));
    }
    assert!(graph.received().is_empty(), "nothing was sent");
}

async fn replies_to_one_customer_go_out_in_order(backend: Backend) {
    let graph = FakeGraph::start(|_, n| {
        if n == 0 {
            Answer::Status(500)
        } else {
            Answer::Accept
        }
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    shop.customer_writes(customer, PHONE, "vorrei prenotare", now_s())
        .await;
    let replies = shop.settled(2, WAIT).await;
    assert!(replies.iter().all(|r| r.state == "accepted"));
    // Each reply's accepted send comes after the previous reply's accepted send.
    let accepted: Vec<String> = graph
        .received()
        .into_iter()
        .filter(|r| r.answer == Answer::Accept)
        .map(|r| r.reply_id)
        .collect();
    let queued: Vec<String> = replies.iter().map(|r| r.reply_id.clone()).collect();
    assert_eq!(accepted, queued);
}

on_both_backends!(
    a_rebuild_reproduces_the_queue_and_a_replay_adds_nothing,
    the_sandbox_records_what_would_have_been_sent,
);

async fn a_rebuild_reproduces_the_queue_and_a_replay_adds_nothing(backend: Backend) {
    let graph = FakeGraph::start(|_, n| {
        if n == 0 {
            Answer::Status(500)
        } else {
            Answer::Accept
        }
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    let customer = SubjectId::new();
    shop.customer_writes(customer, PHONE, "ciao", now_s()).await;
    let before = shop.settled(1, WAIT).await;
    shop.status(
        customer,
        before[0].wamid.as_deref().unwrap(),
        "delivered",
        vec![],
    )
    .await;
    lyo_tests::eventually(WAIT, "the status is projected", || async {
        shop.replies().await[0].status.as_deref() == Some("delivered")
    })
    .await;
    let before = shop.replies().await;
    shop.workers.cancel();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let projector = shop.platform.projector("outbound_queue").unwrap();
    projector.reset().await.unwrap();
    assert!(shop.replies().await.is_empty());
    let runner = shop.platform.runner(projector.clone());
    lyo_tests::eventually(WAIT, "the rebuild catches up", || async {
        runner.catch_up().await.unwrap();
        shop.replies().await == before
    })
    .await;
    // Replaying events already applied adds nothing: the first half is applied twice.
    let log = lyo_tests::read_log(shop.platform.log.as_ref(), 1).await;
    let half = log.len() / 2;
    let (middle, last) = (log[half].at, log.last().unwrap().at);
    projector.reset().await.unwrap();
    let start = lyo_application::event_log::Position::START;
    projector.apply(start, middle, &log[..=half]).await.unwrap();
    projector.apply(middle, last, &log).await.unwrap();
    assert_eq!(shop.replies().await, before);
}

async fn the_sandbox_records_what_would_have_been_sent(backend: Backend) {
    let env: Vec<(String, String)> = vec![
        ("LYO_ADMIN_TOKEN".into(), ADMIN.into()),
        ("LYO_SENDER".into(), "sandbox".into()),
    ];
    let shop = shop(backend, &env, true).await;
    let sandbox = shop.platform.sandbox.clone().expect("the sandbox sender");
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let replies = shop.settled(1, WAIT).await;
    assert!(replies.iter().all(|r| r.state == "accepted"));
    let records = sandbox.records();
    assert_eq!(records.len(), replies.len());
    assert!(matches!(
        &records[0],
        lyo_infrastructure::sender::SandboxRecord::Sent { recipient, .. }
            if recipient.wa_id() == Some(PHONE)
    ));
}

on_both_backends!(
    recipient_and_tenant_limits_are_retried,
    the_circuit_breaker_holds_a_failing_tenant_then_probes,
);

async fn recipient_and_tenant_limits_are_retried(backend: Backend) {
    let graph = FakeGraph::start(|_, n| match n {
        0 => Answer::Meta {
            status: 400,
            code: 131_056,
        },
        1 => Answer::Meta {
            status: 400,
            code: 130_429,
        },
        _ => Answer::Accept,
    })
    .await;
    let shop = shop(backend, &cloud_env(&graph), true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    for reply in shop.settled(1, WAIT).await {
        assert_eq!(reply.state, "accepted");
        assert_eq!(reply.attempts, 3);
        assert_eq!(
            reply.unknown_outcomes, 0,
            "Meta answered: certainly not sent"
        );
    }
}

async fn the_circuit_breaker_holds_a_failing_tenant_then_probes(backend: Backend) {
    let graph = FakeGraph::start(|_, n| {
        if n < 2 {
            Answer::Status(500)
        } else {
            Answer::Accept
        }
    })
    .await;
    let mut env = cloud_env(&graph);
    env.extend(
        [
            ("LYO_OUTBOUND_BREAKER_FAILURES", "2"),
            ("LYO_OUTBOUND_BREAKER_COOLDOWN_SECS", "2"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let shop = shop(backend, &env, true).await;
    shop.customer_writes(SubjectId::new(), PHONE, "ciao", now_s())
        .await;
    let path = format!("/api/v1/tenants/{}/health", shop.tenant);
    lyo_tests::eventually(WAIT, "the breaker opens", || async {
        let (_, _, health) = call_api(&shop.platform, "GET", &path, Some(ADMIN), None).await;
        health["hold"]["reason"] == "circuit_open"
    })
    .await;
    for reply in shop.settled(1, WAIT).await {
        assert_eq!(reply.state, "accepted");
    }
    let (_, _, health) = call_api(&shop.platform, "GET", &path, Some(ADMIN), None).await;
    assert_eq!(health["sending"], "ok", "{health}");
}
