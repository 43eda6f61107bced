//! `lyo-ingest-bench`: the webhook ingest benchmark of issue 3. `bench/run` starts the release
//! `lyo serve` against a fresh Postgres database and calls this twice:
//!
//! - `run`: many concurrent keep-alive connections POST signed, realistic deliveries (a rotating
//!   mix of the WhatsApp fixtures, every message and status id made unique) to
//!   `/webhooks/whatsapp`. First a closed loop for the peak rate, then an open loop paced at a
//!   fraction of that peak (latency measured from each request's intended start, so a stall is
//!   not hidden). Records every acknowledgement latency and the CPU time of the server process
//!   and of the database cluster (`/proc/<pid>/stat`). Prints a Markdown section and writes the
//!   sequence number of every acknowledged delivery to `--acked`.
//! - `verify`: reads the inbox rows (`COPY (SELECT encode(body_sealed, 'hex') ...) TO STDOUT`)
//!   on stdin, opens each with the master key, and checks that every acknowledged delivery is
//!   stored. Exits non-zero if one is missing.

mod cpu;
mod drain;
mod fixtures;
mod load;
mod metrics;
mod report;
mod verify;

use anyhow::bail;
use clap::{Parser, Subcommand};
use cpu::measure;
use fixtures::{load_templates, Generator};
use hmac::{Hmac, Mac};
use load::{closed_loop, open_loop, Ctx};
use metrics::batch_stats;
use report::Report;
use sha2::Sha256;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webhook::require_loopback;

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the running server; print the Markdown report.
    Run(RunArgs),
    /// Check the inbox rows on stdin against the acknowledged deliveries.
    Verify(VerifyArgs),
    /// Measure how fast the server's inbox worker drains a backlog of stored deliveries.
    Drain(DrainArgs),
}

#[derive(Debug, clap::Args)]
struct DrainArgs {
    /// The server, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    url: String,
    /// Pending inbox rows when the server started.
    #[arg(long)]
    pending: u64,
    /// Stop after this many seconds even if rows are still pending.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    #[command(flatten)]
    measured: Measured,
}

/// What both the load run and the drain measure against: the processes' CPU and the baseline.
#[derive(clap::Args, Debug)]
struct Measured {
    /// pid of the server process, for its CPU time.
    #[arg(long)]
    server_pid: u32,
    /// pid of the PostgreSQL postmaster (first line of postmaster.pid), for the cluster's CPU time.
    #[arg(long)]
    postmaster_pid: u32,
    /// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clock_ticks: u64,
    /// Raw single-insert transactions/s measured by pgbench in the same run.
    #[arg(long)]
    pgbench_tps: Option<f64>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The server, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    url: String,
    /// The app secret the server verifies signatures with.
    #[arg(long, env = "WHATSAPP_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// Directory of delivery bodies (*.json) to rotate through.
    #[arg(long)]
    fixtures: PathBuf,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Distinct customers the deliveries are spread over.
    #[arg(long, default_value_t = 5000)]
    customers: u64,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of unreported warm-up before the peak phase.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// The paced phase runs at this fraction of the measured peak rate.
    #[arg(long, default_value_t = 0.5)]
    paced_fraction: f64,
    /// Paced phases, one after the other at the same rate. On a shared virtual machine one
    /// phase's tail can be another guest's doing (the report gives each phase's steal); the
    /// target is judged on the median p99 of the phases.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    paced_runs: u64,
    #[command(flatten)]
    measured: Measured,
    /// Client count of that pgbench figure.
    #[arg(long, default_value_t = 16)]
    pgbench_clients: usize,
    /// File to write acknowledged delivery numbers to, one per line.
    #[arg(long)]
    acked: PathBuf,
    /// File to write every acknowledged delivery's phase, intended start (µs since the Unix
    /// epoch) and latency (µs) to, one per line, to line the tail up with the server's log.
    #[arg(long)]
    trace: Option<PathBuf>,
}

impl std::fmt::Debug for RunArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunArgs")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The file `run` wrote.
    #[arg(long)]
    acked: PathBuf,
    /// The server's master key (base64), to open the sealed bodies.
    #[arg(long, env = "LYO_MASTER_KEY", hide_env_values = true)]
    master_key: String,
}

impl std::fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("acked", &self.acked)
            .finish_non_exhaustive()
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(args)),
        Command::Verify(args) => verify::verify(args),
        Command::Drain(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(drain::drain(args)),
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    require_loopback(&args.url)?;
    let templates = load_templates(&args.fixtures)?;
    let mix: Vec<String> = templates.iter().map(|t| t.name.clone()).collect();
    let mac = Hmac::<Sha256>::new_from_slice(args.app_secret.as_bytes())?;
    let generator = Generator {
        templates,
        next: AtomicU64::new(0),
        mac,
        customers: args.customers,
    };
    let mean_bytes = {
        let n = generator.templates.len() as u64;
        let total: usize = (0..n).map(|_| generator.next().1.len()).sum();
        generator.next.store(0, Ordering::Relaxed);
        total as f64 / n as f64
    };
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(30))
        .build()?;
    let ctx = Arc::new(Ctx {
        client,
        endpoint: format!("{}/webhooks/whatsapp", args.url.trim_end_matches('/')),
        generator,
        epoch: (Instant::now(), unix_micros()),
    });
    let length = Duration::from_secs(args.seconds);
    let mut log = std::io::stderr().lock();

    let (warmup, _) = closed_loop(
        &ctx,
        args.connections,
        Duration::from_secs(args.warmup_seconds),
    )
    .await;
    writeln!(
        log,
        "ingest: warm-up acknowledged {}",
        warmup.answered.len()
    )?;
    let b0 = batch_stats(&ctx.client, &args.url).await;
    let peak = measure(&args, || closed_loop(&ctx, args.connections, length)).await?;
    let b1 = batch_stats(&ctx.client, &args.url).await;
    writeln!(
        log,
        "ingest: peak {:.0}/s, p99 {:.2} ms, failures {}",
        peak.rate(),
        peak.percentile(0.99),
        peak.failed()
    )?;
    if peak.accepted() == 0 {
        bail!("no delivery was acknowledged: {:?}", peak.tally.failures);
    }
    let target_rate = peak.rate() * args.paced_fraction;
    let mut paced = Vec::new();
    let mut batches = vec![b0, b1];
    for run in 1..=args.paced_runs {
        let phase = measure(&args, || {
            open_loop(&ctx, args.connections, target_rate, length)
        })
        .await?;
        batches.push(batch_stats(&ctx.client, &args.url).await);
        writeln!(
            log,
            "ingest: paced run {run} at {:.0}/s: achieved {:.0}/s, p99 {:.2} ms, failures {}",
            target_rate,
            phase.rate(),
            phase.percentile(0.99),
            phase.failed()
        )?;
        paced.push(phase);
    }

    let mut acked = std::io::BufWriter::new(std::fs::File::create(&args.acked)?);
    let phases_acked = std::iter::once(&peak)
        .chain(&paced)
        .flat_map(|phase| &phase.tally.acked);
    let mut total_acked = 0;
    for seq in warmup.acked.iter().chain(phases_acked) {
        writeln!(acked, "{seq}")?;
        total_acked += 1;
    }
    acked.flush()?;
    if let Some(path) = &args.trace {
        write_trace(path, &peak, &paced)?;
    }

    report::write(
        &mut std::io::stdout().lock(),
        &Report {
            args: &args,
            mix: &mix,
            mean_bytes,
            target_rate,
            peak: &peak,
            paced: &paced,
            batches: &batches,
        },
    )?;
    writeln!(log, "ingest: acknowledged {total_acked} deliveries in all")?;
    Ok(())
}

fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// One line per acknowledged delivery of the measured phases: phase, start, latency.
fn write_trace(
    path: &std::path::Path,
    peak: &cpu::Phase,
    paced: &[cpu::Phase],
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let phases = std::iter::once(("peak".to_string(), peak)).chain(
        paced
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("paced{}", i + 1), p)),
    );
    for (name, phase) in phases {
        for (start, latency) in &phase.tally.answered {
            writeln!(out, "{name} {start} {latency}")?;
        }
    }
    out.flush()?;
    Ok(())
}
