//! CPU time of the server, the database cluster and this process from `/proc/<pid>/stat`,
//! and a measured load phase (its tally, duration and CPU samples before and after).

use crate::load::Tally;
use crate::RunArgs;
use anyhow::Context;
use std::time::Duration;

/// (pid, ppid, utime + stime, cutime + cstime) in clock ticks.
fn proc_stat(pid: u32) -> Option<(u32, u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    let ppid = u32::try_from(n(1)?).ok()?;
    Some((pid, ppid, n(11)? + n(12)?, n(13)? + n(14)?))
}

#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) server: u64,
    pub(crate) database: u64,
    generator: u64,
}

/// The database's CPU: the postmaster, its live children, and (through the postmaster's
/// cutime/cstime) the children it has reaped.
pub(crate) fn sample_cpu(server: u32, postmaster: u32) -> anyhow::Result<Cpu> {
    let (_, _, server_ticks, _) =
        proc_stat(server).with_context(|| format!("server process {server} is gone"))?;
    let (_, _, own, reaped) =
        proc_stat(postmaster).with_context(|| format!("postmaster {postmaster} is gone"))?;
    let mut database = own + reaped;
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some((_, ppid, ticks, _)) = proc_stat(pid) {
            if ppid == postmaster {
                database += ticks;
            }
        }
    }
    let generator = proc_stat(std::process::id()).map_or(0, |(_, _, t, _)| t);
    Ok(Cpu {
        server: server_ticks,
        database,
        generator,
    })
}

pub(crate) struct Phase {
    pub(crate) tally: Tally,
    elapsed: Duration,
    cpu: (Cpu, Cpu),
}

impl Phase {
    pub(crate) fn accepted(&self) -> u64 {
        self.tally.latencies_us.len() as u64
    }
    pub(crate) fn rate(&self) -> f64 {
        self.accepted() as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn failed(&self) -> u64 {
        self.tally.failures.values().sum()
    }
    /// Percentile in ms (nearest rank); latencies must be sorted.
    pub(crate) fn percentile(&self, q: f64) -> f64 {
        let l = &self.tally.latencies_us;
        if l.is_empty() {
            return f64::NAN;
        }
        let rank = ((q * l.len() as f64).ceil() as usize).clamp(1, l.len());
        f64::from(l[rank - 1]) / 1000.0
    }
    /// CPU ms per acknowledged delivery: (server, database, generator).
    pub(crate) fn cpu_ms(&self, ticks: u64) -> (f64, f64, f64) {
        let (a, b) = self.cpu;
        let per = |x: u64, y: u64| {
            (y.saturating_sub(x)) as f64 * 1000.0 / ticks as f64 / self.accepted().max(1) as f64
        };
        (
            per(a.server, b.server),
            per(a.database, b.database),
            per(a.generator, b.generator),
        )
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
    tally.latencies_us.sort_unstable();
    Ok(Phase {
        tally,
        elapsed,
        cpu: (before, after),
    })
}
