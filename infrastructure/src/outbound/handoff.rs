//! Replies handed over (ADR 0010), on Postgres: the inbox worker writes the queue rows of the
//! replies it decides in the transaction that appends them, claims them there for this
//! process's dispatcher, and after the commit hands them over in memory with what the
//! dispatcher would otherwise read (the sealed reply, the customer). The projector pass and
//! the dispatcher's claim are then off the path from a customer's message to the reply.
//!
//! A reply that is not claimed there (the customer's earlier reply is still pending, the
//! tenant is on hold) or not handed over (the dispatcher stopped, its queue is full) is claimed
//! like any other. A handed-over claim of a process that dies expires like any other.

use super::dispatcher::Prefetched;
use super::queue::{signal, write_queued, Written};
use super::store::{self, Claimed, CustomerRow};
use crate::db::Db;
use crate::now_ms;
use cqrs_es::persist::SerializedEvent;
use lyo_application::outbound::policy::millis;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Batches waiting for the dispatcher; beyond this the inbox worker ends its claims instead.
const WAITING: usize = 64;

/// The inbox worker's side: writes, claims, and hands over. Cheap to clone.
#[derive(Clone)]
pub struct Handoff {
    sender: mpsc::Sender<Handed>,
    owner: String,
    claim_for: Duration,
    /// Replies claimed per batch at most (`LYO_OUTBOUND_BATCH` × `LYO_OUTBOUND_WORKERS`).
    limit: i64,
    /// Some replies were left to the dispatcher's own claim since a handed batch last finished:
    /// the next one to finish wakes a worker (a customer's next reply may be claimable then).
    left: Arc<AtomicBool>,
}

/// What the inbox worker's transaction wrote to the queue.
#[derive(Default)]
pub(crate) struct Queued {
    /// The replies it claimed, to hand over once it committed.
    pub(crate) handed: Option<Handed>,
    /// It wrote every row the outbound queue's projector would write for its events: the
    /// projector is not woken for them (`Appended::Events`) and applies them, changing nothing,
    /// at its idle wait or with the next append that wakes it.
    pub(crate) complete: bool,
}

/// Replies claimed in the inbox worker's transaction, for the dispatcher once it committed.
pub(crate) struct Handed {
    pub(super) claimed: Vec<Claimed>,
    pub(super) prefetched: Prefetched,
}

/// The dispatcher's side of a [`Handoff`].
pub(super) struct Taken {
    pub(super) receiver: mpsc::Receiver<Handed>,
    pub(super) left: Arc<AtomicBool>,
}

impl Taken {
    /// After a handed batch was sent: wakes a worker if replies were left to its claim.
    pub(super) fn finished(&self) {
        if self.left.swap(false, Ordering::Relaxed) {
            signal().notify_one();
        }
    }
}

impl Handed {
    /// Ends the batch's claims at once, so that the dispatcher's workers can claim its replies.
    pub(super) async fn end_claims(&self, db: &Db) {
        let ids: Vec<&str> = self.claimed.iter().map(|c| c.reply_id.as_str()).collect();
        let ended = async {
            let mut tx = db.begin().await?;
            store::end_claims(&mut tx, &ids).await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = ended {
            // They expire by themselves.
            tracing::warn!(%error, "cannot end the claims of replies handed over");
        }
        signal().notify_one();
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    claimed: Claimed,
    #[sqlx(flatten)]
    customer: CustomerRow,
}

impl Handoff {
    pub(super) fn channel(owner: String, claim_for: Duration, limit: u32) -> (Self, Taken) {
        let (sender, receiver) = mpsc::channel(WAITING);
        let left = Arc::new(AtomicBool::new(false));
        let handoff = Handoff {
            sender,
            owner,
            claim_for,
            limit: limit.max(1).into(),
            left: left.clone(),
        };
        (handoff, Taken { receiver, left })
    }

    /// Writes the queue rows of the conversations that queued a reply among `events`, which
    /// the caller has just inserted in `pg`, and claims their replies (no `handed` when they
    /// queued none). Nothing is claimed unless the transaction commits; then pass the
    /// handed replies to [`Self::hand`].
    pub(crate) async fn queue(
        &self,
        pg: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        events: &[SerializedEvent],
    ) -> Result<Queued, sqlx::Error> {
        // More replies than the dispatcher's workers take at once: a backlog, where nobody
        // waits for the next reply and the projector and the claim, in large batches, cost
        // less than writing the rows twice.
        let queued = events.iter().filter(|e| e.event_type == "ReplyQueued");
        if i64::try_from(queued.count()).unwrap_or(i64::MAX) > self.limit {
            return Ok(Queued::default());
        }
        let Written { replies, complete } = write_queued(pg, events).await?;
        if replies.is_empty() {
            return Ok(Queued {
                handed: None,
                complete,
            });
        }
        let now = now_ms();
        let claimed_until = now.saturating_add(millis(self.claim_for));
        let rows: Vec<ClaimedRow> =
            sqlx::query_as("SELECT * FROM lyo_claim_queued($1, $2, $3, $4, $5)")
                .bind(&replies)
                .bind(claimed_until)
                .bind(&self.owner)
                .bind(now)
                .bind(self.limit)
                .fetch_all(&mut **pg)
                .await?;
        if rows.len() < replies.len() {
            self.left.store(true, Ordering::Relaxed);
        }
        // The sealed replies, as the dispatcher would read them from the store.
        let queued: HashMap<(&str, i64), &serde_json::Value> = events
            .iter()
            .filter(|e| e.event_type == "ReplyQueued")
            .filter_map(|e| {
                let sequence = i64::try_from(e.sequence).ok()?;
                Some(((e.aggregate_id.as_str(), sequence), &e.payload))
            })
            .collect();
        let mut payloads = HashMap::with_capacity(rows.len());
        let mut customers = HashMap::with_capacity(rows.len());
        let mut claimed = Vec::with_capacity(rows.len());
        for ClaimedRow {
            claimed: row,
            customer,
        } in rows
        {
            if let Some(payload) = queued.get(&(row.subject_id.as_str(), row.event_sequence)) {
                let key = (row.subject_id.clone(), row.event_sequence);
                payloads.insert(key, (*payload).clone());
            }
            customers.insert(row.subject_id.clone(), customer);
            claimed.push(row);
        }
        Ok(Queued {
            handed: Some(Handed {
                claimed,
                prefetched: Prefetched::handed(payloads, customers, claimed_until),
            }),
            complete,
        })
    }

    /// Hands committed claims to the dispatcher. When it cannot take them, the claims end at
    /// once and its workers are woken to claim the replies themselves.
    pub(crate) async fn hand(&self, db: &Db, handed: Handed) {
        // Replies left to the claim wait for an earlier one of their customer (whose sender
        // claims again, or finishes a handed batch and wakes a worker: `Taken::finished`) or
        // for a tenant's hold to end (the first worker's poll).
        if handed.claimed.is_empty() {
            return;
        }
        if let Err(refused) = self.sender.try_send(handed) {
            let handed = match refused {
                mpsc::error::TrySendError::Full(h) | mpsc::error::TrySendError::Closed(h) => h,
            };
            handed.end_claims(db).await;
        }
    }
}
