//! The public vocabulary of understanding: languages, intents, the tenant context a message is
//! read in, and the serialised result (`lyo understand` prints it; tests script against it).
//!
//! Invariant: the JSON shape is a contract. Dates print as `YYYY-MM-DD`, times as 24-hour
//! `HH:MM`, periods as `{"name", "from", "to"}`, intents in snake_case.

use std::str::FromStr;

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize, Serializer};

/// A language Lyo understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    It,
    En,
    Es,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::It, Language::En, Language::Es];

    pub fn code(self) -> &'static str {
        match self {
            Language::It => "it",
            Language::En => "en",
            Language::Es => "es",
        }
    }
}

/// A language code other than `it`, `en` or `es`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected it, en or es")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "it" => Ok(Language::It),
            "en" => Ok(Language::En),
            "es" => Ok(Language::Es),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }
}

/// What the customer wants from this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Book,
    Reschedule,
    Cancel,
    Confirm,
    Decline,
    Greeting,
    Thanks,
    AskHours,
    AskAddress,
    AskMenu,
    Human,
    OptOut,
    OptIn,
    Unknown,
}

/// A named opening window of the tenant, in the tenant's local time (e.g. dinner 19:00–23:00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePeriod {
    pub name: String,
    pub from: Time,
    pub to: Time,
}

/// Everything a message is read against besides its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The reference instant: "tomorrow" is relative to its date in `time_zone`.
    pub now: jiff::Timestamp,
    /// The tenant's zone; dates and times are civil times in it.
    pub time_zone: jiff::tz::TimeZone,
    /// Used when the text does not settle the language.
    pub default_language: Language,
    /// Skips detection altogether (`lyo understand --lang`).
    pub forced_language: Option<Language>,
    /// The tenant's service periods; may be empty (see `docs/understanding.md` for defaults).
    pub service_periods: Vec<ServicePeriod>,
}

/// The service period a message refers to, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodOut {
    pub name: String,
    #[serde(serialize_with = "hh_mm")]
    pub from: Time,
    #[serde(serialize_with = "hh_mm")]
    pub to: Time,
}

impl From<&ServicePeriod> for PeriodOut {
    fn from(p: &ServicePeriod) -> Self {
        PeriodOut {
            name: p.name.clone(),
            from: p.from,
            to: p.to,
        }
    }
}

/// What Lyo understood from one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Understanding {
    pub language: Language,
    pub intent: Intent,
    pub party_size: Option<u16>,
    pub date: Option<Date>,
    #[serde(serialize_with = "opt_hh_mm")]
    pub time: Option<Time>,
    pub period: Option<PeriodOut>,
    pub name: Option<String>,
    pub notes: Vec<String>,
    pub confidence: f32,
}

fn hh_mm<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{:02}:{:02}", t.hour(), t.minute()))
}

fn opt_hh_mm<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => hh_mm(t, s),
        None => s.serialize_none(),
    }
}
