//! A measured load phase: its tally, duration and CPU samples before and after
//! ([`webhook::sample_cpu`]).

use crate::load::Tally;
use crate::RunArgs;
use std::time::Duration;
use webhook::{sample_cpu, Cpu};

pub(crate) struct Phase {
    /// Its deliveries, `answered` in the order they were started.
    pub(crate) tally: Tally,
    /// Acknowledgement latencies in µs, sorted.
    pub(crate) latencies_us: Vec<u32>,
    elapsed: Duration,
    cpu: (Cpu, Cpu),
}

impl Phase {
    pub(crate) fn accepted(&self) -> u64 {
        self.latencies_us.len() as u64
    }
    pub(crate) fn rate(&self) -> f64 {
        self.accepted() as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn failed(&self) -> u64 {
        self.tally.failures.values().sum()
    }
    /// Percentile in ms (nearest rank).
    pub(crate) fn percentile(&self, q: f64) -> f64 {
        let l = &self.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * l.len() as f64).ceil() as usize).clamp(1, l.len());
        f64::from(l[rank - 1]) / 1000.0
    }
    /// CPU ms per acknowledged delivery: (server, database, generator).
    pub(crate) fn cpu_ms(&self, ticks: u64) -> (f64, f64, f64) {
        let (before, after) = &self.cpu;
        before.ms_per_item(after, ticks, self.accepted())
    }
    /// Percent of the machine's CPU time during the phase that was busy, and that was stolen.
    pub(crate) fn machine(&self) -> (f64, f64) {
        let (before, after) = &self.cpu;
        before.machine_busy_and_steal(after)
    }
}

pub(crate) async fn measure<F, Fut>(args: &RunArgs, load: F) -> anyhow::Result<Phase>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = (Tally, Duration)>,
{
    let before = sample_cpu(args.measured.server_pid, args.measured.postmaster_pid)?;
    let (mut tally, elapsed) = load().await;
    let after = sample_cpu(args.measured.server_pid, args.measured.postmaster_pid)?;
    tally.answered.sort_unstable();
    let mut latencies_us: Vec<u32> = tally.answered.iter().map(|(_, us)| *us).collect();
    latencies_us.sort_unstable();
    Ok(Phase {
        tally,
        latencies_us,
        elapsed,
        cpu: (before, after),
    })
}
