//! The inbox worker: turns stored webhook deliveries into `Conversation` commands.
//!
//! It claims pending inbox rows for a while (Postgres: `FOR UPDATE SKIP LOCKED`, so several
//! processes share the work; a crashed worker's claim expires), opens and parses each body,
//! routes every message and status to its tenant (by phone number id) and customer subject,
//! executes idempotent commands (a repeated message or status changes nothing; concurrent
//! copies conflict and the retry sees the first), then purges the body. A row is marked
//! processed only after its commands are committed, so a crash repeats work but loses none.
//!
//! Messages that arrive too late or over a rate limit are still recorded, marked as not to be
//! answered automatically.

use crate::db::Db;
use crate::event_store::EventRepository;
use crate::identity::SqlSubjectDirectory;
use crate::inbox::INBOX_AAD;
use crate::pii::MasterKey;
use crate::projection::SqlTenantDirectory;
use crate::whatsapp::{
    parse_delivery, Change, Content, InboundMessage as WireMessage, StatusUpdate,
};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, CqrsFramework};
use lyo_application::booking::dialogue_context;
use lyo_application::metadata::{Actor, ActorKind, EventMetadata};
use lyo_application::projection::Projector;
use lyo_application::tenants::TenantConfigs;
use lyo_application::tenants::TenantDirectory;
use lyo_domain::conversation::{
    Answering, Conversation, ConversationCommand, ConversationError, Customer, InboundMessage,
    StatusReport,
};
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct IngressConfig {
    /// Older messages are recorded but not answered automatically.
    pub max_age: Duration,
    pub per_customer_per_minute: u32,
    pub per_tenant_per_minute: u32,
    pub batch: u32,
    /// How long a claim keeps other workers away from a row.
    pub claim_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("a conversation command failed")]
    Command(#[source] AggregateError<ConversationError>),
    #[error(transparent)]
    Store(#[from] lyo_application::event_log::StoreError),
}

type Conversations =
    CqrsFramework<Conversation, PersistedEventStore<EventRepository, Conversation>>;

pub struct InboxWorker {
    db: Db,
    /// The tenant directory's projector, to tell "unknown number" from "not projected yet".
    directory_projector: Arc<dyn Projector>,
    master: MasterKey,
    tenants: SqlTenantDirectory,
    subjects: SqlSubjectDirectory,
    conversations: Conversations,
    config: IngressConfig,
    limits: Mutex<RateLimits>,
    signal: Arc<Notify>,
    /// Tenants' assistant settings: a message that may be answered is decided with them.
    configs: Arc<dyn TenantConfigs>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl InboxWorker {
    #[allow(clippy::too_many_arguments)] // Replaced by a dependencies struct with the batched worker.
    pub fn new(
        db: Db,
        master: MasterKey,
        repository: EventRepository,
        tenants: SqlTenantDirectory,
        directory_projector: Arc<dyn Projector>,
        config: IngressConfig,
        signal: Arc<Notify>,
        configs: Arc<dyn TenantConfigs>,
    ) -> Self {
        Self {
            configs,
            directory_projector,
            subjects: SqlSubjectDirectory::new(db.clone(), master.clone()),
            conversations: CqrsFramework::new(
                PersistedEventStore::new_event_store(repository),
                vec![],
                (),
            ),
            db,
            master,
            tenants,
            config,
            limits: Mutex::new(RateLimits::default()),
            signal,
        }
    }

    /// Runs until `cancel`, waking when the inbox stores something (or every second).
    pub async fn run(self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            match self.drain_once().await {
                Ok(0) => {
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = self.signal.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(error = %lyo_application::error_chain(&error), "inbox batch failed; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// Processes everything pending now; returns how many deliveries. For tests and tools.
    pub async fn drain(&self) -> Result<usize, IngressError> {
        let mut total = 0;
        loop {
            match self.drain_once().await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    async fn drain_once(&self) -> Result<usize, IngressError> {
        let mut rows = self.claim().await?;
        rows.sort_by_key(|(id, _)| *id);
        for (id, sealed) in &rows {
            match self.process(sealed.as_deref()).await? {
                Outcome::Done => {
                    self.mark_processed(*id).await?;
                    metrics::counter!("lyo_inbox_processed_total").increment(1);
                }
                Outcome::Later => self.defer(*id).await?,
            }
        }
        Ok(rows.len())
    }

    async fn claim(&self) -> Result<Vec<(i64, Option<Vec<u8>>)>, sqlx::Error> {
        let now = now_ms();
        let until =
            now.saturating_add(i64::try_from(self.config.claim_for.as_millis()).unwrap_or(60_000));
        let limit = i64::from(self.config.batch);
        // Postgres: skip rows another worker is claiming right now. SQLite has one writer.
        let lock = match &self.db {
            Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE webhook_inbox SET claimed_until_ms = $2
              WHERE id IN (SELECT id FROM webhook_inbox
                            WHERE processed_at IS NULL AND (claimed_until_ms IS NULL OR claimed_until_ms < $1)
                            ORDER BY id LIMIT $3 {lock})
          RETURNING id, body_sealed"
        );
        match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as(&sql)
                    .bind(now)
                    .bind(until)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
            }
            Db::Sqlite(pool) => {
                sqlx::query_as(&sql)
                    .bind(now)
                    .bind(until)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
            }
        }
    }

    /// Gives a row back for a retry soon (its tenant may not be projected yet).
    async fn defer(&self, id: i64) -> Result<(), sqlx::Error> {
        let soon = now_ms().saturating_add(RETRY_MS);
        self.db
            .execute(
                "UPDATE webhook_inbox SET claimed_until_ms = $2 WHERE id = $1",
                &[crate::db::Arg::I64(id), crate::db::Arg::I64(soon)],
            )
            .await
            .map(|_| ())
    }

    async fn mark_processed(&self, id: i64) -> Result<(), sqlx::Error> {
        let sql = match &self.db {
            Db::Postgres(_) => {
                "UPDATE webhook_inbox SET processed_at = now(), body_sealed = NULL, claimed_until_ms = NULL WHERE id = $1"
            }
            Db::Sqlite(_) => {
                "UPDATE webhook_inbox SET processed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), body_sealed = NULL,
                        claimed_until_ms = NULL WHERE id = $1"
            }
        };
        self.db
            .execute(sql, &[crate::db::Arg::I64(id)])
            .await
            .map(|_| ())
    }

    async fn process(&self, sealed: Option<&[u8]>) -> Result<Outcome, IngressError> {
        // Bodies were verified and parsed before they were stored; one that no longer opens or
        // parses (a changed master key) can never succeed: count it and move on.
        let Some(delivery) = sealed
            .and_then(|s| self.master.open_bytes(s, INBOX_AAD).ok())
            .and_then(|body| parse_delivery(&body).ok())
        else {
            metrics::counter!("lyo_inbox_unreadable_total").increment(1);
            tracing::error!("an inbox row could not be opened or parsed; skipped");
            return Ok(Outcome::Done);
        };
        // Route everything first: if a number is unknown only because the directory has not
        // caught up with a new tenant yet, the whole delivery waits (commands are idempotent,
        // so a later full pass is harmless).
        let mut routes = HashMap::new();
        for change in &delivery.changes {
            let Some(phone_number_id) = change.phone_number_id.as_deref() else {
                continue;
            };
            let tenant = self
                .tenants
                .tenant_for_phone_number(phone_number_id)
                .await?;
            if tenant.is_none() && !self.directory_is_current().await? {
                return Ok(Outcome::Later);
            }
            routes.insert(phone_number_id.to_string(), tenant);
        }
        let tenant_of = |change: &Change| {
            let tenant = change
                .phone_number_id
                .as_ref()
                .and_then(|id| routes.get(id).copied().flatten());
            if tenant.is_none() {
                metrics::counter!("lyo_ingress_unrouted_total").increment(1);
            }
            tenant
        };
        for (change, message) in delivery.messages() {
            if let Some(tenant) = tenant_of(change) {
                self.receive(tenant, change, message).await?;
            }
        }
        for (change, status) in delivery.statuses() {
            if let Some(tenant) = tenant_of(change) {
                self.record_status(tenant, status).await?;
            }
        }
        Ok(Outcome::Done)
    }

    /// Whether the directory has applied every tenant event stored so far (other events do not
    /// matter, so constant conversation traffic cannot keep an unknown number waiting).
    async fn directory_is_current(&self) -> Result<bool, IngressError> {
        Ok(
            crate::projection::tenant_events_applied(&self.db, self.directory_projector.as_ref())
                .await?,
        )
    }

    async fn receive(
        &self,
        tenant: TenantId,
        change: &Change,
        message: &WireMessage,
    ) -> Result<(), IngressError> {
        let contact = change.contact_of(message);
        let user_id = message
            .from_user_id
            .as_deref()
            .or(contact.and_then(|c| c.user_id.as_deref()));
        let wa_id = message
            .from
            .as_deref()
            .or(contact.and_then(|c| c.wa_id.as_deref()));
        let Some(subject) = self.subjects.resolve(tenant, user_id, wa_id).await? else {
            metrics::counter!("lyo_ingress_unidentified_total").increment(1);
            return Ok(());
        };
        let personal = |value: &str| Personal::new(subject, value.to_string());
        let answering = self.answering(tenant, subject, message.timestamp);
        let inbound = InboundMessage {
            message_id: message.id.clone(),
            sent_at: message.timestamp,
            kind: message.kind.clone(),
            text: text_of(&message.content).map(personal),
            content: Personal::new(
                subject,
                serde_json::to_value(&message.content).unwrap_or_default(),
            ),
            customer: Customer {
                name: contact.and_then(|c| c.name.as_deref()).map(personal),
                wa_id: wa_id.map(personal),
                user_id: user_id.map(personal),
            },
            reply_to: message.context.as_ref().and_then(|c| c.id.clone()),
            answering,
        };
        let context = match answering {
            Answering::Answer => self
                .configs
                .get(tenant)
                .await?
                .map(|config| Box::new(dialogue_context(&config))),
            Answering::TooOld | Answering::RateLimited => None,
        };
        let command = ConversationCommand::ReceiveMessage {
            message: Box::new(inbound),
            context,
        };
        self.execute(tenant, subject, &message.id, command).await
    }

    async fn record_status(
        &self,
        tenant: TenantId,
        status: &StatusUpdate,
    ) -> Result<(), IngressError> {
        let user_id = status.recipient_user_id.as_deref();
        let wa_id = status.recipient_id.as_deref();
        let Some(subject) = self.subjects.resolve(tenant, user_id, wa_id).await? else {
            return Ok(());
        };
        let report = StatusReport {
            message_id: status.id.clone(),
            status: status.status.as_str().to_string(),
            at: status.timestamp,
            error_codes: status.errors.iter().filter_map(|e| e.code).collect(),
        };
        self.execute(
            tenant,
            subject,
            &status.id,
            ConversationCommand::RecordStatus(report),
        )
        .await
    }

    fn answering(&self, tenant: TenantId, subject: SubjectId, sent_at: i64) -> Answering {
        let age_secs = now_ms() / 1000 - sent_at;
        if age_secs > i64::try_from(self.config.max_age.as_secs()).unwrap_or(i64::MAX) {
            metrics::counter!("lyo_messages_not_answered_total", "reason" => "too_old")
                .increment(1);
            return Answering::TooOld;
        }
        let allowed = self.limits.lock().map(|mut limits| {
            limits.allow(&format!("t:{tenant}"), self.config.per_tenant_per_minute)
                & limits.allow(&format!("s:{subject}"), self.config.per_customer_per_minute)
        });
        if allowed.unwrap_or(true) {
            Answering::Answer
        } else {
            metrics::counter!("lyo_messages_not_answered_total", "reason" => "rate_limited")
                .increment(1);
            Answering::RateLimited
        }
    }

    async fn execute(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        correlation: &str,
        command: ConversationCommand,
    ) -> Result<(), IngressError> {
        let metadata = EventMetadata {
            tenant_id: tenant,
            actor: Actor {
                kind: match command {
                    ConversationCommand::ReceiveMessage { .. } => ActorKind::Customer,
                    _ => ActorKind::Meta,
                },
                id: subject.to_string(),
            },
            correlation_id: correlation.to_string(),
            causation_id: None,
            request_id: None,
        }
        .to_map();
        let mut attempts = 0;
        loop {
            let result = self
                .conversations
                .execute_with_metadata(&subject.to_string(), command.clone(), metadata.clone())
                .await;
            match result {
                // A concurrent copy of the same delivery won: the retry sees it and does nothing.
                Err(AggregateError::AggregateConflict) if attempts < 5 => attempts += 1,
                Err(error) => return Err(IngressError::Command(error)),
                Ok(()) => return Ok(()),
            }
        }
    }
}

enum Outcome {
    Done,
    /// Try again soon: a tenant may not be in the directory yet.
    Later,
}

const RETRY_MS: i64 = 500;

/// The text a person typed or chose, when there is one.
fn text_of(content: &Content) -> Option<&str> {
    match content {
        Content::Text { body } => Some(body),
        Content::Image(media) | Content::Video(media) | Content::Document(media) => {
            media.caption.as_deref()
        }
        Content::ButtonReply { title, .. } | Content::ListReply { title, .. } => title.as_deref(),
        Content::Button { text, .. } => text.as_deref(),
        _ => None,
    }
}

/// Fixed one-minute windows per key, in this process.
#[derive(Default)]
struct RateLimits {
    windows: HashMap<String, (i64, u32)>,
}

impl RateLimits {
    fn allow(&mut self, key: &str, per_minute: u32) -> bool {
        let minute = now_ms() / 60_000;
        if self.windows.len() > 100_000 {
            self.windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = self.windows.entry(key.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}
