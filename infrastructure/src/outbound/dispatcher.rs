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

use super::accounts::Accounts;
use super::outcome::no_template;
use super::store::{self, Claimed};
use super::throttle::Throttle;
use crate::db::Db;
use crate::event_store::EventRepository;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::AggregateError;
use lyo_application::outbound::policy::{after_failure, millis, within_window, DispatchPolicy};
use lyo_application::outbound::{OutboundMessage, ReplySender, SenderAccount};
use lyo_domain::delivery::{
    DeadLetterReason, Delivery, DeliveryCommand, DeliveryError, FallbackCause,
};
use lyo_domain::ids::TenantId;
use lyo_domain::reply::ReplyBody;
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

pub(super) struct Inner {
    pub(super) db: Db,
    pub(super) repository: EventRepository,
    pub(super) deliveries: PersistedEventStore<EventRepository, Delivery>,
    pub(super) sender: Arc<dyn ReplySender>,
    pub(super) accounts: Accounts,
    pub(super) throttle: Throttle,
    pub(super) config: DispatcherConfig,
}

/// Cheap to clone: every worker holds the same state (pacing, breaker, token cache).
#[derive(Clone)]
pub struct Dispatcher {
    pub(super) inner: Arc<Inner>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// What happened to one claimed reply, for metrics.
pub(super) enum Handled {
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

    pub(super) async fn work(&self, cancel: CancellationToken) {
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

    pub(super) async fn handle(&self, row: &Claimed) -> Result<Handled, DispatchError> {
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
                .fall_back(
                    row,
                    &state,
                    state.attempts,
                    &account,
                    &reply,
                    FallbackCause::WindowClosed,
                )
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
                self.record_sent(
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
}
