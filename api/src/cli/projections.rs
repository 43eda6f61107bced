//! `lyo projections status|rebuild`.

use crate::platform::{Migrate, Platform};
use anyhow::{bail, Context};
use clap::Subcommand;
use lyo_application::projection::{status, ProjectionError, ProjectorStatus};
use lyo_infrastructure::config::Settings;
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Show each projector's checkpoint, lag and lease holder.
    Status {
        /// One JSON object per projector, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Empty a projection and replay it from the first event.
    Rebuild { name: String },
}

pub async fn run(settings: Settings, command: ProjectionsCommand) -> anyhow::Result<()> {
    let (platform, _) = Platform::open(settings, Migrate::No).await?;
    let pending = platform.db.pending_migrations().await?;
    if pending > 0 {
        bail!("{pending} migration(s) not applied; run `lyo migrate` first");
    }
    let result = match command {
        ProjectionsCommand::Status { json } => print_status(&platform, json).await,
        ProjectionsCommand::Rebuild { name } => rebuild(&platform, &name).await,
    };
    platform.close().await;
    result
}

use lyo_infrastructure::now_ms;

async fn print_status(platform: &Platform, json: bool) -> anyhow::Result<()> {
    let mut lines: Vec<ProjectorStatus> = Vec::new();
    for projector in &platform.projectors {
        lines.push(
            status(
                projector.as_ref(),
                platform.log.as_ref(),
                platform.leases.as_ref(),
                now_ms(),
            )
            .await?,
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        for line in &lines {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:>24} {:>12}  LEASE",
        "PROJECTOR", "CHECKPOINT", "LAG"
    )?;
    for line in &lines {
        writeln!(
            out,
            "{:<24} {:>24} {:>12}  {}",
            line.name,
            line.checkpoint.to_string(),
            line.lag_events,
            line.lease_owner.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

async fn rebuild(platform: &Platform, name: &str) -> anyhow::Result<()> {
    let projector = platform.projector(name)?;
    projector
        .reset()
        .await
        .context("resetting the projection")?;
    let mut out = std::io::stdout().lock();
    let ttl = platform.settings.projector_lease_ttl;
    if !platform
        .leases
        .try_acquire(name, &platform.owner, ttl)
        .await?
    {
        let holder = platform
            .leases
            .holder(name)
            .await?
            .map(|h| h.owner)
            .unwrap_or_default();
        writeln!(
            out,
            "reset {name}; the running server {holder} is replaying it from the first event"
        )?;
        return Ok(());
    }
    let runner = platform.runner(projector.clone());
    let outcome = runner.catch_up().await;
    platform.leases.release(name, &platform.owner).await?;
    let batches = match outcome {
        Err(ProjectionError::LeaseLost(_) | ProjectionError::CheckpointMoved(_)) => {
            writeln!(out, "reset {name}; a running server took over the replay")?;
            return Ok(());
        }
        other => other.context("replaying")?,
    };
    let checkpoint = projector.checkpoint().await?;
    writeln!(
        out,
        "rebuilt {name}: {batches} batch(es) replayed, checkpoint {checkpoint}"
    )?;
    Ok(())
}
