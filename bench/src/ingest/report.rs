//! The Markdown section `run` prints: the load, the latency table, CPU per delivery and the
//! targets.

use crate::cpu::Phase;
use crate::RunArgs;
use std::io::Write;

/// What `run` measured, for the report.
pub(crate) struct Report<'a> {
    pub(crate) args: &'a RunArgs,
    /// The fixture names rotated through.
    pub(crate) mix: &'a [String],
    pub(crate) mean_bytes: f64,
    pub(crate) target_rate: f64,
    pub(crate) peak: &'a Phase,
    /// One or more paced phases at `target_rate`.
    pub(crate) paced: &'a [Phase],
    /// Inbox batch-size (sum, count) before the peak and after each phase.
    pub(crate) batches: &'a [(f64, f64)],
}

/// The median of the paced phases' p99s (the lower middle one for an even count).
fn median_p99(paced: &[Phase]) -> f64 {
    let mut p99: Vec<f64> = paced.iter().map(|p| p.percentile(0.99)).collect();
    p99.sort_by(f64::total_cmp);
    p99.get(p99.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

pub(crate) fn write(out: &mut impl Write, report: &Report<'_>) -> anyhow::Result<()> {
    let Report {
        args,
        mix,
        mean_bytes,
        target_rate,
        peak,
        paced,
        batches,
    } = *report;
    let runs = paced.len();
    writeln!(
        out,
        "Load: {} keep-alive connections from one client process on the same machine, each POSTing \
         signed deliveries (`X-Hub-Signature-256` over the raw bytes) rotating through {} fixtures \
         (`infrastructure/tests/fixtures/whatsapp/`: {}; compact JSON, mean {:.0} bytes), every \
         message and status id unique, the customer (phone number and user id) one of {} in turn. \
         {} s warm-up, then {} s closed loop (each connection sends \
         again as soon as it is answered: the peak), then {} open-loop phases of {} s paced at \
         {:.0}% of that peak (latency counted from each request's scheduled start), one after the \
         other. A delivery counts as acknowledged only on a 200, which the server sends after \
         the commit.",
        args.connections,
        mix.len(),
        mix.join(", "),
        mean_bytes,
        args.customers,
        args.warmup_seconds,
        args.seconds,
        runs,
        args.seconds,
        args.paced_fraction * 100.0
    )?;
    writeln!(out)?;
    writeln!(out, "| phase | acknowledged | failed | acknowledged/s | vs pgbench {} clients | p50 | p99 | p99.9 | max | deliveries per commit |", args.pgbench_clients)?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    let per_commit = |a: (f64, f64), b: (f64, f64)| {
        let mean = (b.0 - a.0) / (b.1 - a.1);
        if mean.is_finite() {
            format!("{mean:.1}")
        } else {
            "—".into()
        }
    };
    let ratio = |rate: f64| {
        args.measured
            .pgbench_tps
            .map(|tps| format!("{:.2}x", rate / tps))
            .unwrap_or_else(|| "—".into())
    };
    let phases: Vec<(String, &Phase)> = std::iter::once(("peak (closed loop)".to_string(), peak))
        .chain(paced.iter().enumerate().map(|(i, phase)| {
            let run = if runs > 1 {
                format!(", run {}", i + 1)
            } else {
                String::new()
            };
            (format!("paced at {target_rate:.0}/s{run}"), phase)
        }))
        .collect();
    for (i, (name, phase)) in phases.iter().enumerate() {
        let commits = match (batches.get(i), batches.get(i + 1)) {
            (Some(a), Some(b)) => per_commit(*a, *b),
            _ => "—".into(),
        };
        let max = phase.latencies_us.last().copied().unwrap_or(0);
        writeln!(
            out,
            "| {name} | {} | {} | {:.0} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {commits} |",
            phase.accepted(),
            phase.failed(),
            phase.rate(),
            ratio(phase.rate()),
            phase.percentile(0.50),
            phase.percentile(0.99),
            phase.percentile(0.999),
            f64::from(max) / 1000.0,
        )?;
    }
    for (name, phase) in &phases {
        if !phase.tally.failures.is_empty() {
            let list: Vec<String> = phase
                .tally
                .failures
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            writeln!(out, "\nFailed requests ({name}): {}.", list.join(", "))?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "CPU time per acknowledged delivery (utime + stime from `/proc/<pid>/stat` before and \
         after each phase; database = the postmaster, its live children and the children it \
         reaped), and how busy the whole machine was (all cores, `/proc/stat`; steal: time the \
         hypervisor gave to other guests, which shows in latency but in no process's CPU):"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| phase | server | database | server + database | load generator (not counted) | machine busy | steal |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
    let ticks = args.measured.clock_ticks.max(1);
    for (name, phase) in &phases {
        let (s, d, g) = phase.cpu_ms(ticks);
        let (busy, steal) = phase.machine();
        writeln!(
            out,
            "| {name} | {s:.3} ms | {d:.3} ms | {:.3} ms | {g:.3} ms | {busy:.0}% | {steal:.1}% |",
            s + d
        )?;
    }
    writeln!(out)?;
    let (s, d, _) = peak.cpu_ms(ticks);
    let verdict = |ok: bool| if ok { "**met**" } else { "**not met**" };
    let p99 = median_p99(paced);
    let paced_p99 = if runs > 1 {
        let each: Vec<String> = paced
            .iter()
            .map(|p| format!("{:.2}", p.percentile(0.99)))
            .collect();
        format!(
            "median of {runs} phases {p99:.2} ms ({} ms)",
            each.join(", ")
        )
    } else {
        format!("{p99:.2} ms")
    };
    match args.measured.pgbench_tps {
        Some(tps) => writeln!(
            out,
            "Targets: acknowledged deliveries/s at least 2x pgbench's raw single-insert tx/s at {} \
             clients ({tps:.0}): {:.2}x, {}; p99 under 20 ms at half the peak rate: {paced_p99}, {}.",
            args.pgbench_clients,
            peak.rate() / tps,
            verdict(peak.rate() >= 2.0 * tps),
            verdict(p99 < 20.0)
        )?,
        None => writeln!(
            out,
            "Targets: no pgbench figure given; p99 under 20 ms at half the peak rate: {paced_p99}, {}.",
            verdict(p99 < 20.0)
        )?,
    }
    writeln!(out)?;
    writeln!(
        out,
        "For scale (figures quoted in issue 3, not measured here): the cqrs-es demo does about \
         2,100 commands/s at 0.78 ms CPU per command; here the acknowledgement costs {:.3} ms CPU \
         (server + database) per delivery.",
        s + d
    )?;
    Ok(())
}
