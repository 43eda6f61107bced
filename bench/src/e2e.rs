//! `lyo-e2e-bench`: the end-to-end benchmark of issue 6. `bench/e2e` starts the release
//! `lyo serve` on Postgres with `LYO_SENDER=cloud` and `WHATSAPP_GRAPH_URL` pointing here, then
//! runs this.
//!
//! This process is both sides of Meta: it serves a fake Graph API on `--graph-port` (answering
//! every send at once with a message id, as Meta does) and, at each steady rate in turn, posts
//! signed webhooks, one "ciao" per new customer. The latency of a message is from the moment
//! its webhook request starts to the moment the fake Graph API receives the reply addressed to
//! that customer: acknowledgement, inbox, dialogue, outbound queue, dispatcher and HTTP send.

use anyhow::Context;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use clap::Parser;
use lyo_infrastructure::whatsapp::SimulatedCustomer;
use webhook::{percentile, post_signed, require_loopback, sample_cpu, Cpu};

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WARM_UP_RATE: u32 = 100;
const WARM_UP_SECONDS: u32 = 2;

#[derive(Debug, Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    url: String,
    /// Where the fake Graph API listens (the server's WHATSAPP_GRAPH_URL points here).
    #[arg(long)]
    graph_port: u16,
    /// The tenant's phone number id.
    #[arg(long)]
    phone_number_id: String,
    /// Steady rates to measure, messages per second, one after the other.
    #[arg(long, value_delimiter = ',', default_value = "200,500,1000")]
    rates: Vec<u32>,
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Also write every reported message as CSV to this file (rate, sent at, acknowledged
    /// after, replied after; milliseconds), to see when in a run the slow ones were sent.
    #[arg(long)]
    trace: Option<std::path::PathBuf>,
    /// With `--postmaster-pid` and `--clock-ticks`: also report the CPU time per message of the
    /// server and of the database, which is steadier than latency on a shared machine.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long)]
    postmaster_pid: Option<u32>,
    #[arg(long, default_value_t = 100)]
    clock_ticks: u64,
}

/// When each reply reached the fake Graph API, by recipient.
struct Graph {
    arrived: Mutex<HashMap<String, Instant>>,
    sends: AtomicU64,
}

async fn messages(State(graph): State<Arc<Graph>>, Json(body): Json<Value>) -> Json<Value> {
    let n = graph.sends.fetch_add(1, Ordering::Relaxed);
    if body.get("status").and_then(Value::as_str) != Some("read") {
        if let Some(to) = body.get("to").and_then(Value::as_str) {
            if let Ok(mut arrived) = graph.arrived.lock() {
                arrived.entry(to.to_string()).or_insert_with(Instant::now);
            }
        }
    }
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
        "messages": [{"id": format!("wamid.fake.{n}")}],
    }))
}

/// Appends one line per message sent at `rate` to `path`: rate, when it was sent (from the
/// phase's start), how long its acknowledgement took, its reply (empty if none arrived), and
/// when it was sent in Unix milliseconds (to find it in the server's log).
fn trace(
    path: &std::path::Path,
    rate: u32,
    start: Instant,
    sent: &HashMap<String, (Instant, Duration)>,
    arrived: &HashMap<String, Instant>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let unix_start = jiff::Timestamp::now().as_millisecond() as f64 - ms(start.elapsed());
    let mut rows: Vec<_> = sent.iter().collect();
    rows.sort_by_key(|(_, (at, _))| *at);
    let mut file = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?,
    );
    for (to, (at, ack)) in rows {
        let reply = arrived
            .get(to.as_str())
            .map(|r| format!("{:.2}", ms(r.duration_since(*at))))
            .unwrap_or_default();
        let offset = ms(at.duration_since(start));
        writeln!(
            file,
            "{rate},{offset:.2},{:.2},{reply},{:.0}",
            ms(*ack),
            unix_start + offset
        )?;
    }
    Ok(file.flush()?)
}

/// "server + database = total ms" of CPU per message between two samples.
fn cpu_per_message((before, after): (Cpu, Cpu), clock_ticks: u64, messages: usize) -> String {
    let (server, database, _) = before.ms_per_item(&after, clock_ticks, messages as u64);
    format!("{server:.2} + {database:.2} = {:.2} ms", server + database)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    require_loopback(&args.url)?;
    let secret = std::env::var("WHATSAPP_APP_SECRET").context("WHATSAPP_APP_SECRET")?;
    // Sized for every customer of the run up front: a map growing mid-phase would stall this
    // process's senders and the fake Graph API, and show as the server's latency.
    let customers: u32 = WARM_UP_RATE * WARM_UP_SECONDS
        + args
            .rates
            .iter()
            .map(|rate| rate * args.seconds)
            .sum::<u32>();
    let graph = Arc::new(Graph {
        arrived: Mutex::new(HashMap::with_capacity(customers as usize)),
        sends: AtomicU64::new(0),
    });
    let cpu = |pids: Option<(u32, u32)>| pids.map(|(s, p)| sample_cpu(s, p)).transpose();
    let pids = args.server_pid.zip(args.postmaster_pid);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.graph_port)).await?;
    let app = Router::new()
        .route("/{*path}", post(messages))
        .with_state(graph.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let mut out = String::from(
        "| rate (messages/s) | messages | replied | p50 | p99 | p99.9 | max | CPU per message | machine busy, steal |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    // A warm-up first (100 messages/s for 2 s, not reported): a fresh server fills its
    // connection pool, caches and prepared statements on its first messages.
    let phases = std::iter::once((WARM_UP_RATE, WARM_UP_SECONDS, false))
        .chain(args.rates.iter().map(|rate| (*rate, args.seconds, true)));
    for (phase, (rate, seconds, reported)) in phases.enumerate() {
        let total = rate * seconds;
        let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let sent = Arc::new(Mutex::new(HashMap::with_capacity(total as usize)));
        let before = cpu(pids)?;
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            tokio::time::sleep_until((start + interval * i).into()).await;
            let wa_id = format!("3938{phase}{i:07}");
            let mut customer = SimulatedCustomer::new(&args.phone_number_id, &wa_id, "Cliente");
            let delivery = customer.text("ciao", jiff::Timestamp::now().as_second());
            let (client, url, secret, sent) = (
                client.clone(),
                args.url.clone(),
                secret.clone(),
                sent.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let at = Instant::now();
                post_signed(&client, &url, &secret, delivery).await?;
                let acknowledged = at.elapsed();
                if let Ok(mut sent) = sent.lock() {
                    sent.insert(wa_id, (at, acknowledged));
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let sent: HashMap<String, (Instant, Duration)> =
            sent.lock().map(|s| s.clone()).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(120);
        let (latencies, used) = loop {
            let arrived = graph.arrived.lock().map(|a| a.clone()).unwrap_or_default();
            let done = sent.keys().all(|k| arrived.contains_key(k));
            if done || Instant::now() > deadline {
                let after = cpu(pids)?;
                if let (Some(path), true) = (&args.trace, reported) {
                    trace(path, rate, start, &sent, &arrived)?;
                }
                let mut ms: Vec<f64> = sent
                    .iter()
                    .filter_map(|(to, (at, _))| {
                        arrived
                            .get(to)
                            .map(|r| r.duration_since(*at).as_secs_f64() * 1000.0)
                    })
                    .collect();
                ms.sort_by(f64::total_cmp);
                break (ms, before.zip(after));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if reported {
            let (cpu, machine) = match used {
                Some((before, after)) => {
                    let (busy, steal) = before.machine_busy_and_steal(&after);
                    (
                        cpu_per_message((before, after), args.clock_ticks, sent.len()),
                        format!("{busy:.0}%, {steal:.1}%"),
                    )
                }
                None => ("-".to_string(), "-".to_string()),
            };
            out.push_str(&format!(
                "| {rate} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} |\n",
                sent.len(),
                latencies.len(),
                percentile(&latencies, 50.0),
                percentile(&latencies, 99.0),
                percentile(&latencies, 99.9),
                latencies.last().copied().unwrap_or(f64::NAN),
                cpu,
                machine,
            ));
        }
        // Let the server settle before the next rate.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}
