//! Configuration: environment variables, each also settable in an optional TOML file whose
//! keys are the same names (`DATABASE_URL = "postgres://..."`). The environment wins.
//!
//! With no `DATABASE_URL`, Lyo runs embedded: SQLite in `LYO_DATA_DIR` (default `lyo-data/`),
//! with the master key and admin token generated there once.

use crate::pii::{MasterKey, MasterKeyError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid TOML: {source}")]
    ParseFile {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("LYO_MASTER_KEY is required when DATABASE_URL points to Postgres")]
    MasterKeyRequired,
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderKind {
    Cloud,
    Sandbox,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None` means embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub admin_token: Option<SecretString>,
    pub master_key: Option<SecretString>,
    pub whatsapp_app_secret: Option<SecretString>,
    pub whatsapp_verify_token: Option<SecretString>,
    /// The Graph API base URL, version included (`https://graph.facebook.com/v21.0`).
    pub whatsapp_graph_url: String,
    pub sender: Option<SenderKind>,
    /// A whole Graph API request; past it, a send's outcome is unknown.
    pub graph_timeout: Duration,
    /// Connecting to the Graph API; past it, the request was certainly not sent.
    pub graph_connect_timeout: Duration,
    pub log_format: Option<LogFormat>,
    pub max_connections: u32,
    pub migrate_on_start: bool,
    pub projector_batch_size: u32,
    pub projector_lease_ttl: Duration,
    pub projector_idle_wait: Duration,
    pub shutdown_grace: Duration,
    pub max_message_age: Duration,
    pub rate_customer_per_minute: u32,
    pub rate_tenant_per_minute: u32,
    /// Inbox workers per process; 0 makes a process that only acknowledges webhooks.
    pub ingress_workers: u32,
    /// How often the reminder scheduler looks for due reminders; zero: this process sends none.
    pub reminder_interval: Duration,
    /// Reminders claimed per scheduler transaction.
    pub reminder_batch: u32,
    pub outbound: OutboundSettings,
}

/// The dispatcher's settings (`docs/operations.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundSettings {
    /// Dispatcher workers per process; 0 makes a process that sends nothing.
    pub workers: u32,
    pub batch: u32,
    pub claim_for: Duration,
    pub max_attempts: u32,
    pub max_age: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub per_number_per_second: u32,
    pub recipient_gap: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    pub block_pause: Duration,
}

/// Every name Lyo reads, for the config file check.
const KNOWN: &[&str] = &[
    "DATABASE_URL",
    "LYO_DATA_DIR",
    "LYO_BIND",
    "LYO_ADMIN_TOKEN",
    "LYO_MASTER_KEY",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_GRAPH_URL",
    "LYO_SENDER",
    "LYO_GRAPH_TIMEOUT_MS",
    "LYO_GRAPH_CONNECT_TIMEOUT_MS",
    "LYO_LOG_FORMAT",
    "LYO_DB_MAX_CONNECTIONS",
    "LYO_MIGRATE_ON_START",
    "LYO_PROJECTOR_BATCH_SIZE",
    "LYO_PROJECTOR_LEASE_TTL_MS",
    "LYO_PROJECTOR_IDLE_WAIT_MS",
    "LYO_SHUTDOWN_GRACE_SECS",
    "LYO_MAX_MESSAGE_AGE_SECS",
    "LYO_RATE_CUSTOMER_PER_MINUTE",
    "LYO_RATE_TENANT_PER_MINUTE",
    "LYO_INGRESS_WORKERS",
    "LYO_OUTBOUND_WORKERS",
    "LYO_OUTBOUND_BATCH",
    "LYO_OUTBOUND_CLAIM_SECS",
    "LYO_OUTBOUND_MAX_ATTEMPTS",
    "LYO_OUTBOUND_MAX_AGE_SECS",
    "LYO_OUTBOUND_BACKOFF_BASE_MS",
    "LYO_OUTBOUND_BACKOFF_MAX_MS",
    "LYO_OUTBOUND_PER_NUMBER_PER_SECOND",
    "LYO_OUTBOUND_RECIPIENT_GAP_MS",
    "LYO_OUTBOUND_BREAKER_FAILURES",
    "LYO_OUTBOUND_BREAKER_COOLDOWN_SECS",
    "LYO_OUTBOUND_BLOCK_PAUSE_SECS",
    "LYO_REMINDER_INTERVAL_MS",
    "LYO_REMINDER_BATCH",
];

impl Settings {
    /// Reads the process environment over the optional file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, |name| std::env::var(name).ok())
    }

    pub fn from_sources(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let from_file = match file {
            Some(path) => read_file(path)?,
            None => HashMap::new(),
        };
        let get = |name: &str| {
            env(name)
                .filter(|v| !v.is_empty())
                .or_else(|| from_file.get(name).cloned())
        };
        let secret = |name: &str| get(name).map(SecretString::from);
        Self {
            database_url: get("DATABASE_URL"),
            data_dir: PathBuf::from(get("LYO_DATA_DIR").unwrap_or_else(|| "lyo-data".into())),
            bind: parse("LYO_BIND", get("LYO_BIND"), "127.0.0.1:8080".parse().ok())?,
            admin_token: secret("LYO_ADMIN_TOKEN"),
            master_key: secret("LYO_MASTER_KEY"),
            whatsapp_app_secret: secret("WHATSAPP_APP_SECRET"),
            whatsapp_verify_token: secret("WHATSAPP_VERIFY_TOKEN"),
            whatsapp_graph_url: get("WHATSAPP_GRAPH_URL")
                .unwrap_or_else(|| "https://graph.facebook.com/v21.0".into()),
            sender: match get("LYO_SENDER").as_deref() {
                None => None,
                // `graph` is accepted as another name of the Cloud API adapter (`GraphSender`).
                Some("cloud" | "graph") => Some(SenderKind::Cloud),
                Some("sandbox") => Some(SenderKind::Sandbox),
                Some(other) => {
                    return Err(invalid(
                        "LYO_SENDER",
                        format!("`{other}` is not cloud or sandbox"),
                    ))
                }
            },
            graph_timeout: Duration::from_millis(parse(
                "LYO_GRAPH_TIMEOUT_MS",
                get("LYO_GRAPH_TIMEOUT_MS"),
                Some(10_000),
            )?),
            graph_connect_timeout: Duration::from_millis(parse(
                "LYO_GRAPH_CONNECT_TIMEOUT_MS",
                get("LYO_GRAPH_CONNECT_TIMEOUT_MS"),
                Some(3_000),
            )?),
            log_format: match get("LYO_LOG_FORMAT").as_deref() {
                None => None,
                Some("json") => Some(LogFormat::Json),
                Some("pretty") => Some(LogFormat::Pretty),
                Some(other) => {
                    return Err(invalid(
                        "LYO_LOG_FORMAT",
                        format!("`{other}` is not json or pretty"),
                    ))
                }
            },
            max_connections: parse(
                "LYO_DB_MAX_CONNECTIONS",
                get("LYO_DB_MAX_CONNECTIONS"),
                Some(20),
            )?,
            migrate_on_start: parse(
                "LYO_MIGRATE_ON_START",
                get("LYO_MIGRATE_ON_START"),
                Some(true),
            )?,
            projector_batch_size: parse(
                "LYO_PROJECTOR_BATCH_SIZE",
                get("LYO_PROJECTOR_BATCH_SIZE"),
                Some(500),
            )?,
            projector_lease_ttl: Duration::from_millis(parse(
                "LYO_PROJECTOR_LEASE_TTL_MS",
                get("LYO_PROJECTOR_LEASE_TTL_MS"),
                Some(15_000),
            )?),
            projector_idle_wait: Duration::from_millis(parse(
                "LYO_PROJECTOR_IDLE_WAIT_MS",
                get("LYO_PROJECTOR_IDLE_WAIT_MS"),
                Some(1_000),
            )?),
            shutdown_grace: Duration::from_secs(parse(
                "LYO_SHUTDOWN_GRACE_SECS",
                get("LYO_SHUTDOWN_GRACE_SECS"),
                Some(20),
            )?),
            max_message_age: Duration::from_secs(parse(
                "LYO_MAX_MESSAGE_AGE_SECS",
                get("LYO_MAX_MESSAGE_AGE_SECS"),
                Some(6 * 3600),
            )?),
            rate_customer_per_minute: parse(
                "LYO_RATE_CUSTOMER_PER_MINUTE",
                get("LYO_RATE_CUSTOMER_PER_MINUTE"),
                Some(20),
            )?,
            rate_tenant_per_minute: parse(
                "LYO_RATE_TENANT_PER_MINUTE",
                get("LYO_RATE_TENANT_PER_MINUTE"),
                Some(600),
            )?,
            ingress_workers: parse("LYO_INGRESS_WORKERS", get("LYO_INGRESS_WORKERS"), Some(1))?,
            outbound: OutboundSettings::load(&get)?,
            reminder_interval: Duration::from_millis(parse(
                "LYO_REMINDER_INTERVAL_MS",
                get("LYO_REMINDER_INTERVAL_MS"),
                Some(15_000),
            )?),
            reminder_batch: parse("LYO_REMINDER_BATCH", get("LYO_REMINDER_BATCH"), Some(100))?,
        }
        .check_bounds()
    }

    /// Refuses values that would make the service spin or stall.
    fn check_bounds(self) -> Result<Self, ConfigError> {
        let at_least = |name: &'static str, value: u128, min: u128| {
            if value < min {
                Err(invalid(name, format!("must be at least {min}")))
            } else {
                Ok(())
            }
        };
        at_least(
            "LYO_PROJECTOR_BATCH_SIZE",
            self.projector_batch_size.into(),
            1,
        )?;
        at_least(
            "LYO_PROJECTOR_LEASE_TTL_MS",
            self.projector_lease_ttl.as_millis(),
            100,
        )?;
        at_least(
            "LYO_PROJECTOR_IDLE_WAIT_MS",
            self.projector_idle_wait.as_millis(),
            10,
        )?;
        at_least("LYO_DB_MAX_CONNECTIONS", self.max_connections.into(), 1)?;
        at_least("LYO_GRAPH_TIMEOUT_MS", self.graph_timeout.as_millis(), 100)?;
        at_least(
            "LYO_GRAPH_CONNECT_TIMEOUT_MS",
            self.graph_connect_timeout.as_millis(),
            10,
        )?;
        if self.graph_timeout > Duration::from_secs(120) {
            return Err(invalid(
                "LYO_GRAPH_TIMEOUT_MS",
                "must be at most 120000".into(),
            ));
        }
        if self.graph_connect_timeout > self.graph_timeout {
            return Err(invalid(
                "LYO_GRAPH_CONNECT_TIMEOUT_MS",
                "must not exceed LYO_GRAPH_TIMEOUT_MS".into(),
            ));
        }
        let interval = self.reminder_interval.as_millis();
        if interval != 0 && !(100..=3_600_000).contains(&interval) {
            return Err(invalid(
                "LYO_REMINDER_INTERVAL_MS",
                "must be 0 (no reminders from this process) or 100 to 3600000".into(),
            ));
        }
        if !(1..=1000).contains(&self.reminder_batch) {
            return Err(invalid("LYO_REMINDER_BATCH", "must be 1 to 1000".into()));
        }
        match reqwest::Url::parse(&self.whatsapp_graph_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base() => {}
            _ => {
                return Err(invalid(
                    "WHATSAPP_GRAPH_URL",
                    "must be an absolute http(s) URL such as https://graph.facebook.com/v21.0"
                        .into(),
                ))
            }
        }
        Ok(self)
    }

    pub fn is_embedded(&self) -> bool {
        self.database_url.is_none()
    }

    /// The database URL, `sqlite://<data dir>/lyo.db` when embedded.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("lyo.db").display()),
        }
    }

    pub fn effective_sender(&self) -> SenderKind {
        self.sender.unwrap_or(if self.is_embedded() {
            SenderKind::Sandbox
        } else {
            SenderKind::Cloud
        })
    }
}

impl OutboundSettings {
    fn load(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let number = |name: &'static str, default: u64| parse(name, get(name), Some(default));
        let ms =
            |name: &'static str, default: u64| number(name, default).map(Duration::from_millis);
        let secs =
            |name: &'static str, default: u64| number(name, default).map(Duration::from_secs);
        let small = |name: &'static str, default: u32| parse(name, get(name), Some(default));
        let settings = Self {
            workers: small("LYO_OUTBOUND_WORKERS", 4)?,
            batch: small("LYO_OUTBOUND_BATCH", 32)?,
            claim_for: secs("LYO_OUTBOUND_CLAIM_SECS", 60)?,
            max_attempts: small("LYO_OUTBOUND_MAX_ATTEMPTS", 8)?,
            max_age: secs("LYO_OUTBOUND_MAX_AGE_SECS", 24 * 3600)?,
            backoff_base: ms("LYO_OUTBOUND_BACKOFF_BASE_MS", 1_000)?,
            backoff_max: ms("LYO_OUTBOUND_BACKOFF_MAX_MS", 300_000)?,
            per_number_per_second: small("LYO_OUTBOUND_PER_NUMBER_PER_SECOND", 80)?,
            recipient_gap: ms("LYO_OUTBOUND_RECIPIENT_GAP_MS", 250)?,
            breaker_failures: small("LYO_OUTBOUND_BREAKER_FAILURES", 10)?,
            breaker_cooldown: secs("LYO_OUTBOUND_BREAKER_COOLDOWN_SECS", 30)?,
            block_pause: secs("LYO_OUTBOUND_BLOCK_PAUSE_SECS", 900)?,
        };
        settings.check_bounds()
    }

    /// Refuses values that would make the dispatcher spin, stall or send twice.
    fn check_bounds(self) -> Result<Self, ConfigError> {
        let within = |name: &'static str, value: u128, min: u128, max: u128| {
            if value < min || value > max {
                Err(invalid(name, format!("must be between {min} and {max}")))
            } else {
                Ok(())
            }
        };
        within("LYO_OUTBOUND_WORKERS", self.workers.into(), 0, 64)?;
        within("LYO_OUTBOUND_BATCH", self.batch.into(), 1, 100)?;
        within(
            "LYO_OUTBOUND_CLAIM_SECS",
            self.claim_for.as_secs().into(),
            5,
            3600,
        )?;
        within(
            "LYO_OUTBOUND_MAX_ATTEMPTS",
            self.max_attempts.into(),
            1,
            100,
        )?;
        within(
            "LYO_OUTBOUND_MAX_AGE_SECS",
            self.max_age.as_secs().into(),
            60,
            7 * 86_400,
        )?;
        within(
            "LYO_OUTBOUND_BACKOFF_BASE_MS",
            self.backoff_base.as_millis(),
            1,
            60_000,
        )?;
        within(
            "LYO_OUTBOUND_BACKOFF_MAX_MS",
            self.backoff_max.as_millis(),
            1,
            86_400_000,
        )?;
        if self.backoff_max < self.backoff_base {
            return Err(invalid(
                "LYO_OUTBOUND_BACKOFF_MAX_MS",
                "must not be below LYO_OUTBOUND_BACKOFF_BASE_MS".into(),
            ));
        }
        within(
            "LYO_OUTBOUND_PER_NUMBER_PER_SECOND",
            self.per_number_per_second.into(),
            1,
            10_000,
        )?;
        within(
            "LYO_OUTBOUND_RECIPIENT_GAP_MS",
            self.recipient_gap.as_millis(),
            0,
            60_000,
        )?;
        within(
            "LYO_OUTBOUND_BREAKER_FAILURES",
            self.breaker_failures.into(),
            1,
            10_000,
        )?;
        within(
            "LYO_OUTBOUND_BREAKER_COOLDOWN_SECS",
            self.breaker_cooldown.as_secs().into(),
            1,
            3600,
        )?;
        within(
            "LYO_OUTBOUND_BLOCK_PAUSE_SECS",
            self.block_pause.as_secs().into(),
            1,
            7 * 86_400,
        )?;
        Ok(self)
    }
}

fn invalid(name: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { name, reason }
}

fn parse<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
    default: Option<T>,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match value {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| invalid(name, e.to_string())),
        None => default.ok_or_else(|| invalid(name, "missing".into())),
    }
}

fn read_file(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|source| ConfigError::ParseFile {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let name = key.to_ascii_uppercase();
        if !KNOWN.contains(&name.as_str()) {
            return Err(invalid("config file", format!("unknown setting `{key}`")));
        }
        let value = match value {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        values.insert(name, value);
    }
    Ok(values)
}

/// What embedded mode created on this start, to tell the operator.
#[derive(Debug, Default)]
pub struct Provisioned {
    pub generated_master_key: Option<PathBuf>,
    pub generated_admin_token: Option<(PathBuf, SecretString)>,
    /// The webhook app secret of the sandbox (`lyo chat` signs with it).
    pub generated_app_secret: Option<PathBuf>,
}

/// Resolves the master key and admin token. Embedded: read from (or generate once into)
/// the data directory. Postgres: the master key must be configured.
pub fn provision(settings: &mut Settings) -> Result<(MasterKey, Provisioned), ConfigError> {
    let mut provisioned = Provisioned::default();
    if settings.is_embedded() {
        let dir = settings.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| ConfigError::DataDir {
            path: dir.clone(),
            source,
        })?;
        if settings.master_key.is_none() {
            let path = dir.join("master.key");
            let (key, created) = read_or_create(&path, MasterKey::generate_base64)?;
            if created {
                provisioned.generated_master_key = Some(path);
            }
            settings.master_key = Some(key);
        }
        if settings.admin_token.is_none() {
            let path = dir.join("admin.token");
            let (token, created) = read_or_create(&path, || {
                format!("lyo_admin_{}", uuid::Uuid::new_v4().simple())
            })?;
            if created {
                provisioned.generated_admin_token = Some((path, token.clone()));
            }
            settings.admin_token = Some(token);
        }
        // The sandbox: nothing comes from Meta, so `lyo chat` signs the webhooks it plays
        // with a secret of this installation's own.
        if settings.whatsapp_app_secret.is_none()
            && settings.effective_sender() == SenderKind::Sandbox
        {
            let path = dir.join("webhook.secret");
            let (secret, created) = read_or_create(&path, || {
                format!("lyo_sandbox_{}", uuid::Uuid::new_v4().simple())
            })?;
            if created {
                provisioned.generated_app_secret = Some(path);
            }
            settings.whatsapp_app_secret = Some(secret);
        }
    }
    let key = settings
        .master_key
        .as_ref()
        .ok_or(ConfigError::MasterKeyRequired)?;
    Ok((MasterKey::from_base64(key.expose_secret())?, provisioned))
}

/// Reads a secret file, or creates it with owner-only permissions.
fn read_or_create(
    path: &Path,
    make: impl Fn() -> String,
) -> Result<(SecretString, bool), ConfigError> {
    let err = |source| ConfigError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(existing) => Ok((SecretString::from(existing.trim().to_string()), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = make();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(path).map_err(err)?;
            std::io::Write::write_all(&mut file, format!("{value}\n").as_bytes()).map_err(err)?;
            file.sync_all().map_err(err)?;
            Ok((SecretString::from(value), true))
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_environment_wins_over_the_file() {
        let dir = std::env::temp_dir().join(format!("lyo-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lyo.toml");
        std::fs::write(
            &file,
            "LYO_BIND = \"127.0.0.1:9000\"\nLYO_PROJECTOR_BATCH_SIZE = 50\n",
        )
        .unwrap();
        let settings = Settings::from_sources(Some(&file), |name| {
            (name == "LYO_BIND").then(|| "127.0.0.1:9100".to_string())
        })
        .unwrap();
        assert_eq!(settings.bind.port(), 9100);
        assert_eq!(settings.projector_batch_size, 50);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unknown_file_setting_is_an_error() {
        let dir = std::env::temp_dir().join(format!("lyo-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lyo.toml");
        std::fs::write(&file, "LYO_BINDD = \"x\"\n").unwrap();
        assert!(Settings::from_sources(Some(&file), |_| None).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn graph_settings_are_bounded() {
        let with = |name: &'static str, value: &'static str| {
            Settings::from_sources(None, move |n| (n == name).then(|| value.to_string()))
        };
        let defaults = with("LYO_BIND", "127.0.0.1:8080").unwrap();
        assert_eq!(
            defaults.whatsapp_graph_url,
            "https://graph.facebook.com/v21.0"
        );
        assert_eq!(defaults.graph_timeout, Duration::from_secs(10));
        assert!(with("LYO_GRAPH_TIMEOUT_MS", "5").is_err());
        assert!(with("LYO_GRAPH_TIMEOUT_MS", "600000").is_err());
        assert!(with("LYO_GRAPH_CONNECT_TIMEOUT_MS", "20000").is_err());
        assert!(with("WHATSAPP_GRAPH_URL", "graph.facebook.com/v21.0").is_err());
        assert!(with("WHATSAPP_GRAPH_URL", "ftp://graph.facebook.com").is_err());
        assert!(with("WHATSAPP_GRAPH_URL", "http://127.0.0.1:9/v21.0").is_ok());
    }

    #[test]
    fn outbound_settings_are_bounded() {
        let with = |name: &'static str, value: &'static str| {
            Settings::from_sources(None, move |n| (n == name).then(|| value.to_string()))
        };
        let defaults = with("LYO_BIND", "127.0.0.1:8080").unwrap().outbound;
        assert_eq!(defaults.per_number_per_second, 80);
        assert_eq!(defaults.max_attempts, 8);
        assert!(with("LYO_OUTBOUND_PER_NUMBER_PER_SECOND", "0").is_err());
        assert!(with("LYO_OUTBOUND_CLAIM_SECS", "1").is_err());
        assert!(with("LYO_OUTBOUND_BACKOFF_MAX_MS", "0").is_err());
        assert!(with("LYO_OUTBOUND_WORKERS", "0").is_ok());
        assert_eq!(
            with("LYO_SENDER", "graph").unwrap().sender,
            Some(SenderKind::Cloud)
        );
    }

    #[test]
    fn reminder_settings_are_bounded() {
        let with = |name: &'static str, value: &'static str| {
            Settings::from_sources(None, move |n| (n == name).then(|| value.to_string()))
        };
        let defaults = with("LYO_BIND", "127.0.0.1:8080").unwrap();
        assert_eq!(defaults.reminder_interval, Duration::from_secs(15));
        assert_eq!(defaults.reminder_batch, 100);
        assert!(with("LYO_REMINDER_INTERVAL_MS", "0").is_ok());
        assert!(with("LYO_REMINDER_INTERVAL_MS", "5").is_err());
        assert!(with("LYO_REMINDER_INTERVAL_MS", "3600001").is_err());
        assert!(with("LYO_REMINDER_BATCH", "0").is_err());
        assert!(with("LYO_REMINDER_BATCH", "1001").is_err());
    }

    #[test]
    fn postgres_without_master_key_is_refused() {
        let mut settings = Settings::from_sources(None, |name| {
            (name == "DATABASE_URL").then(|| "postgres://localhost/lyo".to_string())
        })
        .unwrap();
        assert!(matches!(
            provision(&mut settings),
            Err(ConfigError::MasterKeyRequired)
        ));
    }
}
