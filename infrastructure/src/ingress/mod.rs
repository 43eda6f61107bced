//! The inbox worker: turns stored webhook deliveries into `Conversation` events, a batch at a
//! time (ADR 0007).
//!
//! One batch: claim up to `batch` pending inbox rows (Postgres: `FOR UPDATE SKIP LOCKED` in the
//! batch's transaction, so several processes share the work and a crash releases the rows;
//! SQLite: a short claim that expires), open and parse each body, route every message and
//! status to its tenant (by phone number id) and customer subject, group the commands by
//! conversation, load each conversation once (from this worker's cache, plus whatever was
//! appended after the cached version), [`decide`] each conversation's commands in memory, and
//! append all events and delete the rows in ONE transaction. A crash before the commit repeats
//! the batch; after it, nothing is left to repeat. Commands are idempotent (a repeated message
//! or status changes nothing), and the events table's unique (type, id, sequence) key catches a
//! concurrent writer: the batch is then decided again on fresh state.
//!
//! Messages that arrive too late or over a rate limit are still recorded, marked as not to be
//! answered automatically.

mod decide;
mod route;

pub use decide::{decide, Inbound, Rejected};

use crate::db::{fetch, Db, DbTx};
use crate::event_store::{AppendError, EventRepository, SealedBatch, StreamPosition};
use crate::identity::SqlSubjectDirectory;
use crate::inbox::{ClaimedBatch, WebhookInbox};
use crate::outbound::{Handoff, Queued};
use crate::pii::MasterKey;
use crate::projection::SqlTenantDirectory;
use cqrs_es::persist::{PersistenceError, SerializedEvent};
use cqrs_es::Aggregate;
use decide::{ConversationCache, Loaded};
use lyo_application::projection::Projector;
use lyo_application::tenants::TenantConfigs;
use lyo_domain::conversation::Conversation;
use route::RateLimits;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct IngressConfig {
    /// Older messages are recorded but not answered automatically.
    pub max_age: Duration,
    pub per_customer_per_minute: u32,
    pub per_tenant_per_minute: u32,
    /// Inbox rows per batch (one transaction).
    pub batch: u32,
    /// How long a claim keeps other workers away from a row (SQLite; Postgres locks rows).
    pub claim_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the event store failed")]
    Persistence(#[source] PersistenceError),
    #[error("a stored conversation event does not deserialize")]
    Corrupt(#[source] serde_json::Error),
    #[error("another writer appended to a conversation of the batch; retrying did not help")]
    Conflict,
    #[error(transparent)]
    Store(#[from] lyo_application::event_log::StoreError),
}

impl From<AppendError> for IngressError {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => IngressError::Conflict,
            AppendError::Persistence(e) => IngressError::Persistence(e),
            AppendError::Database(e) => IngressError::Database(e),
        }
    }
}

/// Attempts of a batch that keeps meeting concurrent writers.
const CONFLICT_ATTEMPTS: usize = 5;
/// A delivery whose tenant may not be projected yet is tried again after this.
const RETRY_MS: i64 = 500;

/// What the worker reads about tenants.
pub struct TenantSources {
    /// Routing: the tenant of a phone number id.
    pub directory: SqlTenantDirectory,
    /// The tenant directory's projector, to tell "unknown number" from "not projected yet".
    pub directory_projector: Arc<dyn Projector>,
    /// The assistant's settings: a message that may be answered is decided with them.
    pub configs: Arc<dyn TenantConfigs>,
}

pub struct InboxWorker {
    db: Db,
    master: MasterKey,
    tenants: TenantSources,
    subjects: SqlSubjectDirectory,
    repository: EventRepository,
    config: IngressConfig,
    limits: Mutex<RateLimits>,
    conversations: Mutex<ConversationCache>,
    signal: Arc<Notify>,
    /// Where the replies of a batch go once committed (Postgres; see [`Handoff`]).
    handoff: Option<Handoff>,
    /// Rows the inbox handed over, already claimed for this worker (`WebhookInbox::hand_over`).
    handed: Option<tokio::sync::Mutex<HandedRows>>,
    /// Whether the table may hold rows for this worker to claim. Only read with `handed`, then
    /// set by the inbox when it stored rows unclaimed, and here when a batch was released, a
    /// claim came back full, and once a second (a crashed process's rows, deferred rows).
    look_in_table: Arc<AtomicBool>,
}

/// The inbox's channel of handed rows and what was received but not yet taken.
struct HandedRows {
    receiver: mpsc::Receiver<ClaimedBatch>,
    waiting: VecDeque<ClaimedBatch>,
}

impl HandedRows {
    /// Up to `limit` rows, skipping those whose claim is more than half used (they wait for
    /// it to expire and are claimed from the table then, as after a crash).
    fn take(&mut self, limit: usize, claim_ms: i64) -> Vec<(i64, Option<Vec<u8>>)> {
        while let Ok(handed) = self.receiver.try_recv() {
            self.waiting.push_back(handed);
        }
        let fresh_after = now_ms().saturating_add(claim_ms / 2);
        let mut rows = Vec::new();
        while rows.len() < limit {
            let Some(handed) = self.waiting.front_mut() else {
                break;
            };
            if handed.claimed_until_ms < fresh_after {
                metrics::counter!("lyo_inbox_handed_stale_total")
                    .increment(handed.rows.len() as u64);
                self.waiting.pop_front();
                continue;
            }
            let n = handed.rows.len().min(limit - rows.len());
            rows.extend(handed.rows.drain(..n).map(|(id, body)| (id, Some(body))));
            if handed.rows.is_empty() {
                self.waiting.pop_front();
            }
        }
        rows
    }
}

use crate::now_ms;

/// A batch claimed, decided and sealed, not yet written.
struct Decided {
    started: Instant,
    rows: Vec<(i64, Option<Vec<u8>>)>,
    plan: Plan,
    sealed: SealedBatch,
    /// Conversations whose decided states are in the cache ahead of the commit.
    touched: Vec<String>,
    /// Milliseconds from `started` to the end of routing, deciding and sealing.
    prepared_ms: [f64; 3],
}

/// Milliseconds since `started` (the batch's debug line: where its time went).
fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// What a batch turned its rows into.
#[derive(Debug, Default)]
struct Plan {
    /// Rows finished by this batch (deleted in its transaction).
    done: Vec<i64>,
    /// Rows to try again soon (a tenant not projected yet).
    later: Vec<i64>,
    /// Commands by conversation (aggregate id), in order of first appearance.
    groups: Vec<(String, Vec<Inbound>)>,
}

impl InboxWorker {
    pub fn new(
        db: Db,
        master: MasterKey,
        repository: EventRepository,
        tenants: TenantSources,
        config: IngressConfig,
        signal: Arc<Notify>,
    ) -> Self {
        Self {
            subjects: SqlSubjectDirectory::new(db.clone(), master.clone()),
            repository,
            db,
            master,
            tenants,
            config,
            limits: Mutex::new(RateLimits::default()),
            conversations: Mutex::new(ConversationCache::default()),
            signal,
            handoff: None,
            handed: None,
            look_in_table: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Claims rows for `claim_for` instead (before [`Self::with_handed`]).
    pub fn claiming_for(mut self, claim_for: Duration) -> Self {
        self.config.claim_for = claim_for;
        self
    }

    /// Takes the rows `inbox` hands over, claimed for this worker's `claim_for`, before
    /// claiming any from the table (one worker per process: a later call moves the hand-over).
    pub fn with_handed(mut self, inbox: &WebhookInbox) -> Self {
        let inbox = inbox.hand_over(self.config.claim_for);
        self.handed = Some(tokio::sync::Mutex::new(HandedRows {
            receiver: inbox.rows,
            waiting: VecDeque::new(),
        }));
        self.look_in_table = inbox.stored_unclaimed;
        self
    }

    /// Queues and claims the replies of each batch in its transaction and hands them to this
    /// process's dispatcher ([`Handoff`]); without it, the outbound projector queues them and
    /// the dispatcher claims them.
    pub fn with_handoff(mut self, handoff: Option<Handoff>) -> Self {
        self.handoff = handoff;
        self
    }

    /// Runs until `cancel`, waking when the inbox hands rows over or stores some unclaimed (or
    /// every second).
    /// Pipelined: while one batch is inserted and committed, the next one is claimed, parsed,
    /// decided (on top of the first one's states) and sealed. It is committed only if the first
    /// one was; otherwise it is discarded and decided again.
    pub async fn run(self, cancel: CancellationToken) {
        let mut next: Option<Decided> = None;
        while !cancel.is_cancelled() {
            let current = match next.take() {
                Some(decided) => Ok(Some(decided)),
                None => self.prepare().await,
            };
            let failed = match current {
                Ok(None) => {
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        // (Rows stored unclaimed: the inbox has set `look_in_table`.)
                        _ = self.signal.notified() => {}
                        _ = self.handed_arrival() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {
                            self.look_in_table.store(true, Ordering::Release)
                        }
                    }
                    continue;
                }
                Ok(Some(decided)) => {
                    let (committed, upcoming) = tokio::join!(self.commit(decided), self.prepare());
                    match (committed, upcoming) {
                        (Ok(_), Ok(upcoming)) => {
                            next = upcoming;
                            false
                        }
                        (Ok(_), Err(error)) | (Err(error), Ok(None)) => self.failed(&error),
                        (Err(error), upcoming) => {
                            // The next batch was decided on top of this one: decide it again.
                            if let Ok(Some(upcoming)) = upcoming {
                                self.discard(upcoming).await;
                            }
                            self.failed(&error)
                        }
                    }
                }
                Err(error) => self.failed(&error),
            };
            if failed {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
        if let Some(decided) = next {
            self.discard(decided).await;
        }
        self.give_back_handed().await;
    }

    /// Waits until the inbox hands over rows (never, without a hand-over).
    async fn handed_arrival(&self) {
        let Some(handed) = &self.handed else {
            return std::future::pending().await;
        };
        let mut handed = handed.lock().await;
        match handed.receiver.recv().await {
            Some(rows) => handed.waiting.push_back(rows),
            None => {
                drop(handed);
                std::future::pending::<()>().await
            }
        }
    }

    /// At shutdown: releases the claims of rows handed over and not processed, so another
    /// process takes them at once rather than when their claims expire.
    async fn give_back_handed(&self) {
        let Some(handed) = &self.handed else {
            return;
        };
        let rows = {
            let mut handed = handed.lock().await;
            handed.receiver.close();
            handed.take(usize::MAX, 0)
        };
        if !rows.is_empty() {
            self.release(&rows).await;
        }
    }

    /// Logs a failed batch; whether to pause before the next (a conflict is retried at once).
    fn failed(&self, error: &IngressError) -> bool {
        if matches!(error, IngressError::Conflict) {
            return false;
        }
        tracing::error!(error = %lyo_application::error_chain(error), "inbox batch failed; retrying");
        true
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

    /// One batch; returns how many inbox rows it handled (0: nothing pending).
    async fn drain_once(&self) -> Result<usize, IngressError> {
        let mut attempts = 1;
        loop {
            self.look_in_table.store(true, Ordering::Release);
            let result = match self.prepare().await? {
                None => return Ok(0),
                Some(decided) => self.commit(decided).await,
            };
            match result {
                Err(IngressError::Conflict) if attempts < CONFLICT_ATTEMPTS => attempts += 1,
                other => return other,
            }
        }
    }

    /// Claims, plans, decides and seals a batch; `None` when nothing is pending. The decided
    /// states go into the cache at once (so a pipelined next batch builds on them) and are
    /// forgotten again if the batch does not commit.
    async fn prepare(&self) -> Result<Option<Decided>, IngressError> {
        let started = Instant::now();
        let rows = self.take().await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut prepared_ms = [0.0; 3];
        let decided = async {
            let plan = self.plan(&rows).await?;
            prepared_ms[0] = ms_since(started);
            let (events, loaded) = self.decide_all(&plan.groups).await?;
            prepared_ms[1] = ms_since(started);
            let sealed = self.repository.seal_batch(events).await?;
            prepared_ms[2] = ms_since(started);
            Ok::<_, IngressError>((plan, sealed, loaded))
        }
        .await;
        let (plan, sealed, loaded) = match decided {
            Ok(decided) => decided,
            Err(error) => {
                self.release(&rows).await;
                return Err(error);
            }
        };
        let mut touched = Vec::with_capacity(loaded.len());
        if let Ok(mut cache) = self.conversations.lock() {
            for (id, state) in loaded {
                touched.push(id.clone());
                cache.put(id, state);
            }
        }
        Ok(Some(Decided {
            started,
            rows,
            plan,
            sealed,
            touched,
            prepared_ms,
        }))
    }

    /// Inserts a decided batch's events and deletes its rows in one transaction; returns how
    /// many rows it handled.
    async fn commit(&self, decided: Decided) -> Result<usize, IngressError> {
        let Decided {
            started,
            rows,
            plan,
            sealed,
            touched,
            prepared_ms,
        } = decided;
        // From `started`: the commit began, the events were inserted, the queue rows written.
        let mut committing_ms = [ms_since(started), 0.0, 0.0];
        let result = async {
            let mut tx = self.db.begin().await?;
            self.repository
                .insert_sealed::<Conversation>(&mut tx, &sealed)
                .await?;
            committing_ms[1] = ms_since(started);
            // The rows of the queue are written after the events they come from.
            let queued = match (&self.handoff, &mut tx) {
                (Some(handoff), DbTx::Postgres(pg)) => handoff.queue(pg, sealed.events()).await?,
                _ => Queued::default(),
            };
            committing_ms[2] = ms_since(started);
            finish_rows(&mut tx, &plan.done, &plan.later).await?;
            tx.commit().await?;
            Ok::<_, IngressError>(queued)
        }
        .await;
        let Queued { handed, complete } = match result {
            Ok(queued) => queued,
            Err(error) => {
                self.forget(&touched);
                self.release(&rows).await;
                return Err(error);
            }
        };
        if let (Some(handoff), Some(handed)) = (&self.handoff, handed) {
            handoff.hand(&self.db, handed).await;
        }
        self.repository
            .appended(Conversation::TYPE, &sealed.event_types(), complete, started);
        tracing::debug!(
            rows = rows.len(),
            events = sealed.len(),
            ms = started.elapsed().as_millis() as u64,
            prepared_ms = ?prepared_ms,
            committing_ms = ?committing_ms,
            "inbox batch"
        );
        metrics::counter!("lyo_inbox_processed_total").increment(plan.done.len() as u64);
        metrics::histogram!("lyo_inbox_batch_rows").record(rows.len() as f64);
        Ok(rows.len())
    }

    /// Drops a decided batch that must not commit: its rows go back, its states are forgotten.
    async fn discard(&self, decided: Decided) {
        self.forget(&decided.touched);
        self.release(&decided.rows).await;
    }

    fn forget(&self, conversations: &[String]) {
        if let Ok(mut cache) = self.conversations.lock() {
            for id in conversations {
                cache.forget(id);
            }
        }
    }

    /// Gives claimed rows back at once (after a crash, their claims expire).
    async fn release(&self, rows: &[(i64, Option<Vec<u8>>)]) {
        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        if let Err(error) = release_rows(&self.db, &ids).await {
            tracing::warn!(error = %error, "could not release claimed inbox rows");
        }
        self.look_in_table.store(true, Ordering::Release);
    }

    /// Loads every conversation of the batch once and decides its commands; returns the events
    /// to append and the states after them.
    async fn decide_all(
        &self,
        groups: &[(String, Vec<Inbound>)],
    ) -> Result<(Vec<SerializedEvent>, Vec<(String, Loaded)>), IngressError> {
        let mut loaded: Vec<(String, Loaded)> = match self.conversations.lock() {
            Ok(mut cache) => groups
                .iter()
                .map(|(id, _)| (id.clone(), cache.take(id)))
                .collect(),
            Err(_) => groups
                .iter()
                .map(|(id, _)| (id.clone(), Loaded::default()))
                .collect(),
        };
        self.catch_up(&mut loaded).await?;
        let mut events = Vec::new();
        for ((id, inbound), (_, conversation)) in groups.iter().zip(loaded.iter_mut()) {
            let mut inbound = std::borrow::Cow::Borrowed(inbound.as_slice());
            let decided = loop {
                match decide(&mut conversation.state, &inbound).await {
                    Ok(decided) => break decided,
                    Err(rejected) => {
                        // A refused command is not retried: record why, drop it, and decide the
                        // rest again on a freshly loaded state (the refused one may have
                        // changed it).
                        metrics::counter!("lyo_inbox_commands_rejected_total").increment(1);
                        tracing::warn!(error = ?rejected.error, conversation = %id, "a conversation command was refused");
                        inbound.to_mut().remove(rejected.index);
                        let mut fresh = vec![(id.clone(), Loaded::default())];
                        self.catch_up(&mut fresh).await?;
                        if let Some((_, state)) = fresh.pop() {
                            *conversation = state;
                        }
                    }
                }
            };
            let n = decided.len();
            events.extend(
                decide::serialize(id, conversation.version, decided)
                    .map_err(IngressError::Corrupt)?,
            );
            conversation.version += n;
        }
        Ok((events, loaded))
    }

    /// Applies what each stream gained after its loaded version (all of it for a cold one).
    async fn catch_up(&self, loaded: &mut [(String, Loaded)]) -> Result<(), IngressError> {
        let positions: Vec<StreamPosition> = loaded
            .iter()
            .map(|(id, state)| StreamPosition {
                aggregate_id: id.clone(),
                after: state.version,
            })
            .collect();
        let newer = self
            .repository
            .events_after::<Conversation>(&self.db, &positions)
            .await
            .map_err(IngressError::Persistence)?;
        if newer.is_empty() {
            return Ok(());
        }
        let index: HashMap<&str, usize> = positions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.aggregate_id.as_str(), i))
            .collect();
        for event in newer {
            if let Some(&i) = index.get(event.aggregate_id.as_str()) {
                loaded[i]
                    .1
                    .apply_stored(event)
                    .map_err(IngressError::Corrupt)?;
            }
        }
        Ok(())
    }

    /// The next rows to process: claimed from the table when it may hold some (they are the
    /// older ones), else those handed over.
    async fn take(&self) -> Result<Vec<(i64, Option<Vec<u8>>)>, sqlx::Error> {
        let limit = self.config.batch as usize;
        let Some(handed) = &self.handed else {
            return self.claim().await;
        };
        if self.look_in_table.swap(false, Ordering::AcqRel) {
            let claimed = self.claim().await;
            if claimed.as_ref().map_or(true, |rows| rows.len() >= limit) {
                // Failed, or more may be waiting: look again next time.
                self.look_in_table.store(true, Ordering::Release);
            }
            if !matches!(&claimed, Ok(rows) if rows.is_empty()) {
                return claimed;
            }
        }
        let claim_ms = i64::try_from(self.config.claim_for.as_millis()).unwrap_or(i64::MAX);
        Ok(handed.lock().await.take(limit, claim_ms))
    }

    /// Rows pending and not claimed, claimed for `claim_for` by a statement of their own.
    /// Not by locking them in the batch's transaction: a transaction that holds a
    /// transaction id while its batch is decided holds back the read horizon of every
    /// projector (`SqlEventLog`), so everything committed meanwhile would wait for it.
    async fn claim(&self) -> Result<Vec<(i64, Option<Vec<u8>>)>, sqlx::Error> {
        let now = now_ms();
        let until =
            now.saturating_add(i64::try_from(self.config.claim_for.as_millis()).unwrap_or(60_000));
        let taken = self.db.claim_condition(
            "id",
            "FROM webhook_inbox
              WHERE processed_at IS NULL
                AND (claimed_until_ms IS NULL OR claimed_until_ms < $1)
              ORDER BY id LIMIT $3",
        );
        let claim = format!(
            "UPDATE webhook_inbox SET claimed_until_ms = $2 WHERE {taken} RETURNING id, body_sealed"
        );
        let batch = i64::from(self.config.batch);
        let mut rows: Vec<(i64, Option<Vec<u8>>)> =
            fetch!(&self.db, fetch_all, &claim, now, until, batch)?;
        rows.sort_by_key(|(id, _)| *id);
        Ok(rows)
    }
}

/// Deletes the finished rows (their bodies, personal data, go with them) and defers the rest.
async fn finish_rows(tx: &mut DbTx, done: &[i64], later: &[i64]) -> Result<(), sqlx::Error> {
    let soon = now_ms().saturating_add(RETRY_MS);
    match tx {
        DbTx::Postgres(tx) => {
            if !done.is_empty() {
                sqlx::query("DELETE FROM webhook_inbox WHERE id = ANY($1)")
                    .bind(done)
                    .execute(&mut **tx)
                    .await?;
            }
            if !later.is_empty() {
                sqlx::query("UPDATE webhook_inbox SET claimed_until_ms = $2 WHERE id = ANY($1)")
                    .bind(later)
                    .bind(soon)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        DbTx::Sqlite(tx) => {
            for chunk in done.chunks(500) {
                let sql = format!("DELETE FROM webhook_inbox WHERE id IN ({})", list(chunk));
                sqlx::query(&sql).execute(&mut **tx).await?;
            }
            for chunk in later.chunks(500) {
                let sql = format!(
                    "UPDATE webhook_inbox SET claimed_until_ms = {soon} WHERE id IN ({})",
                    list(chunk)
                );
                sqlx::query(&sql).execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
}

async fn release_rows(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE webhook_inbox SET claimed_until_ms = NULL WHERE id IN ({})",
            list(chunk)
        );
        db.execute(&sql, &[]).await?;
    }
    Ok(())
}

/// Integers as an SQL list (ids only, never user input).
fn list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn handed(ids: std::ops::Range<i64>, claimed_until_ms: i64) -> ClaimedBatch {
        ClaimedBatch {
            rows: ids.map(|id| (id, vec![id as u8])).collect(),
            claimed_until_ms,
        }
    }

    #[tokio::test]
    async fn handed_rows_are_taken_in_order_up_to_the_limit_skipping_stale_claims() {
        let (sender, receiver) = mpsc::channel(4);
        let mut rows = HandedRows {
            receiver,
            waiting: VecDeque::new(),
        };
        let claim_ms = 10_000;
        let now = now_ms();
        sender.send(handed(1..4, now + claim_ms)).await.unwrap();
        // Claimed long ago: more than half of its claim is used.
        sender.send(handed(4..6, now + claim_ms / 4)).await.unwrap();
        sender.send(handed(6..8, now + claim_ms)).await.unwrap();
        let ids = |taken: Vec<(i64, Option<Vec<u8>>)>| -> Vec<i64> {
            taken.into_iter().map(|(id, _)| id).collect()
        };
        assert_eq!(ids(rows.take(2, claim_ms)), [1, 2]);
        assert_eq!(ids(rows.take(10, claim_ms)), [3, 6, 7]);
        assert!(rows.take(10, claim_ms).is_empty());
    }
}
