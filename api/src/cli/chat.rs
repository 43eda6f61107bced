//! `lyo chat --tenant ID [--as PHONE]`: play a customer against a running server. Each line
//! typed is signed and posted to `/webhooks/whatsapp` as Meta would; the assistant's replies are
//! read back from the sandbox sender (`GET /api/v1/sandbox/messages`, admin token) and printed,
//! buttons and list rows numbered: typing a number taps that choice.
//!
//! The settings are the server's own (same environment, config file or data directory), so the
//! address, the admin token and the webhook app secret need no flags. Without `--tenant` a demo
//! restaurant is created on first use and remembered in the data directory.

use anyhow::{bail, Context};
use clap::Args;
use lyo_domain::reply::{Reply, ReplyBody};
use lyo_infrastructure::config::{provision, Settings};
use lyo_infrastructure::whatsapp::{sign, SimulatedCustomer, SimulatedDelivery};
use secrecy::ExposeSecret;
use serde::Deserialize;
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The tenant to write to; without it, a demo restaurant (created on first use).
    #[arg(long)]
    tenant: Option<String>,
    /// The customer's phone number (digits, with country code).
    #[arg(long = "as", default_value = "393330000000")]
    phone: String,
    /// The server; by default the one `LYO_BIND` names.
    #[arg(long)]
    url: Option<String>,
    /// How long to wait for the assistant after each message.
    #[arg(long, default_value_t = 10)]
    wait_seconds: u64,
}

/// One record of the sandbox sender, as the server lists it.
#[derive(Debug, Deserialize)]
pub struct SandboxMessage {
    pub seq: u64,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
struct SandboxPage {
    messages: Vec<SandboxMessage>,
}

struct Session {
    client: reqwest::Client,
    base: String,
    admin: String,
    app_secret: String,
    customer: SimulatedCustomer,
    /// The last sandbox record seen.
    seen: u64,
    /// The ids of the numbered choices of the last reply.
    choices: Vec<(String, bool)>,
    wait: Duration,
}

pub async fn run(mut settings: Settings, args: ChatArgs) -> anyhow::Result<()> {
    provision(&mut settings)?;
    let admin = settings
        .admin_token
        .as_ref()
        .context("no admin token: set LYO_ADMIN_TOKEN as for the server")?
        .expose_secret()
        .to_string();
    let app_secret = settings
        .whatsapp_app_secret
        .as_ref()
        .context("no webhook app secret: set WHATSAPP_APP_SECRET as for the server")?
        .expose_secret()
        .to_string();
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let tenant = match args.tenant {
        Some(tenant) => tenant,
        None => demo_tenant(&client, &base, &admin, &settings).await?,
    };
    let phone_number_id = phone_number_id(&client, &base, &admin, &tenant).await?;
    let mut session = Session {
        client,
        base,
        admin,
        app_secret,
        customer: SimulatedCustomer::new(&phone_number_id, &args.phone, "Sandbox"),
        seen: 0,
        choices: Vec::new(),
        wait: Duration::from_secs(args.wait_seconds),
    };
    session.seen = session.latest_seq().await?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "Chatting with tenant {tenant} as +{}. Type a message; a number taps a choice; Ctrl-D ends.",
        args.phone
    )?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        write!(out, "> ")?;
        out.flush()?;
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let now = jiff::Timestamp::now().as_second();
        let delivery = match line.parse::<usize>().ok().and_then(|n| n.checked_sub(1)) {
            Some(index) if index < session.choices.len() => {
                let (id, is_row) = session.choices[index].clone();
                if is_row {
                    session.customer.list_reply(&id, "", now)
                } else {
                    session.customer.button_reply(&id, "", now)
                }
            }
            _ => session.customer.text(line, now),
        };
        session.post(&delivery).await?;
        session.print_replies(&mut out).await?;
    }
    Ok(())
}

impl Session {
    async fn post(&self, delivery: &SimulatedDelivery) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header(
                "x-hub-signature-256",
                sign(self.app_secret.as_bytes(), &delivery.body),
            )
            .body(delivery.body.clone())
            .send()
            .await
            .with_context(|| format!("posting to {}", self.base))?;
        if !response.status().is_success() {
            bail!("the server answered {}", response.status());
        }
        Ok(())
    }

    async fn page(&self, after: u64) -> anyhow::Result<Vec<SandboxMessage>> {
        let response = self
            .client
            .get(format!(
                "{}/api/v1/sandbox/messages?after={after}",
                self.base
            ))
            .bearer_auth(&self.admin)
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            bail!("the server does not run the sandbox sender (LYO_SENDER=sandbox)");
        }
        if !response.status().is_success() {
            bail!("reading the sandbox answered {}", response.status());
        }
        Ok(response.json::<SandboxPage>().await?.messages)
    }

    async fn latest_seq(&self) -> anyhow::Result<u64> {
        Ok(self.page(0).await?.iter().map(|m| m.seq).max().unwrap_or(0))
    }

    /// Waits for this customer's replies: until one arrived and a second passed without more,
    /// or the wait ran out.
    async fn print_replies(&mut self, out: &mut impl Write) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.wait;
        let mut quiet_since: Option<Instant> = None;
        loop {
            let messages = self.page(self.seen).await?;
            let mut got = false;
            for message in messages {
                self.seen = self.seen.max(message.seq);
                if message.to.as_deref() != Some(self.customer.wa_id.as_str()) {
                    continue;
                }
                if let Some(reply) = message.reply {
                    got = true;
                    self.choices = show(out, &reply)?;
                }
            }
            if got {
                quiet_since = Some(Instant::now());
            }
            let settled = quiet_since.is_some_and(|at| at.elapsed() >= Duration::from_secs(1));
            if settled || Instant::now() >= deadline {
                if quiet_since.is_none() {
                    writeln!(out, "(no reply)")?;
                }
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// Prints a reply; returns its numbered choices (id, whether a list row).
fn show(out: &mut impl Write, reply: &Reply) -> anyhow::Result<Vec<(String, bool)>> {
    let mut choices = Vec::new();
    match &reply.body {
        ReplyBody::Text { body } => writeln!(out, "{body}")?,
        ReplyBody::Buttons { body, buttons } => {
            writeln!(out, "{body}")?;
            for button in buttons {
                choices.push((button.id.clone(), false));
                writeln!(out, "  {}) [{}]", choices.len(), button.title)?;
            }
        }
        ReplyBody::List {
            body,
            button,
            sections,
        } => {
            writeln!(out, "{body}\n  ({button})")?;
            for section in sections {
                if let Some(title) = &section.title {
                    writeln!(out, "  {title}")?;
                }
                for row in &section.rows {
                    choices.push((row.id.clone(), true));
                    match &row.description {
                        Some(d) => writeln!(out, "  {}) {} — {d}", choices.len(), row.title)?,
                        None => writeln!(out, "  {}) {}", choices.len(), row.title)?,
                    }
                }
            }
        }
        ReplyBody::Template {
            name,
            parameters,
            quick_replies,
            ..
        } => {
            writeln!(out, "[template {name}] {}", parameters.join(" · "))?;
            for payload in quick_replies {
                choices.push((payload.clone(), false));
                writeln!(out, "  {}) [{payload}]", choices.len())?;
            }
        }
    }
    Ok(choices)
}

async fn phone_number_id(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    tenant: &str,
) -> anyhow::Result<String> {
    let response = client
        .get(format!("{base}/api/v1/tenants/{tenant}"))
        .bearer_auth(admin)
        .send()
        .await
        .with_context(|| format!("is `lyo serve` running at {base}?"))?;
    if !response.status().is_success() {
        bail!("tenant {tenant}: the server answered {}", response.status());
    }
    let tenant: serde_json::Value = response.json().await?;
    tenant["whatsapp"]["phone_number_ids"][0]
        .as_str()
        .map(str::to_string)
        .context("the tenant has no phone number id")
}

/// The demo restaurant's phone number id (not a real one).
const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";

/// The demo tenant's id: remembered in the data directory, created on first use.
async fn demo_tenant(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    settings: &Settings,
) -> anyhow::Result<String> {
    let path = settings.data_dir.join("demo.tenant");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_string());
    }
    let response = client
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(admin)
        .json(&demo_body())
        .send()
        .await
        .with_context(|| format!("is `lyo serve` running at {base}?"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        bail!("creating the demo tenant: {status} {body}");
    }
    let created: serde_json::Value = response.json().await?;
    let id = created["id"]
        .as_str()
        .context("the created tenant has no id")?
        .to_string();
    std::fs::create_dir_all(&settings.data_dir)?;
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

fn demo_body() -> serde_json::Value {
    let periods = serde_json::json!([
        {"name": "pranzo", "from": "12:00", "to": "15:00"},
        {"name": "cena", "from": "19:00", "to": "23:00"}
    ]);
    let weekly: serde_json::Map<String, serde_json::Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|day| (day.to_string(), periods.clone()))
    .collect();
    serde_json::json!({
        "name": "Trattoria Demo",
        "time_zone": "Europe/Rome",
        "languages": ["it", "en", "es"],
        "whatsapp": {"phone_number_ids": [DEMO_PHONE_NUMBER_ID]},
        "booking": {
            "weekly": weekly,
            "granularity": 30,
            "lead": {"earliest": 60, "latest_days": 60},
            "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8,
                "tables": [{"id": "T1", "seats": 2}, {"id": "T2", "seats": 2},
                           {"id": "T3", "seats": 4}, {"id": "T4", "seats": 4},
                           {"id": "T5", "seats": 6}],
                "combinations": [{"tables": ["T3", "T4"]}]}
        },
        "assistant": {"auto_confirm": true, "address": "Via Roma 1, Roma"}
    })
}
