//! Load generation: signed POSTs of generated deliveries over keep-alive connections, in a
//! closed loop (peak) or an open loop (paced), tallying acknowledgement latencies and failures.

use crate::fixtures::Generator;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
pub(crate) struct Tally {
    /// (intended start in µs since the Unix epoch, latency in µs) of each acknowledged delivery.
    pub(crate) answered: Vec<(u64, u32)>,
    pub(crate) acked: Vec<u64>,
    pub(crate) failures: BTreeMap<String, u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.answered.extend(other.answered);
        self.acked.extend(other.acked);
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
    }
}

pub(crate) struct Ctx {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) generator: Generator,
    /// A moment and its Unix time in µs, to turn `Instant`s into wall-clock times for `--trace`.
    pub(crate) epoch: (Instant, u64),
}

async fn post(ctx: &Ctx, tally: &mut Tally, started: Instant) {
    let (seq, body, signature) = ctx.generator.next();
    let outcome = ctx
        .client
        .post(&ctx.endpoint)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await;
    match outcome {
        Ok(response) => {
            let status = response.status();
            // Read the (small) answer so the connection is reused.
            let _ = response.bytes().await;
            if status == reqwest::StatusCode::OK {
                let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                let since_epoch = started.saturating_duration_since(ctx.epoch.0).as_micros();
                let unix_us = ctx.epoch.1 + u64::try_from(since_epoch).unwrap_or(u64::MAX);
                tally.answered.push((unix_us, us));
                tally.acked.push(seq);
            } else {
                *tally
                    .failures
                    .entry(status.as_u16().to_string())
                    .or_default() += 1;
            }
        }
        Err(error) => {
            let kind = if error.is_timeout() {
                "timeout"
            } else if error.is_connect() {
                "connect error"
            } else {
                "transport error"
            };
            *tally.failures.entry(kind.into()).or_default() += 1;
        }
    }
}

/// Every connection sends its next delivery as soon as the previous one is answered.
pub(crate) async fn closed_loop(
    ctx: &Arc<Ctx>,
    connections: usize,
    length: Duration,
) -> (Tally, Duration) {
    let start = Instant::now();
    let end = start + length;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < end {
                    post(&ctx, &mut tally, Instant::now()).await;
                }
                tally
            })
        })
        .collect();
    let tally = join(tasks).await;
    (tally, start.elapsed())
}

/// Each connection sends on a fixed schedule (`rate / connections` per second, staggered);
/// latency counts from the intended start, so time spent behind schedule is included.
pub(crate) async fn open_loop(
    ctx: &Arc<Ctx>,
    connections: usize,
    rate: f64,
    length: Duration,
) -> (Tally, Duration) {
    let start = Instant::now();
    let end = start + length;
    let interval = Duration::from_secs_f64(connections as f64 / rate.max(1.0));
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let ctx = ctx.clone();
            let offset = interval.mul_f64(i as f64 / connections as f64);
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut intended = start + offset;
                while intended < end {
                    tokio::time::sleep_until(intended.into()).await;
                    post(&ctx, &mut tally, intended).await;
                    intended += interval;
                }
                tally
            })
        })
        .collect();
    let tally = join(tasks).await;
    (tally, start.elapsed())
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    let mut all = Tally::default();
    for task in tasks {
        match task.await {
            Ok(t) => all.merge(t),
            Err(_) => *all.failures.entry("load task panicked".into()).or_default() += 1,
        }
    }
    all
}
