//! The reminder scheduler: one loop per `lyo serve` process that claims due reminders, asks
//! each customer's `Conversation` to remind (`RemindOf`), and marks the rows.
//!
//! Claiming: on Postgres the due rows are selected `FOR UPDATE SKIP LOCKED` in a transaction
//! that stays open until the rows are marked, so several processes share the work and a crash
//! rolls the claim back. SQLite has one writer and no row locks: the rows are claimed with a
//! `claimed_until_ms` that expires, and marked in a short transaction afterwards.
//!
//! Crash safety: the command is issued before the row is marked. A crash (or a failure) in
//! between leaves the row pending; it is claimed again and the command, keyed by the reminder
//! id, changes nothing. The row is marked only if it still carries the claimed reminder id and
//! is pending, so a move or a cancellation the projector wrote meanwhile wins.

use crate::db::{fetch, Arg, Db};
use crate::event_store::EventRepository;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, CqrsFramework};
use jiff::Timestamp;
use lyo_application::booking::dialogue_context;
use lyo_application::metadata::{Actor, EventMetadata};
use lyo_application::reminders::{triage, Due, Verdict, SCHEDULER};
use lyo_application::tenants::TenantConfigs;
use lyo_domain::conversation::{Conversation, ConversationCommand};
use lyo_domain::ids::{AppointmentId, TenantId};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How often to look for due reminders.
    pub interval: Duration,
    /// Reminders claimed per transaction.
    pub batch: u32,
    /// How long a SQLite claim keeps other processes away (Postgres locks rows).
    pub claim_for: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the conversation store failed: {0}")]
    Store(String),
    #[error(transparent)]
    Configs(#[from] lyo_application::event_log::StoreError),
    #[error("a stored reminder row is unreadable")]
    Corrupt,
}

type Conversations =
    CqrsFramework<Conversation, PersistedEventStore<EventRepository, Conversation>>;

pub struct ReminderScheduler {
    db: Db,
    conversations: Conversations,
    configs: Arc<dyn TenantConfigs>,
    config: SchedulerConfig,
}

/// A claimed row.
struct Claimed {
    appointment_id: String,
    offset_minutes: i64,
    reminder_id: String,
    tenant_id: String,
    subject_id: String,
    due: Due,
}

type Row = (String, i64, String, String, String, i64, i64);

/// Claims due rows until `$3` with a statement of its own (`Db::claim_condition`, so that
/// schedulers take different rows). Not by locking them in a transaction held open while the
/// conversations are commanded: a transaction holding an id holds back every projector's read
/// horizon (`SqlEventLog`).
const CLAIM: &str = "
UPDATE reminders SET claimed_until_ms = $3
 WHERE {rows}
RETURNING appointment_id, offset_minutes, reminder_id, tenant_id, subject_id, starts_at_ms, due_at_ms";
/// The rows [`CLAIM`] takes.
const DUE: &str = "FROM reminders
         WHERE state = 'pending' AND due_at_ms <= $1
           AND (claimed_until_ms IS NULL OR claimed_until_ms < $1)
         ORDER BY due_at_ms LIMIT $2";
const MARK_SENT: &str = "
UPDATE reminders SET state = 'sent', sent_at_ms = $4, claimed_until_ms = NULL
 WHERE appointment_id = $1 AND offset_minutes = $2 AND reminder_id = $3 AND state = 'pending'";
const MARK_DROPPED: &str = "
UPDATE reminders SET state = 'dropped', reason = $4, claimed_until_ms = NULL
 WHERE appointment_id = $1 AND offset_minutes = $2 AND reminder_id = $3 AND state = 'pending'";
const UNCLAIM: &str = "
UPDATE reminders SET claimed_until_ms = NULL
 WHERE appointment_id = $1 AND offset_minutes = $2 AND reminder_id = $3";

/// Attempts of a command that keeps losing optimistic-concurrency races (the inbox worker
/// and the booking process manager write to the same conversations).
const CONFLICT_RETRIES: u32 = 20;

impl ReminderScheduler {
    pub fn new(
        db: Db,
        repository: EventRepository,
        configs: Arc<dyn TenantConfigs>,
        config: SchedulerConfig,
    ) -> Self {
        Self {
            db,
            conversations: CqrsFramework::new(
                PersistedEventStore::new_event_store(repository),
                vec![],
                (),
            ),
            configs,
            config,
        }
    }

    /// Runs until `cancel`: sends what is due every `interval`.
    pub async fn run(self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            if let Err(error) = self.send_due(Timestamp::now()).await {
                tracing::error!(error = %lyo_application::error_chain(&error), "reminder batch failed; retrying");
            }
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(self.config.interval) => {}
            }
        }
    }

    /// Sends every reminder due at `now` (the clock is a parameter so tests can move it);
    /// returns how many rows were settled (sent or dropped).
    pub async fn send_due(&self, now: Timestamp) -> Result<usize, SchedulerError> {
        let mut total = 0;
        loop {
            let (claimed, settled) = self.batch(now).await?;
            total += settled;
            // A short batch means nothing more is due; rows left pending (a tenant not
            // projected yet) wait for the next round rather than being claimed again at once.
            if claimed < self.config.batch as usize || settled < claimed {
                return Ok(total);
            }
        }
    }

    /// One batch: claim, triage, command, mark. Returns how many rows were claimed and how many
    /// of them settled (sent or dropped).
    async fn batch(&self, now: Timestamp) -> Result<(usize, usize), SchedulerError> {
        let now_ms = now.as_millisecond();
        let limit = i64::from(self.config.batch);
        let until = now_ms
            .saturating_add(i64::try_from(self.config.claim_for.as_millis()).unwrap_or(60_000));
        let claim = CLAIM.replace(
            "{rows}",
            &self
                .db
                .claim_condition("appointment_id, offset_minutes", DUE),
        );
        let rows: Vec<Row> = fetch!(&self.db, fetch_all, &claim, now_ms, limit, until)?;
        if rows.is_empty() {
            return Ok((0, 0));
        }
        let claimed = rows
            .into_iter()
            .map(claimed)
            .collect::<Result<Vec<_>, _>>()?;
        let due: Vec<Due> = claimed.iter().map(|c| c.due.clone()).collect();
        let verdicts = triage(&due, now);
        let mut marks = Vec::with_capacity(claimed.len());
        for (c, verdict) in claimed.iter().zip(verdicts) {
            let result = match verdict {
                Verdict::Send => self.remind(c, now).await,
                _ => Ok(true),
            };
            match result {
                Ok(true) => marks.push((c, verdict)),
                // The tenant's configuration is not projected yet: try again later.
                Ok(false) => {}
                Err(error) => {
                    self.unclaim(&claimed).await;
                    return Err(error);
                }
            }
        }
        let mut tx = self.db.begin().await?;
        for (c, verdict) in &marks {
            let (sql, last) = match verdict {
                Verdict::Send => (MARK_SENT, Arg::I64(now_ms)),
                other => (
                    MARK_DROPPED,
                    Arg::Text(other.reason().unwrap_or("dropped").into()),
                ),
            };
            let args = [
                Arg::Text(c.appointment_id.clone()),
                Arg::I64(c.offset_minutes),
                Arg::Text(c.reminder_id.clone()),
                last,
            ];
            tx.execute(sql, &args).await?;
            let result = if *verdict == Verdict::Send {
                "sent"
            } else {
                "dropped"
            };
            metrics::counter!("lyo_reminders_total", "result" => result).increment(1);
        }
        tx.commit().await?;
        if marks.len() < claimed.len() {
            // Left pending: free them for the next round at once.
            self.unclaim(&claimed).await;
        }
        Ok((claimed.len(), marks.len()))
    }

    /// Asks the conversation to remind; false when the tenant is not known (yet).
    async fn remind(&self, c: &Claimed, now: Timestamp) -> Result<bool, SchedulerError> {
        let tenant: TenantId = c.tenant_id.parse().map_err(|_| SchedulerError::Corrupt)?;
        let Some(config) = self.configs.get(tenant).await? else {
            tracing::warn!(%tenant, "a due reminder of a tenant without configuration; later");
            return Ok(false);
        };
        let reminder_id: Uuid = c.reminder_id.parse().map_err(|_| SchedulerError::Corrupt)?;
        let command = ConversationCommand::RemindOf {
            reminder_id,
            appointment_id: c.due.appointment_id,
            now,
            context: Box::new(dialogue_context(&config)),
        };
        let metadata = EventMetadata {
            tenant_id: tenant,
            actor: Actor::system(SCHEDULER),
            correlation_id: c.reminder_id.clone(),
            causation_id: None,
            request_id: None,
        }
        .to_map();
        for attempt in 0..CONFLICT_RETRIES {
            match self
                .conversations
                .execute_with_metadata(&c.subject_id, command.clone(), metadata.clone())
                .await
            {
                Ok(()) => {
                    tracing::debug!(reminder = %reminder_id, appointment = %c.due.appointment_id, "reminder decided");
                    return Ok(true);
                }
                Err(AggregateError::AggregateConflict) => {
                    tokio::time::sleep(Duration::from_millis(2 + u64::from(attempt) * 3)).await;
                }
                Err(other) => return Err(SchedulerError::Store(other.to_string())),
            }
        }
        Err(SchedulerError::Store("still conflicting".into()))
    }

    /// Gives claims back at once (after a crash, they expire).
    async fn unclaim(&self, claimed: &[Claimed]) {
        for c in claimed {
            let args = [
                Arg::Text(c.appointment_id.clone()),
                Arg::I64(c.offset_minutes),
                Arg::Text(c.reminder_id.clone()),
            ];
            if let Err(error) = self.db.execute(UNCLAIM, &args).await {
                tracing::warn!(error = %error, "could not release a reminder claim");
            }
        }
    }
}

fn claimed(row: Row) -> Result<Claimed, SchedulerError> {
    let (appointment_id, offset_minutes, reminder_id, tenant_id, subject_id, starts, due) = row;
    let ts = |ms: i64| Timestamp::from_millisecond(ms).map_err(|_| SchedulerError::Corrupt);
    let id: AppointmentId = appointment_id
        .parse()
        .map_err(|_| SchedulerError::Corrupt)?;
    let reminder: Uuid = reminder_id.parse().map_err(|_| SchedulerError::Corrupt)?;
    Ok(Claimed {
        due: Due {
            appointment_id: id,
            reminder_id: reminder,
            starts_at: ts(starts)?,
            due_at: ts(due)?,
        },
        appointment_id,
        offset_minutes,
        reminder_id,
        tenant_id,
        subject_id,
    })
}
