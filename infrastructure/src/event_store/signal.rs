//! Wake-ups for readers of the event log.
//!
//! Every append bumps an in-process `watch` counter at once, and the counters of readers that
//! asked to be woken only by some events ([`Selection`]) when it has one of theirs. On Postgres it also asks a
//! background task to `NOTIFY lyo_events` *after* the append committed (coalescing bursts into
//! one notification), and a listener turns notifications from any process into bumps. NOTIFY is
//! deliberately not sent inside the append transaction: Postgres serialises the commits of all
//! notifying transactions on one global lock, which would cap the append rate.

use super::Selection;
use crate::db::Db;
use sqlx::postgres::PgListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "lyo_events";

#[derive(Clone, Debug)]
pub struct AppendSignal {
    local: Local,
    remote: Option<Arc<Notify>>,
}

/// The in-process counters: one for every append, and one per narrow subscription.
#[derive(Clone, Debug)]
struct Local {
    all: watch::Sender<u64>,
    narrow: Arc<Mutex<Vec<Narrow>>>,
}

#[derive(Debug)]
struct Narrow {
    selection: Selection,
    /// Also woken by appends whose outbound queue rows were written with them.
    by_queued: bool,
    sender: watch::Sender<u64>,
}

/// What an append wrote, as far as the wake-ups are concerned.
#[derive(Debug, Clone, Copy)]
pub enum Appended<'a> {
    /// Events of one aggregate type, with their event types. `queued`: the transaction that
    /// appended them also wrote everything the outbound queue takes from them (the inbox
    /// worker's replies handed over, ADR 0010).
    Events {
        aggregate: &'a str,
        events: &'a [&'a str],
        queued: bool,
    },
    /// Unknown: another process's append.
    Unknown,
}

impl Appended<'_> {
    /// Whether it may hold an event of `selection` that its reader has not seen applied.
    fn concerns(&self, selection: &Selection, by_queued: bool) -> bool {
        match *self {
            Appended::Unknown => true,
            Appended::Events { queued: true, .. } if !by_queued => false,
            Appended::Events {
                aggregate, events, ..
            } => {
                selection.aggregates.contains(&aggregate)
                    || events.iter().any(|e| selection.events.contains(e))
            }
        }
    }
}

impl Local {
    fn bump(&self, appended: Appended) {
        bump(&self.all);
        if let Ok(narrow) = self.narrow.lock() {
            for subscription in narrow.iter() {
                if appended.concerns(&subscription.selection, subscription.by_queued) {
                    bump(&subscription.sender);
                }
            }
        }
    }
}

impl AppendSignal {
    /// Starts the Postgres notifier and listener (none on SQLite); they stop with `cancel`.
    pub fn start(db: &Db, cancel: CancellationToken) -> Self {
        let local = Local {
            all: watch::channel(0).0,
            narrow: Arc::default(),
        };
        let remote = match db {
            Db::Postgres(pool) => {
                let wanted = Arc::new(Notify::new());
                // Our own notifications are skipped: appends here already bumped `local`.
                let me = uuid::Uuid::new_v4().to_string();
                tokio::spawn(notifier(
                    pool.clone(),
                    wanted.clone(),
                    me.clone(),
                    cancel.clone(),
                ));
                tokio::spawn(listener(pool.clone(), local.clone(), me, cancel));
                Some(wanted)
            }
            Db::Sqlite(_) => None,
        };
        Self { local, remote }
    }

    /// Called after events were committed.
    pub fn appended(&self, appended: Appended) {
        self.local.bump(appended);
        if let Some(remote) = &self.remote {
            remote.notify_one();
        }
    }

    /// Changes after every append (here or, on Postgres, in any process).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.local.all.subscribe()
    }

    /// Changes after appends here that may hold events of `selection` (unless `by_queued` is
    /// false and the append also wrote the outbound queue's rows: [`Appended::Events`]), and
    /// after any append elsewhere (another process's notification does not say what it
    /// appended).
    pub fn subscribe_to(&self, selection: Selection, by_queued: bool) -> watch::Receiver<u64> {
        let Ok(mut narrow) = self.narrow_lock() else {
            // A poisoned lock: wake on every append instead (a receiver without a sender
            // would report a change at once, forever, and its reader would spin).
            return self.subscribe();
        };
        let (sender, receiver) = watch::channel(0);
        narrow.retain(|s| s.sender.receiver_count() > 0);
        narrow.push(Narrow {
            selection,
            by_queued,
            sender,
        });
        receiver
    }

    fn narrow_lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Narrow>>, ()> {
        self.local.narrow.lock().map_err(drop)
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|n| *n = n.wrapping_add(1));
}

async fn notifier(pool: sqlx::PgPool, wanted: Arc<Notify>, me: String, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wanted.notified() => {}
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&me)
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            // Readers still wake on their idle timeout; nothing is lost.
            tracing::warn!(error = %error, "could not notify other processes of new events");
        }
    }
}

async fn listener(pool: sqlx::PgPool, local: Local, me: String, cancel: CancellationToken) {
    while !cancel.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) if stopping(&error, &cancel) => return,
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for new events; retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            if stopping(&error, &cancel) {
                return;
            }
            tracing::warn!(error = %error, "LISTEN failed; retrying");
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
            }
        }
        // Anything may have been appended while we were not listening.
        local.bump(Appended::Unknown);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) if notification.payload() == me => {}
                    Ok(Some(_)) => local.bump(Appended::Unknown),
                    // Connection lost: reconnect and wake readers.
                    Ok(None) => local.bump(Appended::Unknown),
                    Err(error) if stopping(&error, &cancel) => return,
                    Err(error) => {
                        tracing::warn!(error = %error, "event listener failed; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}

/// Whether a listener error only says that the process is shutting down (its pool closed
/// before the listener saw the cancellation): nothing to log or retry.
fn stopping(error: &sqlx::Error, cancel: &CancellationToken) -> bool {
    matches!(error, sqlx::Error::PoolClosed) || cancel.is_cancelled()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The booking process's events: appointments, and the requests a conversation starts.
    const BOOKING: Selection = Selection {
        aggregates: &["Appointment"],
        events: lyo_application::booking::CONVERSATION_EVENTS,
    };

    fn events<'a>(aggregate: &'a str, events: &'a [&'a str]) -> Appended<'a> {
        Appended::Events {
            aggregate,
            events,
            queued: false,
        }
    }

    fn queued<'a>(aggregate: &'a str, events: &'a [&'a str]) -> Appended<'a> {
        Appended::Events {
            aggregate,
            events,
            queued: true,
        }
    }

    #[test]
    fn an_append_concerns_a_selection_by_its_aggregate_or_its_event_types() {
        let concerns = |appended: Appended| appended.concerns(&BOOKING, true);
        assert!(concerns(events("Appointment", &["AppointmentBooked"])));
        assert!(concerns(events(
            "Conversation",
            &["MessageReceived", "BookingRequested"]
        )));
        assert!(!concerns(events(
            "Conversation",
            &["MessageReceived", "MessageRead", "ReplyQueued"]
        )));
        assert!(!concerns(events("Delivery", &["ReplyAccepted"])));
        assert!(concerns(Appended::Unknown), "another process's append");
        assert!(
            concerns(queued("Conversation", &["BookingRequested"])),
            "queued rows concern only readers that asked"
        );
    }

    #[test]
    fn an_append_that_wrote_the_queue_rows_does_not_concern_readers_that_said_so() {
        const QUEUE: Selection = Selection::of(&["Conversation"]);
        let concerns = |appended: Appended| appended.concerns(&QUEUE, false);
        assert!(!concerns(queued(
            "Conversation",
            &["MessageReceived", "ReplyQueued"]
        )));
        assert!(concerns(events(
            "Conversation",
            &["MessageReceived", "ReplyQueued"]
        )));
        assert!(concerns(Appended::Unknown));
    }

    #[tokio::test]
    async fn a_narrow_subscriber_is_woken_only_by_its_events() {
        let local = Local {
            all: watch::channel(0).0,
            narrow: Arc::default(),
        };
        let signal = AppendSignal {
            local,
            remote: None,
        };
        let mut all = signal.subscribe();
        let mut booking = signal.subscribe_to(BOOKING, true);
        signal.appended(events("Conversation", &["MessageReceived"]));
        assert!(all.has_changed().unwrap_or(false));
        assert!(!booking.has_changed().unwrap_or(true));
        all.borrow_and_update();
        signal.appended(events("Conversation", &["BookingRequested"]));
        assert!(all.has_changed().unwrap_or(false));
        assert!(booking.has_changed().unwrap_or(false));
        booking.borrow_and_update();
    }
}
