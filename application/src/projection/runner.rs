//! Runs one projector: hold its lease, read batches after its checkpoint, apply them, wait for
//! new events, and export its lag.

use super::{LeaseStore, ProjectionError, Projector};
use crate::error_chain as chain;
use crate::event_log::{EventLog, Position};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Events applied per transaction.
    pub batch_size: u32,
    /// How long a lease lasts unless renewed; a dead holder is replaced after this.
    pub lease_ttl: Duration,
    /// The longest wait without a wake-up signal before reading again. Wake-ups normally come
    /// from appends; this covers appends whose signal was lost (another process crashed
    /// between commit and notify) and events hidden behind a slow transaction.
    pub idle_wait: Duration,
    /// This process's identity in the lease table.
    pub owner: String,
    /// How long a woken runner that had caught up waits before reading, so that the events
    /// of many appends arrive in one batch; zero: it reads at once.
    pub pace: Duration,
}

pub struct ProjectionRunner {
    projector: Arc<dyn Projector>,
    log: Arc<dyn EventLog>,
    leases: Arc<dyn LeaseStore>,
    config: RunnerConfig,
}

const LAG_REFRESH: Duration = Duration::from_secs(1);
/// The lag gauge counts no further: a count of a backlog of hundreds of thousands of events
/// every second cost the database more than a tenth of a core. `lyo projections status`
/// counts exactly.
const LAG_CAP: u64 = 10_000;
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
const HORIZON_RETRY: Duration = Duration::from_millis(5);

impl ProjectionRunner {
    pub fn new(
        projector: Arc<dyn Projector>,
        log: Arc<dyn EventLog>,
        leases: Arc<dyn LeaseStore>,
        config: RunnerConfig,
    ) -> Self {
        Self {
            projector,
            log,
            leases,
            config,
        }
    }

    /// Applies one batch after `from`. Returns the new checkpoint and how many events it
    /// applied (none when a log of some events only passed over others), or `None` when
    /// there was nothing to read.
    pub async fn step(&self, from: Position) -> Result<Option<Pass>, ProjectionError> {
        let started = Instant::now();
        let (events, to) = self.log.read_batch(from, self.config.batch_size).await?;
        if to == from {
            return Ok(None);
        }
        self.projector.apply(from, to, &events).await?;
        tracing::debug!(
            projector = self.projector.name(),
            events = events.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "projector pass"
        );
        metrics::counter!("lyo_projector_events_applied_total", "projector" => self.projector.name())
            .increment(events.len() as u64);
        Ok(Some(Pass {
            to,
            events: events.len(),
        }))
    }

    /// Applies batches until no event is left after the checkpoint, waiting while events are
    /// hidden behind an open transaction and renewing the lease the caller took. Returns how
    /// many batches were applied. Used by `lyo projections rebuild` and tests.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let name = self.projector.name();
        let mut from = self.projector.checkpoint().await?;
        let mut batches = 0;
        let mut renew_at = Instant::now() + self.config.lease_ttl / 3;
        loop {
            if Instant::now() >= renew_at {
                if !self
                    .leases
                    .try_acquire(name, &self.config.owner, self.config.lease_ttl)
                    .await?
                {
                    return Err(ProjectionError::LeaseLost(name.to_string()));
                }
                renew_at = Instant::now() + self.config.lease_ttl / 3;
            }
            match self.step(from).await? {
                Some(Pass { to, .. }) => {
                    from = to;
                    batches += 1;
                }
                None if !self.log.any_after(from).await? => return Ok(batches),
                None => tokio::time::sleep(HORIZON_RETRY).await,
            }
        }
    }

    /// Runs until `cancel` fires, then releases the lease.
    pub async fn run(self, cancel: CancellationToken) {
        let name = self.projector.name();
        let mut signal = self.log.subscribe();
        let mut holding = false;
        let mut renew_at = Instant::now();
        let mut checkpoint: Option<Position> = None;
        let mut lag_at = Instant::now();

        while !cancel.is_cancelled() {
            if !holding || Instant::now() >= renew_at {
                match self
                    .leases
                    .try_acquire(name, &self.config.owner, self.config.lease_ttl)
                    .await
                {
                    Ok(true) => {
                        if !holding {
                            tracing::info!(projector = name, "projector lease acquired");
                            checkpoint = None;
                        }
                        holding = true;
                        renew_at = Instant::now() + self.config.lease_ttl / 3;
                    }
                    Ok(false) => {
                        if holding {
                            tracing::warn!(projector = name, "projector lease lost");
                        }
                        holding = false;
                        metrics::gauge!("lyo_projector_lease_held", "projector" => name).set(0.0);
                        pause(&cancel, self.config.lease_ttl / 3).await;
                        continue;
                    }
                    Err(error) => {
                        tracing::error!(projector = name, error = %chain(&error), "lease renewal failed");
                        holding = false;
                        pause(&cancel, ERROR_BACKOFF).await;
                        continue;
                    }
                }
                metrics::gauge!("lyo_projector_lease_held", "projector" => name).set(1.0);
            }

            signal.borrow_and_update();
            let outcome = match checkpoint {
                Some(from) => self.step(from).await.map(|to| (from, to)),
                None => match self.projector.checkpoint().await {
                    Ok(from) => self.step(from).await.map(|to| (from, to)),
                    Err(error) => Err(error),
                },
            };
            match outcome {
                Ok((_, Some(Pass { to, events }))) if events > 0 => {
                    checkpoint = Some(to);
                    if lag_at.elapsed() >= LAG_REFRESH {
                        self.export_lag(to).await;
                        lag_at = Instant::now();
                    }
                }
                // A pass that only moved past events this projector does not read caught up as
                // far as it is concerned: its next events wake it, or come at its idle wait
                // (under load, reading again at once passed over a few more, each time).
                Ok((from, pass)) => {
                    let from = pass.map_or(from, |pass| pass.to);
                    // Reload the stored checkpoint after the wait: a rebuild from another
                    // process may have reset it, and an idle runner would not notice otherwise.
                    checkpoint = None;
                    // Anything (of its own) after the checkpoint is hidden (not readable yet).
                    // Ask only whether there is any, on every pass; count the lag once a second.
                    let hidden = match self.log.any_after(from).await {
                        Ok(hidden) => hidden,
                        Err(error) => {
                            tracing::warn!(projector = name, error = %chain(&error), "could not read lag");
                            false
                        }
                    };
                    if !hidden {
                        self.set_lag(from, 0);
                    } else if lag_at.elapsed() >= LAG_REFRESH {
                        self.export_lag(from).await;
                        lag_at = Instant::now();
                    }
                    // Events exist that are not readable yet (an older transaction is still
                    // open): their commit may bring no signal of ours, so look again soon.
                    let wait = if hidden {
                        HORIZON_RETRY
                    } else {
                        self.config.idle_wait
                    }
                    .min(renew_at.saturating_duration_since(Instant::now()));
                    let woken = tokio::select! {
                        _ = cancel.cancelled() => false,
                        _ = signal.changed() => true,
                        _ = tokio::time::sleep(wait) => false,
                    };
                    if woken && !self.config.pace.is_zero() {
                        let renew_in = renew_at.saturating_duration_since(Instant::now());
                        pause(&cancel, self.config.pace.min(renew_in)).await;
                    }
                }
                Err(ProjectionError::CheckpointMoved(_)) => {
                    tracing::info!(projector = name, "checkpoint moved; reloading it");
                    checkpoint = None;
                }
                Err(error) => {
                    tracing::error!(projector = name, error = %chain(&error), "projector batch failed");
                    checkpoint = None;
                    pause(&cancel, ERROR_BACKOFF).await;
                }
            }
        }

        if holding {
            if let Err(error) = self.leases.release(name, &self.config.owner).await {
                tracing::warn!(projector = name, error = %chain(&error), "could not release lease");
            }
            metrics::gauge!("lyo_projector_lease_held", "projector" => name).set(0.0);
        }
        tracing::info!(projector = name, "projector stopped");
    }

    /// Counts and exports how many events lie after `checkpoint`, up to [`LAG_CAP`].
    async fn export_lag(&self, checkpoint: Position) {
        match self.log.count_after_up_to(checkpoint, LAG_CAP).await {
            Ok(lag) => self.set_lag(checkpoint, lag),
            Err(error) => {
                let name = self.projector.name();
                tracing::warn!(projector = name, error = %chain(&error), "could not read lag");
            }
        }
    }

    fn set_lag(&self, checkpoint: Position, lag: u64) {
        let name = self.projector.name();
        metrics::gauge!("lyo_projector_checkpoint_position", "projector" => name)
            .set(checkpoint.position as f64);
        metrics::gauge!("lyo_projector_lag_events", "projector" => name).set(lag as f64);
    }
}

/// What [`ProjectionRunner::step`] applied.
#[derive(Debug, Clone, Copy)]
pub struct Pass {
    /// The new checkpoint.
    pub to: Position,
    /// How many events were applied.
    pub events: usize,
}

async fn pause(cancel: &CancellationToken, duration: Duration) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(duration) => {}
    }
}
