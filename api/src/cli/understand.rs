//! `lyo understand`: what the assistant reads in one message, as one JSON object.

use anyhow::{anyhow, Context as _};
use clap::Args;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use lyo_domain::understanding::{understand, Context, Language, ServicePeriod};
use std::io::Write;

#[derive(Debug, Args)]
pub struct UnderstandArgs {
    /// Read the message in this language (it, en, es) instead of detecting it.
    #[arg(long)]
    lang: Option<Language>,
    /// The language assumed when detection is unsure.
    #[arg(long, default_value = "it")]
    default_lang: Language,
    /// The reference instant (RFC 3339); defaults to now.
    #[arg(long)]
    now: Option<String>,
    /// The tenant's time zone (IANA name).
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// A service period, repeatable: NAME=HH:MM-HH:MM (e.g. dinner=19:00-23:00).
    #[arg(long = "period", value_name = "NAME=FROM-TO")]
    periods: Vec<String>,
    /// The message.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
    text: Vec<String>,
}

fn parse_period(spec: &str) -> anyhow::Result<ServicePeriod> {
    let invalid = || anyhow!("--period `{spec}`: expected NAME=HH:MM-HH:MM");
    let (name, range) = spec.split_once('=').ok_or_else(invalid)?;
    let (from, to) = range.split_once('-').ok_or_else(invalid)?;
    let time = |s: &str| s.trim().parse::<Time>().map_err(|_| invalid());
    Ok(ServicePeriod {
        name: name.trim().to_string(),
        from: time(from)?,
        to: time(to)?,
    })
}

pub fn run(args: UnderstandArgs) -> anyhow::Result<()> {
    let now = match &args.now {
        Some(now) => now
            .parse::<Timestamp>()
            .with_context(|| format!("--now `{now}` is not an RFC 3339 instant"))?,
        None => Timestamp::now(),
    };
    let time_zone = TimeZone::get(&args.tz)
        .with_context(|| format!("--tz `{}` is not a known time zone", args.tz))?;
    let ctx = Context {
        now,
        time_zone,
        default_language: args.default_lang,
        forced_language: args.lang,
        service_periods: args
            .periods
            .iter()
            .map(|p| parse_period(p))
            .collect::<anyhow::Result<_>>()?,
    };
    let understood = understand(&args.text.join(" "), &ctx);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&understood)?)?;
    Ok(())
}
