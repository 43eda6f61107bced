//! The library of `lyo-bench`: what its benchmarks share. Refusing non-loopback targets,
//! posting one signed delivery as Meta would, percentiles of sorted latencies, and the CPU
//! time of the server, the database and the whole machine.

use anyhow::{bail, Context};
use lyo_infrastructure::whatsapp::{sign, SimulatedDelivery};

/// The allocator `lyo serve` runs with, for every benchmark binary (they link this library): the
/// event-store benchmark measures the server's code in process, and the load generators share
/// the server's two cores, so their allocator's cost is the server's loss.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Fails unless `url` names this machine: load goes to loopback only.
pub fn require_loopback(url: &str) -> anyhow::Result<()> {
    let host = reqwest::Url::parse(url)?;
    if !matches!(
        host.host_str(),
        Some("127.0.0.1" | "::1" | "[::1]" | "localhost")
    ) {
        bail!("the benchmark only sends to loopback");
    }
    Ok(())
}

/// Posts `delivery` to `{url}/webhooks/whatsapp`, signed with `secret`; fails unless 200.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: SimulatedDelivery,
) -> anyhow::Result<()> {
    let response = client
        .post(format!("{url}/webhooks/whatsapp"))
        .header(
            "x-hub-signature-256",
            sign(secret.as_bytes(), &delivery.body),
        )
        .body(delivery.body)
        .send()
        .await?;
    if response.status() != 200 {
        bail!("webhook answered {}", response.status());
    }
    Ok(())
}

/// The `p`th percentile (nearest rank) of `sorted`; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

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

/// CPU time in clock ticks ([`sample_cpu`]).
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    pub server: u64,
    pub database: u64,
    /// This process (the load generator).
    pub generator: u64,
    /// The whole machine, all cores (`/proc/stat`): (busy, idle, stolen by the hypervisor).
    pub machine: (u64, u64, u64),
}

impl Cpu {
    /// Milliseconds of CPU per item from this sample to `after` (`clock_ticks` a second):
    /// (server, database, generator).
    pub fn ms_per_item(&self, after: &Cpu, clock_ticks: u64, items: u64) -> (f64, f64, f64) {
        let per = |a: u64, b: u64| {
            b.saturating_sub(a) as f64 * 1000.0 / clock_ticks.max(1) as f64 / items.max(1) as f64
        };
        (
            per(self.server, after.server),
            per(self.database, after.database),
            per(self.generator, after.generator),
        )
    }

    /// Percent of the machine's CPU time (all cores) from this sample to `after` that was busy,
    /// and that the hypervisor gave to someone else (steal): a latency measured while another
    /// guest took the cores is the host's, not the server's.
    pub fn machine_busy_and_steal(&self, after: &Cpu) -> (f64, f64) {
        let (busy, idle, steal) = (
            after.machine.0.saturating_sub(self.machine.0),
            after.machine.1.saturating_sub(self.machine.1),
            after.machine.2.saturating_sub(self.machine.2),
        );
        let total = (busy + idle + steal).max(1) as f64;
        (busy as f64 * 100.0 / total, steal as f64 * 100.0 / total)
    }
}

/// The machine's CPU time so far, all cores, from the first line of `/proc/stat`: (busy, idle
/// and waiting for I/O, steal), in clock ticks.
fn machine_ticks() -> anyhow::Result<(u64, u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").context("/proc/stat")?;
    let n = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<Vec<u64>, _>>()
        .context("/proc/stat: the cpu line")?;
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    let [user, nice, system, idle, iowait, irq, softirq, steal, ..] = n[..] else {
        bail!(
            "/proc/stat: the cpu line has {} fields, not 8 or more",
            n.len()
        );
    };
    Ok((user + nice + system + irq + softirq, idle + iowait, steal))
}

/// CPU time in clock ticks, from `/proc/<pid>/stat`, of the server, of the database (the
/// postmaster, its live children, and through the postmaster's cutime/cstime the children it
/// has reaped) and of this process.
pub fn sample_cpu(server: u32, postmaster: u32) -> anyhow::Result<Cpu> {
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
        machine: machine_ticks()?,
    })
}
