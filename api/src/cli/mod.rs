//! The `lyo` command line (see `docs/operations.md` and the shared interface contract).

mod chat;
mod projections;
mod tenant;
mod understand;

use crate::platform::{Migrate, Platform};
use crate::telemetry::init_tracing;
use clap::{Parser, Subcommand};
use lyo_infrastructure::config::Settings;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "lyo", version, about = "Lyo: the WhatsApp booking assistant")]
pub struct Cli {
    /// A TOML file with settings (same names as the environment variables).
    #[arg(long, global = true, env = "LYO_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server and its background workers.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect or rebuild projections.
    Projections {
        #[command(subcommand)]
        command: projections::ProjectionsCommand,
    },
    /// Administer tenants.
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Print, as one JSON object, what the assistant understands in a message.
    Understand(understand::UnderstandArgs),
    /// Play a customer against a running server (the sandbox sender shows the replies).
    Chat(chat::ChatArgs),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Commands that touch the database read the settings and set up logging; `understand` is
    // pure and offline and needs neither.
    let config = cli.config;
    let settings = || -> anyhow::Result<Settings> {
        let settings = Settings::load(config.as_deref())?;
        init_tracing(settings.log_format);
        Ok(settings)
    };
    match cli.command {
        Command::Serve => crate::serve::serve(settings()?).await?,
        Command::Migrate => {
            let (platform, _) = Platform::open(settings()?, Migrate::Yes).await?;
            tracing::info!(backend = ?platform.db.backend(), "migrations applied");
            platform.close().await;
        }
        Command::Projections { command } => projections::run(settings()?, command).await?,
        Command::Tenant { command } => tenant::run(settings()?, command).await?,
        Command::Understand(args) => understand::run(args)?,
        Command::Chat(args) => chat::run(settings()?, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}
