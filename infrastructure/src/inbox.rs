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
//! See `docs/adr/0005-webhook-inbox.md`.

use crate::db::Db;
use crate::pii::MasterKey;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Rows per transaction at most.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for a writer at most; beyond that `store` waits for room.
const QUEUE: usize = 4096;
/// What sealed inbox bodies are bound to (the benchmark's verifier opens them too).
pub const INBOX_AAD: &[u8] = b"lyo:webhook-inbox:v1";

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
}

impl WebhookInbox {
    /// Starts the writer task. It stops once every clone of the inbox is dropped and the queue
    /// is drained, so nothing accepted is abandoned.
    /// `stored` is notified after every commit (the inbox worker waits on it).
    pub fn start(db: Db, master: MasterKey, stored: Arc<tokio::sync::Notify>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, receiver, stored));
        Self { queue, master }
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

async fn writer(db: Db, mut receiver: mpsc::Receiver<Pending>, stored: Arc<tokio::sync::Notify>) {
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
        match insert(&db, bodies).await {
            Ok(ids) => {
                stored.notify_one();
                for (done, id) in waiting.into_iter().zip(ids) {
                    let _ = done.send(Ok(id));
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

/// One transaction, one statement: returns the ids in input order.
async fn insert(db: &Db, bodies: Vec<Vec<u8>>) -> Result<Vec<i64>, sqlx::Error> {
    match db {
        Db::Postgres(pool) => {
            sqlx::query_scalar(
                "INSERT INTO webhook_inbox (body_sealed)
                 SELECT body FROM unnest($1::bytea[]) WITH ORDINALITY AS t(body, n) ORDER BY n
                 RETURNING id",
            )
            .bind(bodies)
            .fetch_all(pool)
            .await
        }
        Db::Sqlite(pool) => {
            let placeholders: Vec<String> = (1..=bodies.len()).map(|i| format!("(${i})")).collect();
            let sql = format!(
                "INSERT INTO webhook_inbox (body_sealed) VALUES {} RETURNING id",
                placeholders.join(", ")
            );
            let mut query = sqlx::query_scalar(&sql);
            for body in bodies {
                query = query.bind(body);
            }
            query.fetch_all(pool).await
        }
    }
}
