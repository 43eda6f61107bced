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
use super::handoff::{Handoff, Taken};
use super::outcome::no_template;
use super::store::{self, Claimed};
use super::throttle::Throttle;
use crate::db::Db;
use crate::event_store::{EventRepository, StreamPosition};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::AggregateError;
use lyo_application::outbound::policy::{after_failure, millis, within_window, DispatchPolicy};
use lyo_application::outbound::{OutboundMessage, ReplySender, SenderAccount};
use lyo_domain::delivery::{
    DeadLetterReason, Delivery, DeliveryCommand, DeliveryError, DeliveryEvent, FallbackCause,
};
use lyo_domain::ids::TenantId;
use lyo_domain::reply::ReplyBody;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    pub workers: u32,
    /// Replies claimed at once by one worker.
    pub batch: u32,
    /// How long a claim keeps other dispatchers away; longer than a send can take.
    pub claim_for: Duration,
    /// How long the first idle worker sleeps before looking again (the others ten times
    /// that; new rows also wake them).
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
    /// Replies the inbox workers of this process claimed and handed over (Postgres), taken by
    /// [`Dispatcher::run`].
    handed: std::sync::Mutex<Option<Taken>>,
    /// The inbox workers' side of `handed` (Postgres).
    handoff: Option<Handoff>,
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

/// The idle wait of every worker but the first, in idle waits of the first.
const IDLE_FACTOR: u32 = 10;

/// How long finished sends of a batch wait for the rest before they are recorded together.
const RECORD_LINGER: Duration = Duration::from_millis(2);

pub use crate::now_ms;

/// What happened to one claimed reply.
pub(super) enum Handled {
    /// Meta accepted it; the record is written with the rest of the batch.
    Sent(Box<Accepted>),
    /// An outcome was recorded (the label is for metrics).
    Decided(&'static str),
    Later,
}

/// A send Meta accepted, not recorded yet.
pub(super) struct Accepted {
    pub(super) row: Claimed,
    pub(super) state: Delivery,
    /// The stream version the send was decided on; `None` when the handling recorded an
    /// event itself (a switch to the template), so the record takes the single-reply path.
    pub(super) version: Option<usize>,
    pub(super) command: DeliveryCommand,
}

/// What the handling of a claimed batch needs, loaded for all of it at once.
pub(super) struct Prefetched {
    /// Each reply's `Delivery` state and stream version (absent: no event yet).
    deliveries: HashMap<String, (Delivery, usize)>,
    /// The sealed `ReplyQueued` payloads, by (subject, sequence).
    payloads: HashMap<(String, i64), serde_json::Value>,
    customers: HashMap<String, store::CustomerRow>,
    /// When the batch's claims end (ms).
    claimed_until: i64,
}

impl Prefetched {
    /// What the inbox worker knows of replies it has just queued: no `Delivery` event yet.
    pub(super) fn handed(
        payloads: HashMap<(String, i64), serde_json::Value>,
        customers: HashMap<String, store::CustomerRow>,
        claimed_until: i64,
    ) -> Self {
        Prefetched {
            deliveries: HashMap::new(),
            payloads,
            customers,
            claimed_until,
        }
    }
}

impl Dispatcher {
    pub fn new(
        db: Db,
        repository: EventRepository,
        master: crate::pii::MasterKey,
        sender: Arc<dyn ReplySender>,
        config: DispatcherConfig,
    ) -> Self {
        let (handoff, taken) = match db {
            Db::Postgres(_) => {
                // As many as its workers take at once: a pause of some tens of milliseconds
                // under load gathers more than one worker's batch, whose customers wait.
                let most = config.batch.saturating_mul(config.workers.max(1));
                let (handoff, taken) =
                    Handoff::channel(config.owner.clone(), config.claim_for, most);
                (Some(handoff), Some(taken))
            }
            Db::Sqlite(_) => (None, None),
        };
        Self {
            inner: Arc::new(Inner {
                deliveries: PersistedEventStore::new_event_store(repository.clone()),
                accounts: Accounts::new(repository.clone(), master, Duration::from_secs(10)),
                throttle: Throttle::new(
                    config.per_number_per_second,
                    config.recipient_gap,
                    config.breaker_failures,
                ),
                handed: std::sync::Mutex::new(taken),
                handoff,
                db,
                repository,
                sender,
                config,
            }),
        }
    }

    /// On Postgres, where the inbox worker can claim the replies it queues: the handoff its
    /// workers use to give them to this dispatcher ([`Handoff`]). Only for workers of a
    /// process that runs this dispatcher ([`Self::run`]): what it hands over waits for it.
    pub fn handoff(&self) -> Option<Handoff> {
        self.inner.handoff.clone()
    }

    /// Runs the workers and the sweeper until `cancel`; each worker finishes the reply in hand.
    pub async fn run(self, cancel: CancellationToken) {
        let mut tasks = Vec::new();
        for index in 0..self.inner.config.workers.max(1) {
            let worker = self.clone();
            let cancel = cancel.clone();
            // One worker looks for due replies (retries come due without a wake-up) at every
            // idle wait; the others wait to be woken. Each look is a claim, on a busy queue
            // one of the dearest statements to find nothing with.
            let idle_wait = match index {
                0 => self.inner.config.idle_wait,
                _ => self.inner.config.idle_wait * IDLE_FACTOR,
            };
            tasks.push(tokio::spawn(
                async move { worker.work(idle_wait, cancel).await },
            ));
        }
        let sweeper = self.clone();
        let sweep_cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            sweeper.sweep_loop(sweep_cancel).await
        }));
        let handed = self.inner.handed.lock().ok().and_then(|mut h| h.take());
        if let Some(handed) = handed {
            let taker = self.clone();
            let cancel = cancel.clone();
            tasks.push(tokio::spawn(async move {
                taker.take_handed(handed, cancel).await
            }));
        }
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a dispatcher task panicked");
            }
        }
    }

    pub(super) async fn work(&self, idle_wait: Duration, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            let wait = match self.dispatch_once().await {
                Ok(0) => idle_wait,
                // Claim again at once: a customer's next reply became claimable when this
                // batch was recorded, and a process without the queue projector gets no
                // wake-up for new rows.
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

    /// Claims one batch, loads what it needs in a few queries, sends its replies concurrently
    /// and records the accepted ones together as their sends complete; returns how many
    /// replies were claimed.
    pub async fn dispatch_once(&self) -> Result<usize, DispatchError> {
        let config = &self.inner.config;
        let now = now_ms();
        let claimed_until = now.saturating_add(millis(config.claim_for));
        let claimed = store::claim(
            &self.inner.db,
            &config.owner,
            now,
            claimed_until,
            config.batch.into(),
        )
        .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        if claimed.len() >= usize::try_from(config.batch).unwrap_or(usize::MAX) {
            // There may be more: let another worker help.
            super::queue::signal().notify_one();
        }
        let prefetched = match self.prefetch(&claimed, claimed_until).await {
            Ok(prefetched) => prefetched,
            Err(error) => {
                for row in &claimed {
                    self.give_back(row).await;
                }
                return Err(error);
            }
        };
        self.send_batch(&claimed, prefetched).await;
        Ok(claimed.len())
    }

    /// Sends the batches the inbox workers hand over, up to `workers` at once, until `cancel`;
    /// then ends the claims of those not started. A batch that waited for half its claim is
    /// not started either (its claims are left to expire: another worker may have taken a
    /// reply over by then).
    async fn take_handed(&self, mut taken: Taken, cancel: CancellationToken) {
        let most = usize::try_from(self.inner.config.workers.max(1)).unwrap_or(1);
        let mut sending = JoinSet::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(joined) = sending.join_next(), if !sending.is_empty() => {
                    if let Err(error) = joined {
                        tracing::error!(%error, "a handed batch failed");
                    }
                    taken.finished();
                }
                next = taken.receiver.recv(), if sending.len() < most => {
                    let Some(batch) = next else { break };
                    if self.claim_half_used(&batch.prefetched) {
                        tracing::warn!(replies = batch.claimed.len(),
                            "a handed batch waited too long; its claims expire");
                        continue;
                    }
                    let claimed_at = batch.prefetched.claimed_until
                        .saturating_sub(millis(self.inner.config.claim_for));
                    tracing::debug!(replies = batch.claimed.len(), sending = sending.len(),
                        waited_ms = now_ms().saturating_sub(claimed_at), "handed batch taken");
                    let worker = self.clone();
                    sending.spawn(async move {
                        let started = std::time::Instant::now();
                        worker.send_batch(&batch.claimed, batch.prefetched).await;
                        tracing::debug!(replies = batch.claimed.len(),
                            ms = started.elapsed().as_secs_f64() * 1000.0, "handed batch sent");
                    });
                }
            }
        }
        taken.receiver.close();
        while let Some(batch) = taken.receiver.recv().await {
            batch.end_claims(&self.inner.db).await;
        }
        while sending.join_next().await.is_some() {}
    }

    /// Whether less than half of the batch's claim is left: another dispatcher could then
    /// take a reply over while its send is under way.
    fn claim_half_used(&self, prefetched: &Prefetched) -> bool {
        let half = millis(self.inner.config.claim_for) / 2;
        now_ms() > prefetched.claimed_until.saturating_sub(half)
    }

    /// Sends a claimed batch whose needs are loaded and records the outcomes.
    async fn send_batch(&self, claimed: &[Claimed], prefetched: Prefetched) {
        // Each reply in its own task, so that sends in flight keep being driven (their
        // timeouts, their pacing) while finished ones are recorded.
        let prefetched = Arc::new(prefetched);
        let mut handling = JoinSet::new();
        let mut rows = HashMap::new();
        for row in claimed {
            let (worker, task_row, prefetched) = (self.clone(), row.clone(), prefetched.clone());
            let task = handling.spawn(async move {
                let result = worker.handle(&task_row, &prefetched).await;
                (task_row, result)
            });
            rows.insert(task.id(), row);
        }
        while let Some(first) = handling.join_next().await {
            // Sends of one batch finish within moments of each other: gather those that do
            // within RECORD_LINGER, then record them in one transaction.
            let mut done = vec![first];
            let until = tokio::time::Instant::now() + RECORD_LINGER;
            while let Ok(Some(next)) = tokio::time::timeout_at(until, handling.join_next()).await {
                done.push(next);
            }
            let mut accepted = Vec::new();
            for joined in done {
                let (row, result) = match joined {
                    Ok(handled) => handled,
                    Err(error) => {
                        tracing::error!(error = %error, "a dispatch task failed");
                        if let Some(row) = rows.get(&error.id()) {
                            self.give_back(row).await;
                        }
                        continue;
                    }
                };
                match result {
                    Ok(Handled::Sent(sent)) => accepted.push(*sent),
                    Ok(Handled::Decided(result)) => {
                        metrics::counter!("lyo_outbound_replies_total", "result" => result)
                            .increment(1)
                    }
                    Ok(Handled::Later) => {}
                    Err(error) => {
                        tracing::error!(reply_id = row.reply_id, error = %error,
                            "cannot dispatch a reply; later");
                        self.give_back(&row).await;
                    }
                }
            }
            self.record_accepted(accepted).await;
        }
    }

    /// Releases a claim after an error, to be tried again a second later.
    pub(super) async fn give_back(&self, row: &Claimed) {
        if let Err(error) = store::release(&self.inner.db, &row.reply_id, now_ms() + 1_000).await {
            // The claim expires by itself.
            tracing::error!(reply_id = row.reply_id, error = %error, "cannot release a claim");
        }
    }

    /// The batch's `Delivery` states, reply payloads and customers, in three queries.
    async fn prefetch(
        &self,
        rows: &[Claimed],
        claimed_until: i64,
    ) -> Result<Prefetched, DispatchError> {
        let db = &self.inner.db;
        let streams: Vec<StreamPosition> = rows
            .iter()
            .map(|row| StreamPosition {
                aggregate_id: row.reply_id.clone(),
                after: 0,
            })
            .collect();
        let stored = self
            .inner
            .repository
            .events_after::<Delivery>(db, &streams)
            .await
            .map_err(|e| DispatchError::Record(AggregateError::UnexpectedError(Box::new(e))))?;
        let mut deliveries: HashMap<String, (Delivery, usize)> = HashMap::new();
        for event in stored {
            let payload: DeliveryEvent = serde_json::from_value(event.payload)
                .map_err(|e| DispatchError::Record(AggregateError::UnexpectedError(e.into())))?;
            let (state, version) = deliveries.entry(event.aggregate_id).or_default();
            cqrs_es::Aggregate::apply(state, payload);
            *version = event.sequence;
        }
        let keys: Vec<(String, i64)> = rows
            .iter()
            .map(|row| (row.subject_id.clone(), row.event_sequence))
            .collect();
        let payloads = store::conversation_payloads(db, &keys).await?;
        let subjects: Vec<String> = rows.iter().map(|row| row.subject_id.clone()).collect();
        let customers = store::customers(db, &subjects).await?;
        Ok(Prefetched {
            deliveries,
            payloads,
            customers,
            claimed_until,
        })
    }

    pub(super) async fn handle(
        &self,
        row: &Claimed,
        prefetched: &Prefetched,
    ) -> Result<Handled, DispatchError> {
        let now = now_ms();
        let (state, version) = prefetched
            .deliveries
            .get(&row.reply_id)
            .cloned()
            .unwrap_or_default();
        // The version the send is decided on, while nothing else was recorded on the way.
        let mut version = Some(version);
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
        let payload = prefetched
            .payloads
            .get(&(row.subject_id.clone(), row.event_sequence))
            .cloned();
        let Some(reply) = self.open_reply(payload).await? else {
            return self
                .dead_letter(row, &state, DeadLetterReason::Erased)
                .await;
        };
        let customer = prefetched
            .customers
            .get(&row.subject_id)
            .cloned()
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
            version = None;
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
        // Waiting for a pacing slot (or a connection) may have used up much of the claim:
        // with less than half of it left, another dispatcher could take the reply while this
        // send is under way. Give it back instead.
        if self.claim_half_used(prefetched) {
            store::release(&self.inner.db, &row.reply_id, now_ms()).await?;
            return Ok(Handled::Later);
        }
        let sender_account = SenderAccount {
            phone_number_id: account.phone_number_id.clone(),
            access_token: token,
        };
        let attempt = state.attempts + 1;
        match self.inner.sender.send(&sender_account, &message).await {
            Ok(sent) => {
                self.inner.throttle.succeeded(&row.tenant_id);
                Ok(Handled::Sent(Box::new(Accepted {
                    row: row.clone(),
                    state,
                    version,
                    command: DeliveryCommand::RecordAccepted {
                        attempt,
                        wamid: sent.wamid,
                        template: template || is_template,
                    },
                })))
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
