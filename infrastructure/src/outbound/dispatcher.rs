//! The dispatcher: workers that claim due replies from the outbound queue, send them through
//! the [`ReplySender`] and record each outcome on the reply's `Delivery` aggregate.
//!
//! Per reply: the aggregate is checked first (a reply already decided is skipped, which also
//! covers a row the projection has not caught up with), then the reply and the recipient are
//! opened (erased: dead letter), the 24-hour window picks the reply or the tenant's template,
//! pacing waits for the number's and the customer's next slot, and the send's outcome is
//! recorded and written through to the queue row at once.
//!
//! Duplicates: a reply is sent again only after an attempt whose outcome was unknown (a
//! timeout after the request was written, a gateway error) or when a process dies between the
//! send and the recording of its outcome; its claim then expires and another attempt is made.

use super::accounts::{Account, Accounts};
use super::queue::apply_delivery;
use super::store::{self, Claimed};
use super::throttle::Throttle;
use crate::db::Db;
use crate::event_store::EventRepository;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, EventStore};
use lyo_application::metadata::{Actor, EventMetadata};
use lyo_application::outbound::policy::{
    after_failure, millis, template_reply, within_window, AfterFailure, DispatchPolicy,
};
use lyo_application::outbound::{OutboundMessage, Recipient, ReplySender, SenderAccount};
use lyo_domain::conversation::ConversationEvent;
use lyo_domain::delivery::{
    DeadLetterReason, Delivery, DeliveryCommand, DeliveryError, DeliveryEvent, FallbackCause,
};
use lyo_domain::ids::{SubjectId, TenantId};
use lyo_domain::personal::Personal;
use lyo_domain::reply::{Reply, ReplyBody};
use lyo_domain::understanding::Language;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    pub workers: u32,
    /// Replies claimed at once by one worker.
    pub batch: u32,
    /// How long a claim keeps other dispatchers away; longer than a send can take.
    pub claim_for: Duration,
    /// How long an idle worker sleeps before looking again (new rows also wake it).
    pub idle_wait: Duration,
    pub policy: DispatchPolicy,
    pub per_number_per_second: u32,
    pub recipient_gap: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// False for the sandbox: a tenant without an access token can still "send".
    pub requires_token: bool,
    /// This process's name in claims.
    pub owner: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("cannot record a delivery outcome")]
    Record(#[source] AggregateError<DeliveryError>),
    #[error(transparent)]
    Account(#[from] super::accounts::AccountError),
    #[error("cannot open personal data")]
    Pii(#[from] crate::pii::PiiError),
}

struct Inner {
    db: Db,
    repository: EventRepository,
    deliveries: PersistedEventStore<EventRepository, Delivery>,
    sender: Arc<dyn ReplySender>,
    accounts: Accounts,
    throttle: Throttle,
    config: DispatcherConfig,
}

/// Cheap to clone: every worker holds the same state (pacing, breaker, token cache).
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// What happened to one claimed reply, for metrics.
enum Handled {
    Sent,
    Decided(&'static str),
    Later,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        repository: EventRepository,
        master: crate::pii::MasterKey,
        sender: Arc<dyn ReplySender>,
        config: DispatcherConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                deliveries: PersistedEventStore::new_event_store(repository.clone()),
                accounts: Accounts::new(repository.clone(), master, Duration::from_secs(10)),
                throttle: Throttle::new(
                    config.per_number_per_second,
                    config.recipient_gap,
                    config.breaker_failures,
                ),
                db,
                repository,
                sender,
                config,
            }),
        }
    }

    /// Runs the workers and the sweeper until `cancel`; each worker finishes the reply in hand.
    pub async fn run(self, cancel: CancellationToken) {
        let mut tasks = Vec::new();
        for _ in 0..self.inner.config.workers.max(1) {
            let worker = self.clone();
            let cancel = cancel.clone();
            tasks.push(tokio::spawn(async move { worker.work(cancel).await }));
        }
        let sweeper = self.clone();
        let sweep_cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            sweeper.sweep_loop(sweep_cancel).await
        }));
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a dispatcher task panicked");
            }
        }
    }

    async fn work(&self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            let wait = match self.dispatch_once().await {
                Ok(0) => self.inner.config.idle_wait,
                Ok(_) => continue,
                Err(error) => {
                    tracing::error!(error = %error, "dispatching failed; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = super::queue::signal().notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Claims one batch and handles it; returns how many replies were claimed.
    pub async fn dispatch_once(&self) -> Result<usize, DispatchError> {
        let config = &self.inner.config;
        let now = now_ms();
        let claimed = store::claim(
            &self.inner.db,
            &config.owner,
            now,
            now.saturating_add(millis(config.claim_for)),
            config.batch.into(),
        )
        .await?;
        let count = claimed.len();
        for row in claimed {
            let reply_id = row.reply_id.clone();
            match self.handle(&row).await {
                Ok(Handled::Sent) => {
                    metrics::counter!("lyo_outbound_replies_total", "result" => "accepted")
                        .increment(1)
                }
                Ok(Handled::Decided(result)) => {
                    metrics::counter!("lyo_outbound_replies_total", "result" => result).increment(1)
                }
                Ok(Handled::Later) => {}
                Err(error) => {
                    tracing::error!(reply_id, error = %error, "cannot dispatch a reply; later");
                    store::release(&self.inner.db, &reply_id, now_ms() + 1_000).await?;
                }
            }
        }
        Ok(count)
    }

    async fn handle(&self, row: &Claimed) -> Result<Handled, DispatchError> {
        let now = now_ms();
        let (state, _) = self.delivery(&row.reply_id).await?;
        if !state.is_pending() {
            // Decided already (the row lags the aggregate): bring the row up to date.
            self.resync(&row.reply_id).await?;
            return Ok(Handled::Later);
        }
        if let Some(at) = state.retry_at_ms.filter(|at| *at > now) {
            store::release(&self.inner.db, &row.reply_id, at).await?;
            return Ok(Handled::Later);
        }
        let Ok(tenant) = row.tenant_id.parse::<TenantId>() else {
            return self
                .dead_letter(row, &state, DeadLetterReason::NoAccount)
                .await;
        };
        if now.saturating_sub(row.queued_at_ms) > millis(self.inner.config.policy.max_age) {
            return self
                .dead_letter(row, &state, DeadLetterReason::TooOld)
                .await;
        }
        let Some(account) = self.inner.accounts.get(tenant).await? else {
            return self
                .dead_letter(row, &state, DeadLetterReason::NoAccount)
                .await;
        };
        let Some(token) = self.token(&account) else {
            // Keep the queue: the tenant is stopped until it saves a token.
            let until = now + 60_000;
            store::hold_tenant(
                &self.inner.db,
                &row.tenant_id,
                "no_token",
                None,
                now,
                until,
                None,
            )
            .await?;
            store::release(&self.inner.db, &row.reply_id, now).await?;
            return Ok(Handled::Later);
        };
        let Some(reply) = self.reply(row).await? else {
            return self
                .dead_letter(row, &state, DeadLetterReason::Erased)
                .await;
        };
        let customer = store::customer(&self.inner.db, &row.subject_id)
            .await?
            .unwrap_or_default();
        let recipient = match self.recipient(&customer).await? {
            Ok(recipient) => recipient,
            Err(reason) => return self.dead_letter(row, &state, reason).await,
        };
        let mut state = state;
        let mut template = state.template;
        let is_template = matches!(reply.body, ReplyBody::Template { .. });
        if !is_template && !template && !within_window(customer.last_inbound_at, now) {
            match self
                .fall_back(row, &state, &account, &reply, FallbackCause::WindowClosed)
                .await?
            {
                Some(next) => state = next,
                None => return Ok(Handled::Decided("dead_lettered")),
            }
            template = true;
        }
        let message = OutboundMessage {
            reply_id: row.reply_id.parse().unwrap_or_default(),
            recipient,
            reply: if template && !is_template {
                match self.template_for(&account, row, &reply) {
                    Some(t) => t,
                    None => {
                        let reason = no_template(&account, row, &reply);
                        return self.dead_letter(row, &state, reason).await;
                    }
                }
            } else {
                reply.clone()
            },
        };
        let wait = self
            .inner
            .throttle
            .reserve(&account.phone_number_id, &row.subject_id);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let sender_account = SenderAccount {
            phone_number_id: account.phone_number_id.clone(),
            access_token: token,
        };
        let attempt = state.attempts + 1;
        match self.inner.sender.send(&sender_account, &message).await {
            Ok(sent) => {
                self.inner.throttle.succeeded(&row.tenant_id);
                self.record(
                    row,
                    DeliveryCommand::RecordAccepted {
                        attempt,
                        wamid: sent.wamid,
                        template: template || is_template,
                    },
                )
                .await?;
                Ok(Handled::Sent)
            }
            Err(error) => {
                let jitter: f64 = rand::random();
                let decided =
                    after_failure(&self.inner.config.policy, &state, &error, now_ms(), jitter);
                self.after_failure(row, &state, &account, &reply, &error, decided)
                    .await
            }
        }
    }

    async fn after_failure(
        &self,
        row: &Claimed,
        state: &Delivery,
        account: &Account,
        reply: &Reply,
        error: &lyo_application::outbound::SendError,
        decided: AfterFailure,
    ) -> Result<Handled, DispatchError> {
        let attempt = state.attempts + 1;
        let db = &self.inner.db;
        let now = now_ms();
        match decided {
            AfterFailure::Retry {
                at_ms,
                class,
                code,
                outcome_unknown,
                hold_tenant_until_ms,
            } => {
                if let Some(until) = hold_tenant_until_ms {
                    store::hold_tenant(db, &row.tenant_id, "throttled", code, now, until, None)
                        .await?;
                } else if self.inner.throttle.failed(&row.tenant_id) {
                    let until = now.saturating_add(millis(self.inner.config.breaker_cooldown));
                    tracing::warn!(tenant = %row.tenant_id, "circuit breaker open");
                    metrics::counter!("lyo_outbound_breaker_opened_total").increment(1);
                    store::hold_tenant(db, &row.tenant_id, "circuit_open", code, now, until, None)
                        .await?;
                }
                self.record(
                    row,
                    DeliveryCommand::ScheduleRetry {
                        attempt,
                        retry_at_ms: at_ms,
                        class: class.to_string(),
                        code,
                        outcome_unknown,
                    },
                )
                .await?;
                Ok(Handled::Decided("retry"))
            }
            AfterFailure::BlockTenant { until_ms, code } => {
                tracing::warn!(tenant = %row.tenant_id, code, "Meta blocked the tenant's sending");
                metrics::counter!("lyo_outbound_tenant_blocked_total", "code" => code.to_string())
                    .increment(1);
                store::hold_tenant(
                    db,
                    &row.tenant_id,
                    "blocked",
                    Some(code),
                    now,
                    until_ms,
                    account.token_digest.as_deref(),
                )
                .await?;
                self.record(
                    row,
                    DeliveryCommand::ScheduleRetry {
                        attempt,
                        retry_at_ms: now,
                        class: lyo_domain::delivery::TENANT_BLOCKED.to_string(),
                        code: Some(code),
                        outcome_unknown: false,
                    },
                )
                .await?;
                Ok(Handled::Decided("tenant_blocked"))
            }
            AfterFailure::FallBackToTemplate => {
                self.inner.throttle.succeeded(&row.tenant_id);
                let cause = FallbackCause::OutsideWindowAnswer;
                match self.fall_back(row, state, account, reply, cause).await? {
                    Some(_) => {
                        // The template goes out at once, by whichever worker claims it.
                        store::release(&self.inner.db, &row.reply_id, now).await?;
                        Ok(Handled::Decided("template_fallback"))
                    }
                    None => Ok(Handled::Decided("dead_lettered")),
                }
            }
            AfterFailure::Fail { code } => {
                self.inner.throttle.succeeded(&row.tenant_id);
                let subject = row
                    .subject_id
                    .parse::<SubjectId>()
                    .unwrap_or_else(|_| SubjectId::from_uuid(uuid::Uuid::nil()));
                let reason = match error {
                    lyo_application::outbound::SendError::Permanent { reason, .. } => {
                        reason.as_str().to_string()
                    }
                    other => other.to_string(),
                };
                self.record(
                    row,
                    DeliveryCommand::RecordFailure {
                        attempt,
                        code,
                        reason: Personal::new(subject, reason),
                    },
                )
                .await?;
                Ok(Handled::Decided("failed"))
            }
            AfterFailure::DeadLetter(reason) => {
                let mut tried = state.clone();
                tried.attempts = attempt;
                self.dead_letter(row, &tried, reason).await
            }
        }
    }

    /// Records the switch to the template, or a dead letter when the tenant has none. Returns
    /// the new state, `None` after a dead letter.
    async fn fall_back(
        &self,
        row: &Claimed,
        state: &Delivery,
        account: &Account,
        reply: &Reply,
        cause: FallbackCause,
    ) -> Result<Option<Delivery>, DispatchError> {
        let language = language_of(account, row);
        let Some(template) = account.templates.get(reply.purpose, language) else {
            self.dead_letter(row, state, no_template(account, row, reply))
                .await?;
            return Ok(None);
        };
        let next = self
            .record(
                row,
                DeliveryCommand::FallBackToTemplate {
                    attempt: state.attempts,
                    template: template.name.clone(),
                    language: template.language_code.clone(),
                    cause,
                },
            )
            .await?;
        Ok(Some(next))
    }

    fn template_for(&self, account: &Account, row: &Claimed, reply: &Reply) -> Option<Reply> {
        account
            .templates
            .get(reply.purpose, language_of(account, row))
            .map(|template| template_reply(reply, template, &account.name))
    }

    async fn dead_letter(
        &self,
        row: &Claimed,
        state: &Delivery,
        reason: DeadLetterReason,
    ) -> Result<Handled, DispatchError> {
        tracing::warn!(reply_id = %row.reply_id, reason = reason.label(), "reply dead-lettered");
        metrics::counter!("lyo_outbound_dead_letters_total", "reason" => reason.label())
            .increment(1);
        self.record(
            row,
            DeliveryCommand::DeadLetter {
                attempts: state.attempts,
                reason,
            },
        )
        .await?;
        Ok(Handled::Decided("dead_lettered"))
    }

    fn token(&self, account: &Account) -> Option<SecretString> {
        match &account.access_token {
            Some(token) => Some(token.clone()),
            None if !self.inner.config.requires_token => Some(SecretString::from(String::new())),
            None => None,
        }
    }

    /// The reply of the `ReplyQueued` event, opened; `None` once the customer was erased.
    async fn reply(&self, row: &Claimed) -> Result<Option<Reply>, DispatchError> {
        let Some(mut payload) =
            store::conversation_payload(&self.inner.db, &row.subject_id, row.event_sequence)
                .await?
        else {
            return Ok(None);
        };
        self.inner
            .repository
            .vault()
            .open_payload(&mut payload)
            .await?;
        match serde_json::from_value::<ConversationEvent>(payload) {
            Ok(ConversationEvent::ReplyQueued { reply, .. }) => Ok(reply.value().cloned()),
            _ => Ok(None),
        }
    }

    /// The customer's ids, opened; a dead-letter reason when there is nobody to send to.
    async fn recipient(
        &self,
        customer: &store::CustomerRow,
    ) -> Result<Result<Recipient, DeadLetterReason>, DispatchError> {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        let mut ids = serde_json::json!({
            "wa_id": parse(&customer.wa_id),
            "user_id": parse(&customer.user_id),
        });
        self.inner.repository.vault().open_payload(&mut ids).await?;
        let open = |name: &str| -> (bool, Option<String>) {
            match serde_json::from_value::<Option<Personal<String>>>(ids[name].clone()) {
                Ok(Some(p)) => (p.is_redacted(), p.value().cloned()),
                _ => (false, None),
            }
        };
        let (wa_erased, wa_id) = open("wa_id");
        let (user_erased, user_id) = open("user_id");
        Ok(match Recipient::from_ids(wa_id, user_id) {
            Some(recipient) => Ok(recipient),
            None if wa_erased || user_erased => Err(DeadLetterReason::Erased),
            None => Err(DeadLetterReason::NoRecipient),
        })
    }

    /// The reply's aggregate and its sequence.
    async fn delivery(&self, reply_id: &str) -> Result<(Delivery, usize), DispatchError> {
        let context = self
            .inner
            .deliveries
            .load_aggregate(reply_id)
            .await
            .map_err(DispatchError::Record)?;
        Ok((context.aggregate, context.current_sequence))
    }

    /// Executes `command` on the reply's aggregate (reloading after a lost race) and writes
    /// the events through to the queue row. Returns the new state.
    async fn record(
        &self,
        row: &Claimed,
        command: DeliveryCommand,
    ) -> Result<Delivery, DispatchError> {
        let tenant: TenantId = row.tenant_id.parse().map_err(|_| {
            DispatchError::Record(AggregateError::UnexpectedError(
                "a queued reply with an invalid tenant id".into(),
            ))
        })?;
        let metadata = EventMetadata {
            tenant_id: tenant,
            actor: Actor::system("dispatcher"),
            correlation_id: row.reply_id.clone(),
            causation_id: None,
            request_id: None,
        }
        .to_map();
        let mut conflicts = 0;
        loop {
            let context = self
                .inner
                .deliveries
                .load_aggregate(&row.reply_id)
                .await
                .map_err(DispatchError::Record)?;
            let mut state = context.aggregate.clone();
            let events = state.decide(command.clone());
            if events.is_empty() {
                self.resync(&row.reply_id).await?;
                return Ok(state);
            }
            match self
                .inner
                .deliveries
                .commit(events, context, metadata.clone())
                .await
            {
                Ok(envelopes) => {
                    let mut tx = self.inner.db.begin().await?;
                    // An outcome ends the claim; a template chosen before sending keeps it
                    // (this worker sends the template now).
                    let decided = envelopes.iter().any(|e| {
                        !matches!(e.payload, DeliveryEvent::TemplateFallbackChosen { .. })
                    });
                    if decided {
                        tx.execute(
                            "DELETE FROM outbound_claims WHERE reply_id = $1",
                            &[crate::db::Arg::Text(row.reply_id.clone())],
                        )
                        .await?;
                    }
                    for envelope in envelopes {
                        let sequence = i64::try_from(envelope.sequence).unwrap_or(i64::MAX);
                        apply_delivery(
                            &mut tx,
                            &row.reply_id,
                            sequence,
                            &envelope.payload,
                            now_ms(),
                        )
                        .await?;
                        cqrs_es::Aggregate::apply(&mut state, envelope.payload);
                    }
                    tx.commit().await?;
                    return Ok(state);
                }
                Err(AggregateError::AggregateConflict) if conflicts < 5 => conflicts += 1,
                Err(error) => return Err(DispatchError::Record(error)),
            }
        }
    }

    /// Writes the aggregate's events through to the row (the row may lag the projection).
    async fn resync(&self, reply_id: &str) -> Result<(), DispatchError> {
        let events = self
            .inner
            .deliveries
            .load_events(reply_id)
            .await
            .map_err(DispatchError::Record)?;
        let mut tx = self.inner.db.begin().await?;
        for envelope in events {
            let sequence = i64::try_from(envelope.sequence).unwrap_or(i64::MAX);
            apply_delivery(&mut tx, reply_id, sequence, &envelope.payload, now_ms()).await?;
        }
        tx.execute(
            "DELETE FROM outbound_claims WHERE reply_id = $1
               AND EXISTS (SELECT 1 FROM outbound_replies r
                            WHERE r.reply_id = $1 AND r.state <> 'pending')",
            &[crate::db::Arg::Text(reply_id.into())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn sweep_loop(&self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            if let Err(error) = self.sweep().await {
                tracing::error!(error = %error, "outbound sweep failed");
            }
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Periodic work of the dispatcher: late 131047 statuses fall back to the template, and a
    /// blocked tenant whose token changed is resumed.
    pub async fn sweep(&self) -> Result<(), DispatchError> {
        let db = &self.inner.db;
        for row in store::late_outside_window(db).await? {
            let (state, _) = self.delivery(&row.reply_id).await?;
            let tenant = row.tenant_id.parse::<TenantId>().ok();
            let account = match tenant {
                Some(id) => self.inner.accounts.get(id).await?,
                None => None,
            };
            let reply = self.reply(&row).await?;
            // Without a template (or a reply) the fallback is still recorded, with no name:
            // the next attempt then dead-letters the reply with the precise reason.
            let template = account.as_ref().zip(reply.as_ref()).and_then(|(a, r)| {
                a.templates
                    .get(r.purpose, language_of(a, &row))
                    .map(|t| (t.name.clone(), t.language_code.clone()))
            });
            let (template, language) = template.unwrap_or_default();
            self.record(
                &row,
                DeliveryCommand::FallBackToTemplate {
                    attempt: state.attempts,
                    template,
                    language,
                    cause: FallbackCause::OutsideWindowStatus,
                },
            )
            .await?;
            super::queue::signal().notify_waiters();
        }
        let blocked = store::blocked_tenants(db, now_ms()).await?;
        metrics::gauge!("lyo_outbound_tenants_blocked").set(blocked.len() as f64);
        for (tenant, digest) in blocked {
            let Ok(id) = tenant.parse::<TenantId>() else {
                continue;
            };
            let account = self.inner.accounts.fresh(id).await?;
            let current = account.as_ref().and_then(|a| a.token_digest.clone());
            if current.is_some() && current != digest {
                tracing::info!(tenant, "the tenant's token changed; sending resumes");
                store::lift_hold(db, &tenant).await?;
                super::queue::signal().notify_waiters();
            }
        }
        Ok(())
    }
}

fn language_of(account: &Account, row: &Claimed) -> Language {
    row.language
        .as_deref()
        .and_then(|l| serde_json::from_value(serde_json::Value::String(l.into())).ok())
        .unwrap_or(account.default_language)
}

fn no_template(account: &Account, row: &Claimed, reply: &Reply) -> DeadLetterReason {
    DeadLetterReason::NoTemplate {
        purpose: reply.purpose,
        language: language_of(account, row).code().to_string(),
    }
}
