//! Opens everything a command needs on the configured backend.

use anyhow::Context;
use cqrs_es::persist::PersistedEventStore;
use lyo_application::booking::BookingProcess;
use lyo_application::event_log::EventLog;
use lyo_application::projection::reactor::Reactor;
use lyo_application::projection::runner::{ProjectionRunner, RunnerConfig};
use lyo_application::projection::{LeaseStore, Projector};
use lyo_application::tenants::TenantConfigs;
use lyo_application::tenants::TenantService;
use lyo_domain::tenant::Tenant;
use lyo_infrastructure::config::{provision, Provisioned, Settings};
use lyo_infrastructure::db::Db;
use lyo_infrastructure::event_store::{AppendSignal, EventRepository, SqlEventLog};
use lyo_infrastructure::pii::PiiVault;
use lyo_infrastructure::projection::{
    all_projectors, CheckpointOnly, DirectoryCache, SqlLeaseStore, SqlProjector, SqlTenantConfigs,
    SqlTenantDirectory, TenantConfigCache,
};
use lyo_infrastructure::reminders::{ReminderScheduler, RemindersModel, SchedulerConfig};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Tenant administration over the configured event store.
pub type Tenants = TenantService<PersistedEventStore<EventRepository, Tenant>>;

pub struct Platform {
    pub settings: Settings,
    pub db: Db,
    pub repository: EventRepository,
    pub log: Arc<dyn EventLog>,
    /// The same log, for readers that need only some payloads.
    sql_log: SqlEventLog,
    pub leases: Arc<dyn LeaseStore>,
    pub projectors: Vec<Arc<dyn Projector>>,
    pub tenants: Arc<Tenants>,
    pub directory: SqlTenantDirectory,
    /// Tenants' configurations for the assistant (the `tenant_settings` read model, cached).
    pub tenant_configs: Arc<dyn TenantConfigs>,
    pub master_key: lyo_infrastructure::pii::MasterKey,
    /// Notified when the webhook inbox stored deliveries it did not hand over.
    pub inbox_stored: Arc<tokio::sync::Notify>,
    /// The webhook inbox; its writer tasks end once every clone is dropped (after draining).
    pub inbox: lyo_infrastructure::inbox::WebhookInbox,
    /// This process's name in lease tables.
    pub owner: String,
    /// Where replies go: the Cloud API or the sandbox (`LYO_SENDER`).
    pub sender: Arc<dyn lyo_application::outbound::ReplySender>,
    /// The sandbox sender when `LYO_SENDER=sandbox`: what was "sent", for `lyo chat` and tests.
    pub sandbox: Option<Arc<lyo_infrastructure::sender::SandboxSender>>,
    /// Stops the background signal tasks.
    background: CancellationToken,
}

/// Inbox rows the worker turns into events per transaction (ADR 0007).
const INBOX_BATCH: u32 = 500;

/// Whether to apply migrations while opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrate {
    Yes,
    No,
}

impl Platform {
    pub async fn open(
        mut settings: Settings,
        migrate: Migrate,
    ) -> anyhow::Result<(Self, Provisioned)> {
        let (master_key, provisioned) = provision(&mut settings)?;
        let url = settings.effective_database_url();
        let db = Db::connect(&url, settings.max_connections)
            .await
            .context("opening the database")?;
        if migrate == Migrate::Yes {
            db.migrate().await.context("applying migrations")?;
        }
        let background = CancellationToken::new();
        let signal = AppendSignal::start(&db, background.clone());
        let repository = EventRepository::new(
            &db,
            PiiVault::new(db.clone(), master_key.clone()),
            signal.clone(),
        );
        let sql_log = SqlEventLog::new(db.clone(), signal);
        let log: Arc<dyn EventLog> = Arc::new(sql_log.clone());
        let leases: Arc<dyn LeaseStore> = Arc::new(SqlLeaseStore::new(db.clone()));
        let inbox_stored = Arc::new(tokio::sync::Notify::new());
        let inbox = lyo_infrastructure::inbox::WebhookInbox::start(
            db.clone(),
            master_key.clone(),
            inbox_stored.clone(),
        );
        let cache = Arc::new(DirectoryCache::default());
        let configs = Arc::new(TenantConfigCache::default());
        let mut projectors = all_projectors(&db, cache.clone(), configs.clone());
        let tenant_configs: Arc<dyn TenantConfigs> =
            Arc::new(SqlTenantConfigs::new(db.clone(), configs));
        projectors.push(booking_process(
            &db,
            &repository,
            tenant_configs.clone(),
            PiiVault::new(db.clone(), master_key.clone()),
        ));
        projectors.push(Arc::new(SqlProjector::new(db.clone(), RemindersModel)));
        let directory = SqlTenantDirectory::new(db.clone(), cache);
        let tenants = Arc::new(TenantService::new(
            PersistedEventStore::new_event_store(repository.clone()),
            PersistedEventStore::new_event_store(repository.clone()),
            Box::new(master_key.clone()),
            Box::new(directory.clone()),
        ));
        let (sender, sandbox) = open_sender(&settings)?;
        Ok((
            Self {
                sender,
                sandbox,
                settings,
                db,
                repository,
                log,
                sql_log,
                leases,
                projectors,
                tenants,
                directory,
                tenant_configs,
                master_key,
                inbox,
                inbox_stored,
                owner: process_owner(),
                background,
            },
            provisioned,
        ))
    }

    pub fn projector(&self, name: &str) -> anyhow::Result<Arc<dyn Projector>> {
        self.projectors
            .iter()
            .find(|p| p.name() == name)
            .cloned()
            .ok_or_else(|| {
                let known: Vec<_> = self.projectors.iter().map(|p| p.name()).collect();
                anyhow::anyhow!("no projector named `{name}`; known: {}", known.join(", "))
            })
    }

    /// The event log as the projector `name` reads it: only its events and payloads, woken
    /// only by appends that concern it.
    pub fn log_for(&self, name: &str) -> SqlEventLog {
        use lyo_infrastructure::projection::{
            events_read_by, payloads_read_by, transactions_passed_over, woken_by, woken_when_queued,
        };
        let mut log = self.sql_log.clone();
        if let Some(events) = events_read_by(name) {
            log = log.with_only(events);
        }
        if let Some(table) = transactions_passed_over(name) {
            log = log.without_transactions_in(table);
        }
        if let Some(payloads) = payloads_read_by(name) {
            log = log.with_payloads_of(payloads);
        }
        if let Some(events) = woken_by(name) {
            log = log.with_wakes_for(events);
        }
        if !woken_when_queued(name) {
            log = log.without_wakes_when_queued();
        }
        log
    }

    pub fn runner(&self, projector: Arc<dyn Projector>) -> ProjectionRunner {
        let name = projector.name();
        let log: Arc<dyn EventLog> = Arc::new(self.log_for(name));
        ProjectionRunner::new(
            projector,
            log,
            self.leases.clone(),
            RunnerConfig {
                batch_size: self.settings.projector_batch_size,
                lease_ttl: self.settings.projector_lease_ttl,
                idle_wait: self.settings.projector_idle_wait,
                owner: self.owner.clone(),
                pace: lyo_infrastructure::projection::pace_of(name),
            },
        )
    }

    /// The worker that turns stored webhook deliveries into conversation events.
    pub fn inbox_worker(&self) -> lyo_infrastructure::ingress::InboxWorker {
        lyo_infrastructure::ingress::InboxWorker::new(
            self.db.clone(),
            self.master_key.clone(),
            self.repository.clone(),
            lyo_infrastructure::ingress::TenantSources {
                directory: self.directory.clone(),
                directory_projector: self
                    .projectors
                    .iter()
                    .find(|p| p.name() == lyo_infrastructure::projection::TENANT_DIRECTORY)
                    .cloned()
                    .expect("all_projectors includes the tenant directory"),
                configs: self.tenant_configs.clone(),
            },
            lyo_infrastructure::ingress::IngressConfig {
                max_age: self.settings.max_message_age,
                per_customer_per_minute: self.settings.rate_customer_per_minute,
                per_tenant_per_minute: self.settings.rate_tenant_per_minute,
                batch: INBOX_BATCH,
                // A batch takes milliseconds; after a crash its rows wait this long.
                claim_for: std::time::Duration::from_secs(10),
            },
            self.inbox_stored.clone(),
        )
    }

    /// The outbound dispatcher (`LYO_OUTBOUND_*`), sending through [`Self::sender`].
    pub fn dispatcher(&self) -> lyo_infrastructure::outbound::Dispatcher {
        let o = &self.settings.outbound;
        lyo_infrastructure::outbound::Dispatcher::new(
            self.db.clone(),
            self.repository.clone(),
            self.master_key.clone(),
            self.sender.clone(),
            lyo_infrastructure::outbound::DispatcherConfig {
                workers: o.workers,
                batch: o.batch,
                claim_for: o.claim_for,
                idle_wait: std::time::Duration::from_millis(200),
                policy: lyo_application::outbound::policy::DispatchPolicy {
                    max_attempts: o.max_attempts,
                    max_age: o.max_age,
                    backoff: lyo_application::outbound::Backoff {
                        base: o.backoff_base,
                        max: o.backoff_max,
                    },
                    block_pause: o.block_pause,
                },
                per_number_per_second: o.per_number_per_second,
                recipient_gap: o.recipient_gap,
                breaker_failures: o.breaker_failures,
                breaker_cooldown: o.breaker_cooldown,
                requires_token: self.sandbox.is_none(),
                owner: self.owner.clone(),
            },
        )
    }

    /// The loop that sends due reminders through the conversations (docs/reminders.md).
    pub fn reminder_scheduler(&self) -> ReminderScheduler {
        ReminderScheduler::new(
            self.db.clone(),
            self.repository.clone(),
            self.tenant_configs.clone(),
            SchedulerConfig {
                interval: self.settings.reminder_interval,
                batch: self.settings.reminder_batch,
                claim_for: std::time::Duration::from_secs(60),
            },
        )
    }

    pub async fn close(self) {
        self.background.cancel();
        self.db.close().await;
    }
}

/// The booking process manager (application/src/booking.rs) as a projector named
/// `booking_process`, with a checkpoint of its own.
fn booking_process(
    db: &Db,
    repository: &EventRepository,
    configs: Arc<dyn TenantConfigs>,
    vault: PiiVault,
) -> Arc<dyn Projector> {
    let process = BookingProcess::new(
        store(repository),
        (store(repository), store(repository)),
        (store(repository), store(repository)),
        configs,
        Arc::new(vault),
    );
    Arc::new(Reactor::new(
        Arc::new(process),
        Arc::new(SqlProjector::new(
            db.clone(),
            CheckpointOnly(lyo_application::booking::NAME),
        )),
    ))
}

fn store<A: cqrs_es::Aggregate>(
    repository: &EventRepository,
) -> PersistedEventStore<EventRepository, A> {
    PersistedEventStore::new_event_store(repository.clone())
}

type Senders = (
    Arc<dyn lyo_application::outbound::ReplySender>,
    Option<Arc<lyo_infrastructure::sender::SandboxSender>>,
);

fn open_sender(settings: &Settings) -> anyhow::Result<Senders> {
    use lyo_infrastructure::config::SenderKind;
    use lyo_infrastructure::sender::{GraphConfig, GraphSender, SandboxSender};
    Ok(match settings.effective_sender() {
        SenderKind::Sandbox => {
            let sandbox = Arc::new(SandboxSender::default());
            (sandbox.clone(), Some(sandbox))
        }
        SenderKind::Cloud => {
            let graph = GraphSender::new(&GraphConfig::from_settings(settings))
                .context("building the Graph API client")?;
            (Arc::new(graph), None)
        }
    })
}

fn process_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &nonce[..8])
}
