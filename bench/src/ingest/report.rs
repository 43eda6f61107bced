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
    pub(crate) paced: &'a Phase,
    /// Inbox batch-size (sum, count) before the peak, between the phases and after the paced one.
    pub(crate) batches: [(f64, f64); 3],
}

pub(crate) fn write(out: &mut impl Write, report: &Report<'_>) -> anyhow::Result<()> {
    let Report {
        args,
        mix,
        mean_bytes,
        target_rate,
        peak,
        paced,
        batches: [b0, b1, b2],
    } = *report;
    writeln!(
        out,
        "Load: {} keep-alive connections from one client process on the same machine, each POSTing \
         signed deliveries (`X-Hub-Signature-256` over the raw bytes) rotating through {} fixtures \
         (`infrastructure/tests/fixtures/whatsapp/`: {}; compact JSON, mean {:.0} bytes), every \
         message and status id unique, the customer (phone number and user id) one of {} in turn. \
         {} s warm-up, then {} s closed loop (each connection sends \
         again as soon as it is answered: the peak), then {} s open loop paced at {:.0}% of that \
         peak (latency counted from each request's scheduled start). A delivery counts as \
         acknowledged only on a 200, which the server sends after the commit.",
        args.connections,
        mix.len(),
        mix.join(", "),
        mean_bytes,
        args.customers,
        args.warmup_seconds,
        args.seconds,
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
    for (name, phase, commits) in [
        ("peak (closed loop)".to_string(), peak, per_commit(b0, b1)),
        (
            format!("paced at {target_rate:.0}/s"),
            paced,
            per_commit(b1, b2),
        ),
    ] {
        let max = phase.tally.latencies_us.last().copied().unwrap_or(0);
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
    for (phase, name) in [(peak, "peak"), (paced, "paced")] {
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
         reaped):"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| phase | server | database | server + database | load generator (not counted) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|")?;
    let ticks = args.measured.clock_ticks.max(1);
    for (name, phase) in [("peak", peak), ("paced", paced)] {
        let (s, d, g) = phase.cpu_ms(ticks);
        writeln!(
            out,
            "| {name} | {s:.3} ms | {d:.3} ms | {:.3} ms | {g:.3} ms |",
            s + d
        )?;
    }
    writeln!(out)?;
    let (s, d, _) = peak.cpu_ms(ticks);
    let verdict = |ok: bool| if ok { "**met**" } else { "**not met**" };
    match args.measured.pgbench_tps {
        Some(tps) => writeln!(
            out,
            "Targets: acknowledged deliveries/s at least 2x pgbench's raw single-insert tx/s at {} \
             clients ({tps:.0}): {:.2}x, {}; p99 under 20 ms at half the peak rate: {:.2} ms, {}.",
            args.pgbench_clients,
            peak.rate() / tps,
            verdict(peak.rate() >= 2.0 * tps),
            paced.percentile(0.99),
            verdict(paced.percentile(0.99) < 20.0)
        )?,
        None => writeln!(
            out,
            "Targets: no pgbench figure given; p99 under 20 ms at half the peak rate: {:.2} ms, {}.",
            paced.percentile(0.99),
            verdict(paced.percentile(0.99) < 20.0)
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
