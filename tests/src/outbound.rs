//! A tenant with a fake Graph API, the projectors and the dispatcher running, and customers who
//! write to it through real `Conversation` commands: the set-up of the outbound suites.

use crate::graph::FakeGraph;
use crate::{add_tenant, system_metadata, Backend, TestDb};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::CqrsFramework;
use lyo_api::platform::Platform;
use lyo_domain::conversation::{
    Answering, Conversation, ConversationCommand, Customer, InboundMessage, StatusReport,
};
use lyo_domain::dialogue::DialogueContext;
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_domain::understanding::Language;
use lyo_infrastructure::event_store::EventRepository;
use lyo_infrastructure::outbound::store::{self, ReplyView};
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const ADMIN: &str = "outbound-admin-token";
pub const TOKEN: &str = "EAAG-outbound-token";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const TEMPLATE: &str = "riprendi_conversazione";

pub type Conversations =
    CqrsFramework<Conversation, PersistedEventStore<EventRepository, Conversation>>;

pub struct Shop {
    pub platform: Platform,
    pub tenant: TenantId,
    pub conversations: Conversations,
    pub workers: CancellationToken,
    pub db: TestDb,
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.workers.cancel();
    }
}

/// The environment a cloud-sending platform needs against `graph`, fast back-off, no pacing.
pub fn cloud_env(graph: &FakeGraph) -> Vec<(String, String)> {
    [
        ("LYO_ADMIN_TOKEN", ADMIN.to_string()),
        ("LYO_SENDER", "cloud".into()),
        ("WHATSAPP_GRAPH_URL", graph.url()),
        ("LYO_GRAPH_TIMEOUT_MS", "400".into()),
        ("LYO_GRAPH_CONNECT_TIMEOUT_MS", "200".into()),
        ("LYO_OUTBOUND_BACKOFF_BASE_MS", "20".into()),
        ("LYO_OUTBOUND_BACKOFF_MAX_MS", "200".into()),
        ("LYO_OUTBOUND_RECIPIENT_GAP_MS", "0".into()),
        ("LYO_OUTBOUND_PER_NUMBER_PER_SECOND", "5000".into()),
        ("LYO_OUTBOUND_CLAIM_SECS", "5".into()),
        ("LYO_PROJECTOR_IDLE_WAIT_MS", "20".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub async fn open_platform(db: &TestDb, env: &[(String, String)]) -> Platform {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    crate::platform(db, &pairs).await
}

/// Runs every projector and the dispatcher of `platform` until `cancel`.
pub fn start_workers(platform: &Platform, cancel: &CancellationToken, dispatcher: bool) {
    for projector in &platform.projectors {
        tokio::spawn(platform.runner(projector.clone()).run(cancel.child_token()));
    }
    if dispatcher {
        tokio::spawn(platform.dispatcher().run(cancel.child_token()));
    }
}

/// A tenant with a token, one number and an Italian template for answers.
pub async fn create_tenant(platform: &Platform) -> TenantId {
    let body = json!({
        "name": "Trattoria da Gino",
        "time_zone": "Europe/Rome",
        "languages": ["it", "en"],
        "whatsapp": {"phone_number_ids": [PHONE_NUMBER_ID], "access_token": TOKEN},
        "assistant": {"templates": {"answer": {"it": {"name": TEMPLATE, "language_code": "it"}}}},
    });
    add_tenant(platform, ADMIN, &body).await["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a tenant id")
}

pub async fn shop(backend: Backend, env: &[(String, String)], dispatcher: bool) -> Shop {
    let db = TestDb::migrated(backend).await;
    let platform = open_platform(&db, env).await;
    let tenant = create_tenant(&platform).await;
    let workers = CancellationToken::new();
    start_workers(&platform, &workers, dispatcher);
    Shop {
        conversations: conversations(&platform),
        platform,
        tenant,
        workers,
        db,
    }
}

pub fn conversations(platform: &Platform) -> Conversations {
    CqrsFramework::new(
        PersistedEventStore::new_event_store(platform.repository.clone()),
        vec![],
        (),
    )
}

pub fn context() -> DialogueContext {
    DialogueContext {
        tenant_name: "Trattoria da Gino".into(),
        languages: vec![Language::It],
        time_zone: "Europe/Rome".into(),
        address: None,
        booking: None,
        auto_confirm: true,
    }
}

pub fn now_s() -> i64 {
    lyo_infrastructure::outbound::now_ms() / 1000
}

impl Shop {
    /// The customer `subject` (phone `phone`) writes `text`, sent at `sent_at` (Unix seconds);
    /// the assistant answers through the dialogue.
    pub async fn customer_writes(&self, subject: SubjectId, phone: &str, text: &str, sent_at: i64) {
        write(
            &self.conversations,
            self.tenant,
            subject,
            phone,
            text,
            sent_at,
        )
        .await
    }

    /// Meta reports `status` of our message `wamid`.
    pub async fn status(&self, subject: SubjectId, wamid: &str, status: &str, codes: Vec<i64>) {
        let report = StatusReport {
            message_id: wamid.into(),
            status: status.into(),
            at: now_s(),
            error_codes: codes,
        };
        self.conversations
            .execute_with_metadata(
                &subject.to_string(),
                ConversationCommand::RecordStatus(report),
                system_metadata(self.tenant).to_map(),
            )
            .await
            .expect("record a status");
    }

    pub async fn replies(&self) -> Vec<ReplyView> {
        replies(&self.platform, self.tenant).await
    }

    /// Waits until at least `count` replies are queued and none is pending any more.
    pub async fn settled(&self, count: usize, limit: Duration) -> Vec<ReplyView> {
        Self::settled_for(&self.platform, self.tenant, count, limit).await
    }

    /// [`Self::settled`] for any platform on the database.
    pub async fn settled_for(
        platform: &Platform,
        tenant: TenantId,
        count: usize,
        limit: Duration,
    ) -> Vec<ReplyView> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let replies = replies(platform, tenant).await;
            if replies.len() >= count && replies.iter().all(|r| r.state != "pending") {
                return replies;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "replies did not settle: {replies:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub async fn replies(platform: &Platform, tenant: TenantId) -> Vec<ReplyView> {
    store::tenant_replies(&platform.db, &tenant.to_string())
        .await
        .expect("read the queue")
}

pub async fn write(
    conversations: &Conversations,
    tenant: TenantId,
    subject: SubjectId,
    phone: &str,
    text: &str,
    sent_at: i64,
) {
    let message = InboundMessage {
        message_id: format!("wamid.in.{}", uuid::Uuid::new_v4().simple()),
        sent_at,
        kind: "text".into(),
        text: Some(Personal::new(subject, text.to_string())),
        content: Personal::new(subject, json!({"body": text})),
        customer: Customer {
            name: None,
            wa_id: Some(Personal::new(subject, phone.to_string())),
            user_id: None,
        },
        reply_to: None,
        answering: Answering::Answer,
    };
    conversations
        .execute_with_metadata(
            &subject.to_string(),
            ConversationCommand::ReceiveMessage {
                message: Box::new(message),
                context: Some(Box::new(context())),
            },
            system_metadata(tenant).to_map(),
        )
        .await
        .expect("receive a message");
}
