//! Wake-ups for readers of the event log.
//!
//! Every append bumps an in-process `watch` counter at once. On Postgres it also asks a
//! background task to `NOTIFY lyo_events` *after* the append committed (coalescing bursts into
//! one notification), and a listener turns notifications from any process into bumps. NOTIFY is
//! deliberately not sent inside the append transaction: Postgres serialises the commits of all
//! notifying transactions on one global lock, which would cap the append rate.

use crate::db::Db;
use sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "lyo_events";

#[derive(Clone, Debug)]
pub struct AppendSignal {
    local: watch::Sender<u64>,
    remote: Option<Arc<Notify>>,
}

impl AppendSignal {
    /// Starts the Postgres notifier and listener (none on SQLite); they stop with `cancel`.
    pub fn start(db: &Db, cancel: CancellationToken) -> Self {
        let (local, _) = watch::channel(0);
        let remote = match db {
            Db::Postgres(pool) => {
                let wanted = Arc::new(Notify::new());
                tokio::spawn(notifier(pool.clone(), wanted.clone(), cancel.clone()));
                tokio::spawn(listener(pool.clone(), local.clone(), cancel));
                Some(wanted)
            }
            Db::Sqlite(_) => None,
        };
        Self { local, remote }
    }

    /// Called after events were committed.
    pub fn appended(&self) {
        bump(&self.local);
        if let Some(remote) = &self.remote {
            remote.notify_one();
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.local.subscribe()
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|n| *n = n.wrapping_add(1));
}

async fn notifier(pool: sqlx::PgPool, wanted: Arc<Notify>, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wanted.notified() => {}
        }
        let sent = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            // Readers still wake on their idle timeout; nothing is lost.
            tracing::warn!(error = %error, "could not notify other processes of new events");
        }
    }
}

async fn listener(pool: sqlx::PgPool, local: watch::Sender<u64>, cancel: CancellationToken) {
    while !cancel.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for new events; retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %error, "LISTEN failed; retrying");
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
            }
        }
        // Anything may have been appended while we were not listening.
        bump(&local);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(_)) => bump(&local),
                    // Connection lost: reconnect and wake readers.
                    Ok(None) => { bump(&local); }
                    Err(error) => {
                        tracing::warn!(error = %error, "event listener failed; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}
