//! `lyo-bench`: event-store throughput through the real write path (cqrs-es, the sealing
//! repository, postgres-es or sqlite-es) and replay throughput of the global log. Run it with
//! `bench/run`, which also measures the pgbench baseline on the same server and writes
//! `docs/benchmarks.md`.

use clap::Parser;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use lyo_api::platform::{Migrate, Platform};
use lyo_application::event_log::Position;
use lyo_application::metadata::{Actor, EventMetadata};
use lyo_domain::ids::TenantId;
use lyo_infrastructure::config::Settings;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
// The shared library brings the server's allocator (mimalloc).
use webhook as _;

#[derive(Debug, Parser)]
struct Args {
    /// Database to measure (a fresh one: the bench appends to it).
    #[arg(long)]
    database_url: String,
    /// Seconds per append configuration.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Writer counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    writers: Vec<usize>,
    /// Events per command to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    events_per_command: Vec<usize>,
    /// Raw single-insert transactions per second measured by pgbench, per writer count
    /// (`WRITERS=TPS`), for the ratio column.
    #[arg(long, value_delimiter = ',')]
    baseline: Vec<String>,
}

/// A minimal aggregate: one command appends `n` small events.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Counted {
    amount: i64,
}

impl DomainEvent for Counted {
    fn event_type(&self) -> String {
        "BenchCounted".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Counter {
    const TYPE: &'static str = "BenchCounter";
    type Command = usize;
    type Event = Counted;
    type Error = Never;
    type Services = ();

    async fn handle(&mut self, n: usize, _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        for _ in 0..n {
            sink.write(Counted { amount: 1 }, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, _: Counted) {
        self.count += 1;
    }
}

#[derive(Debug)]
struct AppendResult {
    writers: usize,
    events_per_command: usize,
    commands: u64,
    events_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Debug)]
struct ReplayResult {
    events: u64,
    read_events_per_second: f64,
    rebuild_events_per_second: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = args.database_url.clone();
    let key = lyo_infrastructure::pii::MasterKey::generate_base64();
    let settings = Settings::from_sources(None, |name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "LYO_MASTER_KEY" => Some(key.clone()),
        "LYO_DB_MAX_CONNECTIONS" => Some("40".into()),
        _ => None,
    })?;
    let (platform, _) = Platform::open(settings, Migrate::Yes).await?;
    let platform = Arc::new(platform);
    let baseline: Vec<(usize, f64)> = args
        .baseline
        .iter()
        .filter_map(|b| b.split_once('='))
        .filter_map(|(w, tps)| Some((w.parse().ok()?, tps.parse().ok()?)))
        .collect();
    let backend = format!("{:?}", platform.db.backend());
    let mut out = std::io::stdout().lock();
    writeln!(out, "| backend | writers | events/command | commands | events/s | vs raw insert tx/s | command p50 | command p99 |")?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for &events_per_command in &args.events_per_command {
        for &writers in &args.writers {
            let r = appends(
                &platform,
                writers,
                events_per_command,
                Duration::from_secs(args.seconds),
            )
            .await?;
            let ratio = baseline
                .iter()
                .find(|(w, _)| *w == writers)
                .map(|(_, tps)| format!("{:.2}x", r.events_per_second / tps))
                .unwrap_or_else(|| "—".into());
            writeln!(
                out,
                "| {backend} | {} | {} | {} | {:.0} | {ratio} | {:.2} ms | {:.2} ms |",
                r.writers,
                r.events_per_command,
                r.commands,
                r.events_per_second,
                r.p50_ms,
                r.p99_ms
            )?;
        }
    }
    let replay = replay(&platform).await?;
    writeln!(out)?;
    writeln!(out, "| backend | events in store | global-log read events/s | `event_counts` rebuild events/s | bench peak RSS |")?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {backend} | {} | {:.0} | {:.0} | {} MiB |",
        replay.events,
        replay.read_events_per_second,
        replay.rebuild_events_per_second,
        peak_rss_kib() / 1024
    )?;
    Ok(())
}

async fn appends(
    platform: &Arc<Platform>,
    writers: usize,
    events_per_command: usize,
    duration: Duration,
) -> anyhow::Result<AppendResult> {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let repository = platform.repository.clone();
        tasks.push(tokio::spawn(async move {
            let cqrs = CqrsFramework::new(
                PersistedEventStore::<_, Counter>::new_event_store(repository),
                vec![],
                (),
            );
            let metadata = EventMetadata {
                tenant_id: TenantId::new(),
                actor: Actor::system("bench"),
                correlation_id: format!("bench-{writer}"),
                causation_id: None,
                request_id: None,
            }
            .to_map();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let id = uuid::Uuid::new_v4().to_string();
                let t = Instant::now();
                cqrs.execute_with_metadata(&id, events_per_command, metadata.clone())
                    .await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or_default()
    };
    let commands = latencies.len() as u64;
    Ok(AppendResult {
        writers,
        events_per_command,
        commands,
        events_per_second: (commands as usize * events_per_command) as f64 / elapsed,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    })
}

async fn replay(platform: &Platform) -> anyhow::Result<ReplayResult> {
    let started = Instant::now();
    let mut at = Position::START;
    let mut events = 0u64;
    loop {
        let batch = platform.log.read_after(at, 1000).await?;
        let Some(last) = batch.last() else { break };
        at = last.at;
        events += batch.len() as u64;
    }
    let read = started.elapsed().as_secs_f64();

    let projector = platform.projector("event_counts")?;
    let started = Instant::now();
    projector.reset().await?;
    platform.runner(projector).catch_up().await?;
    let rebuild = started.elapsed().as_secs_f64();
    Ok(ReplayResult {
        events,
        read_events_per_second: events as f64 / read,
        rebuild_events_per_second: events as f64 / rebuild,
    })
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or_default()
}
