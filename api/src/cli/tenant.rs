//! `lyo tenant add ...`: create a tenant from the command line, optionally with its booking and
//! assistant settings from JSON files (the objects `POST /api/v1/tenants` takes); prints it as
//! JSON.

use crate::platform::{Migrate, Platform};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use lyo_application::metadata::{Actor, ActorKind};
use lyo_application::tenants::{Caller, NewTenant, NewWhatsApp};
use lyo_domain::understanding::Language;
use lyo_infrastructure::config::Settings;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Add(AddArgs),
}

#[derive(Args)]
pub struct AddArgs {
    #[arg(long)]
    name: String,
    /// IANA time zone, e.g. Europe/Rome.
    #[arg(long)]
    timezone: String,
    /// Meta's phone number id; repeat for several numbers.
    #[arg(long = "phone-number-id", required = true)]
    phone_number_ids: Vec<String>,
    #[arg(long)]
    display_phone: Option<String>,
    #[arg(long)]
    business_account_id: Option<String>,
    /// Graph API access token (better: the environment variable, kept out of shell history).
    #[arg(long, env = "LYO_TENANT_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// The tenant's own Meta app secret, if it differs from WHATSAPP_APP_SECRET.
    #[arg(long, env = "LYO_TENANT_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// Languages, the first being the default; repeatable (it, en, es).
    #[arg(long = "language")]
    languages: Vec<Language>,
    /// Booking settings as JSON (hours, exceptions, granularity, lead, capacity; see docs/api.md).
    #[arg(long)]
    booking_file: Option<PathBuf>,
    /// Assistant settings as JSON (auto_confirm, address, reminder_minutes_before, templates).
    #[arg(long)]
    assistant_file: Option<PathBuf>,
}

/// Reads and parses one settings file, naming it in every error.
fn read_json<T: serde::de::DeserializeOwned>(path: &Option<PathBuf>) -> anyhow::Result<Option<T>> {
    path.as_ref()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .transpose()
}

impl std::fmt::Debug for AddArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddArgs")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

pub async fn run(settings: Settings, command: TenantCommand) -> anyhow::Result<()> {
    let (platform, _) = Platform::open(settings, Migrate::Yes).await?;
    let result = match command {
        TenantCommand::Add(args) => add(&platform, args).await,
    };
    platform.close().await;
    result
}

async fn add(platform: &Platform, args: AddArgs) -> anyhow::Result<()> {
    let new = NewTenant {
        booking: read_json(&args.booking_file)?,
        assistant: read_json(&args.assistant_file)?,
        name: args.name,
        time_zone: args.timezone,
        languages: if args.languages.is_empty() {
            vec![Language::It]
        } else {
            args.languages
        },
        whatsapp: NewWhatsApp {
            phone_number_ids: args.phone_number_ids,
            display_phone_number: args.display_phone,
            business_account_id: args.business_account_id,
            access_token: args.access_token,
            app_secret: args.app_secret,
        },
    };
    let caller = Caller {
        actor: Actor {
            kind: ActorKind::Admin,
            id: "cli".into(),
        },
        request_id: None,
    };
    let view = match platform.tenants.create(new, &caller).await {
        Ok(view) => view,
        Err(error) => bail!("cannot create the tenant: {error}"),
    };
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string(&view)?
    )?;
    Ok(())
}
