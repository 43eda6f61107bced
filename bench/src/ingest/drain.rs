//! The `drain` subcommand: how fast the server's inbox worker processes a stored backlog.

use crate::metrics::scrape;
use crate::DrainArgs;
use std::io::Write;
use std::time::{Duration, Instant};
use webhook::{require_loopback, sample_cpu};

pub(crate) async fn drain(args: DrainArgs) -> anyhow::Result<()> {
    require_loopback(&args.url)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let metric = "lyo_inbox_processed_total";
    let start = Instant::now();
    let before = sample_cpu(args.measured.server_pid, args.measured.postmaster_pid)?;
    let first = scrape(&client, &args.url, metric).await?;
    let (mut done, mut last_change) = (first, start);
    let mut at_end = before;
    while start.elapsed() < Duration::from_secs(args.max_seconds) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = scrape(&client, &args.url, metric).await?;
        if now > done {
            done = now;
            last_change = Instant::now();
            at_end = sample_cpu(args.measured.server_pid, args.measured.postmaster_pid)?;
        }
        if done >= args.pending as f64 || last_change.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let processed = done as u64;
    let elapsed = last_change.duration_since(start).as_secs_f64().max(0.001);
    let rate = processed as f64 / elapsed;
    let (s, d, _) = before.ms_per_item(&at_end, args.measured.clock_ticks, processed);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Processing (inbox -> `Conversation` events): the server restarted on the stored \
         backlog of {} unprocessed deliveries, no load; its inbox worker processed {processed} in \
         {elapsed:.1} s{}: **{rate:.0} deliveries/s**{}, CPU {s:.3} ms (server) + {d:.3} ms \
         (database) = {:.3} ms per delivery.",
        args.pending,
        if processed < args.pending {
            format!(
                " (stopped after {} s, {} still pending)",
                args.max_seconds,
                args.pending - processed
            )
        } else {
            String::new()
        },
        args.measured
            .pgbench_tps
            .map(|tps| format!(
                ", {:.2}x pgbench's 16-client figure (target at least 1x: {})",
                rate / tps,
                if rate >= tps {
                    "**met**"
                } else {
                    "**not met**"
                }
            ))
            .unwrap_or_default(),
        s + d
    )?;
    Ok(())
}
