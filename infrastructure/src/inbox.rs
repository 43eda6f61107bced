//! The durable webhook inbox with group commit.
//!
//! A request hands its verified body to [`WebhookInbox::store`] and waits. One writer task
//! takes everything queued at that moment (up to [`MAX_BATCH`]), inserts it in one transaction
//! and commits, then answers every waiting request. While it commits, the next batch queues,
//! so the commit cost (fsync) is shared by all requests that arrive during it. (Two or four
//! writers committing side by side made smaller batches and cost the database more per
//! delivery: measured on 2026-11-23, two writers acknowledged about a tenth fewer deliveries a
//! second than one, four fewer still; ADR 0005.)
//! A request is answered `Ok` only after its row is committed; if the database fails, every
//! request of that batch gets the error (and Meta a 503, so it retries).
//!
//! Handed over: once this process's inbox worker has asked for it ([`WebhookInbox::hand_over`]),
//! a batch is inserted already claimed for that worker and, after the commit, given to it in
//! memory: the worker neither claims nor reads it back. Only when its channel has room and the
//! bodies are small (else the rows are stored unclaimed and the worker is told to look in the
//! table). A crash loses nothing: the rows are stored, their claims expire and any worker
//! claims them from the table.
//! See `docs/adr/0005-webhook-inbox.md`.

use crate::db::Db;
use crate::now_ms;
use crate::pii::MasterKey;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Rows per transaction at most.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for a writer at most; beyond that `store` waits for room.
const QUEUE: usize = 4096;
/// What sealed inbox bodies are bound to (the benchmark's verifier opens them too).
pub const INBOX_AAD: &[u8] = b"lyo:webhook-inbox:v1";
/// Batches handed over and not yet taken by the worker at most; beyond that the rows wait in
/// the table (a worker behind its inbox reads a backlog from there). Under load the writer
/// commits several small batches while the worker decides one.
const HANDED_BATCHES: usize = 64;
/// A batch whose sealed bodies are larger than this is not handed over (memory).
const HANDED_BYTES: usize = 1 << 20;

/// Inbox rows stored with a claim for this process's worker: `(id, sealed body)`.
#[derive(Debug)]
pub struct ClaimedBatch {
    pub rows: Vec<(i64, Vec<u8>)>,
    /// When the claim ends (ms since the epoch).
    pub claimed_until_ms: i64,
}

/// The worker's side of the hand-over.
pub struct HandedInbox {
    pub rows: mpsc::Receiver<ClaimedBatch>,
    /// Set when a batch was stored unclaimed meanwhile (the channel was full, the bodies
    /// large): the worker should claim from the table.
    pub stored_unclaimed: Arc<AtomicBool>,
}

#[derive(Clone)]
struct HandOver {
    sender: mpsc::Sender<ClaimedBatch>,
    claim_ms: i64,
    stored_unclaimed: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the inbox is not accepting deliveries (shutting down)")]
    Closed,
    #[error("the delivery could not be stored")]
    Database(#[source] Arc<sqlx::Error>),
}

struct Pending {
    sealed: Vec<u8>,
    done: oneshot::Sender<Result<i64, InboxError>>,
}

#[derive(Clone)]
pub struct WebhookInbox {
    queue: mpsc::Sender<Pending>,
    master: MasterKey,
    hand_over: Arc<Mutex<Option<HandOver>>>,
}

impl WebhookInbox {
    /// Starts the writer task. It stops once every clone of the inbox is dropped and the queue
    /// is drained, so nothing accepted is abandoned.
    /// `stored` is notified after every commit of rows not handed over (inbox workers wait on it).
    pub fn start(db: Db, master: MasterKey, stored: Arc<tokio::sync::Notify>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let hand_over = Arc::new(Mutex::new(None));
        tokio::spawn(writer(db, receiver, stored, hand_over.clone()));
        Self {
            queue,
            master,
            hand_over,
        }
    }

    /// From now on, batches are stored claimed for `claim_for` and handed to the returned
    /// receiver (one inbox worker of this process; a later call replaces it). Once the receiver
    /// is dropped, rows are stored unclaimed again.
    pub fn hand_over(&self, claim_for: Duration) -> HandedInbox {
        let (sender, rows) = mpsc::channel(HANDED_BATCHES);
        let claim_ms = i64::try_from(claim_for.as_millis()).unwrap_or(i64::MAX);
        let stored_unclaimed = Arc::new(AtomicBool::new(true));
        if let Ok(mut hand_over) = self.hand_over.lock() {
            *hand_over = Some(HandOver {
                sender,
                claim_ms,
                stored_unclaimed: stored_unclaimed.clone(),
            });
        }
        HandedInbox {
            rows,
            stored_unclaimed,
        }
    }

    /// Stores a verified raw body; returns its inbox id once it is committed.
    pub async fn store(&self, body: &[u8]) -> Result<i64, InboxError> {
        let sealed = self.master.seal_bytes(body, INBOX_AAD);
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Pending { sealed, done })
            .await
            .map_err(|_| InboxError::Closed)?;
        answer.await.map_err(|_| InboxError::Closed)?
    }

    /// Opens a stored body (for the worker that processes the inbox).
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, crate::pii::MasterKeyError> {
        self.master.open_bytes(sealed, INBOX_AAD)
    }
}

async fn writer(
    db: Db,
    mut receiver: mpsc::Receiver<Pending>,
    stored: Arc<tokio::sync::Notify>,
    hand_over: Arc<Mutex<Option<HandOver>>>,
) {
    loop {
        let Some(first) = receiver.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        metrics::histogram!("lyo_inbox_batch_size").record(batch.len() as f64);
        let (bodies, waiting): (Vec<Vec<u8>>, Vec<_>) =
            batch.into_iter().map(|p| (p.sealed, p.done)).unzip();
        let hand_over = hand_over.lock().ok().and_then(|h| h.clone());
        let small = bodies.iter().map(Vec::len).sum::<usize>() <= HANDED_BYTES;
        // A place in the worker's channel, and the claim's end.
        let hand = match &hand_over {
            Some(h) if small => (h.sender.try_reserve().ok())
                .map(|permit| (permit, now_ms().saturating_add(h.claim_ms))),
            _ => None,
        };
        match insert(&db, &bodies, hand.as_ref().map(|(_, until)| *until)).await {
            Ok(ids) => {
                for (done, id) in waiting.into_iter().zip(&ids) {
                    let _ = done.send(Ok(*id));
                }
                match hand {
                    Some((permit, claimed_until_ms)) => permit.send(ClaimedBatch {
                        rows: ids.into_iter().zip(bodies).collect(),
                        claimed_until_ms,
                    }),
                    None => {
                        if let Some(h) = &hand_over {
                            h.stored_unclaimed.store(true, Ordering::Release);
                        }
                        stored.notify_one()
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "could not store webhook deliveries");
                let error = Arc::new(error);
                for done in waiting {
                    let _ = done.send(Err(InboxError::Database(error.clone())));
                }
            }
        }
    }
}

/// One transaction, one statement: returns the ids in input order. The rows are claimed
/// until `claimed_until_ms` when it is given (handed over).
async fn insert(
    db: &Db,
    bodies: &[Vec<u8>],
    claimed_until_ms: Option<i64>,
) -> Result<Vec<i64>, sqlx::Error> {
    match db {
        Db::Postgres(pool) => {
            sqlx::query_scalar(
                "INSERT INTO webhook_inbox (body_sealed, claimed_until_ms)
                 SELECT body, $2 FROM unnest($1::bytea[]) WITH ORDINALITY AS t(body, n)
                  ORDER BY n
                 RETURNING id",
            )
            .bind(bodies)
            .bind(claimed_until_ms)
            .fetch_all(pool)
            .await
        }
        Db::Sqlite(pool) => {
            let placeholders: Vec<String> = (2..=bodies.len() + 1)
                .map(|i| format!("(${i}, $1)"))
                .collect();
            let sql = format!(
                "INSERT INTO webhook_inbox (body_sealed, claimed_until_ms) VALUES {} RETURNING id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar(&sql).bind(claimed_until_ms);
            for body in bodies {
                query = query.bind(body.as_slice());
            }
            query.fetch_all(pool).await
        }
    }
}
