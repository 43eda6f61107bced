//! The labelled corpus (`it.jsonl`, `en.jsonl`, `es.jsonl`) and how a result is scored against
//! it. Shared by the corpus test, the accuracy report example and the benchmark.
//!
//! Every case is read at `NOW` in `ZONE` (a Sunday), with the tenant's default language set to
//! the file's language and the service periods named by the case's `periods` scenario.
#![allow(dead_code)]

use jiff::civil::Time;
use jiff::tz::TimeZone;
use lyo_domain::understanding::{Context, Intent, Language, ServicePeriod, Understanding};
use serde::Deserialize;

pub const NOW: &str = "2026-11-22T10:00:00+01:00[Europe/Rome]";
pub const ZONE: &str = "Europe/Rome";

const FILES: [(Language, &str); 3] = [
    (Language::It, include_str!("it.jsonl")),
    (Language::En, include_str!("en.jsonl")),
    (Language::Es, include_str!("es.jsonl")),
];

/// Written after the rules and never used to tune them: an estimate of accuracy on new text.
const HOLDOUT: [(Language, &str); 3] = [
    (Language::It, include_str!("holdout/it.jsonl")),
    (Language::En, include_str!("holdout/en.jsonl")),
    (Language::Es, include_str!("holdout/es.jsonl")),
];

#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    #[serde(skip, default = "default_lang")]
    pub lang: Language,
    #[serde(skip)]
    pub line: usize,
    pub text: String,
    #[serde(default = "none")]
    pub periods: String,
    pub intent: Intent,
    pub party_size: Option<u16>,
    pub date: Option<jiff::civil::Date>,
    pub time: Option<String>,
    pub period: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub notes: Vec<String>,
}

fn default_lang() -> Language {
    Language::It
}

fn none() -> String {
    "none".to_owned()
}

/// All cases of the main corpus, in file order.
pub fn load() -> Vec<Case> {
    parse(FILES, "")
}

/// The held-out cases, in file order.
pub fn load_holdout() -> Vec<Case> {
    parse(HOLDOUT, "holdout/")
}

fn parse(files: [(Language, &str); 3], dir: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (lang, body) in files {
        for (n, line) in body.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut case: Case = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{dir}{}.jsonl line {}: {e}", lang.code(), n + 1));
            case.lang = lang;
            case.line = n + 1;
            cases.push(case);
        }
    }
    cases
}

fn t(h: i8, m: i8) -> Time {
    Time::constant(h, m, 0, 0)
}

fn period(name: &str, from: Time, to: Time) -> ServicePeriod {
    ServicePeriod {
        name: name.to_owned(),
        from,
        to,
    }
}

/// The service periods of a scenario named in the corpus.
pub fn scenario(name: &str) -> Vec<ServicePeriod> {
    match name {
        "none" => vec![],
        "dinner" => vec![period("dinner", t(19, 0), t(23, 0))],
        "lunch_dinner" => vec![
            period("lunch", t(12, 0), t(15, 0)),
            period("dinner", t(19, 0), t(23, 0)),
        ],
        "pranzo_cena" => vec![
            period("pranzo", t(12, 30), t(14, 30)),
            period("cena", t(19, 30), t(23, 0)),
        ],
        "salone" => vec![
            period("mattina", t(9, 0), t(13, 0)),
            period("pomeriggio", t(14, 0), t(19, 30)),
        ],
        "salon" => vec![
            period("morning", t(9, 0), t(13, 0)),
            period("afternoon", t(14, 0), t(19, 30)),
        ],
        "salon_es" => vec![
            period("mañana", t(9, 0), t(13, 0)),
            period("tarde", t(16, 0), t(20, 0)),
        ],
        other => panic!("unknown periods scenario {other:?}"),
    }
}

pub fn context(case: &Case) -> Context {
    let now: jiff::Zoned = NOW.parse().expect("NOW is a valid zoned datetime");
    Context {
        now: now.timestamp(),
        // Without a system tz database the fixed offset keeps the same civil date at NOW.
        time_zone: TimeZone::get(ZONE).expect("the bundled time-zone database has Europe/Rome"),
        default_language: case.lang,
        forced_language: None,
        service_periods: scenario(&case.periods),
    }
}

/// The fields of the report, in order.
pub const FIELDS: [&str; 8] = [
    "language",
    "intent",
    "party_size",
    "date",
    "time",
    "period",
    "name",
    "notes",
];

/// Which fields came out right, in the order of [`FIELDS`].
pub fn score(case: &Case, got: &Understanding) -> [bool; 8] {
    let time = got
        .time
        .map(|t| format!("{:02}:{:02}", t.hour(), t.minute()));
    [
        got.language == case.lang,
        got.intent == case.intent,
        got.party_size == case.party_size,
        got.date == case.date,
        time == case.time,
        got.period.as_ref().map(|p| p.name.as_str()) == case.period.as_deref(),
        got.name == case.name,
        got.notes == case.notes,
    ]
}

/// One line describing a miss: what was expected and what came out, field by field.
pub fn describe_miss(case: &Case, got: &Understanding) -> String {
    let ok = score(case, got);
    let time = got
        .time
        .map(|t| format!("{:02}:{:02}", t.hour(), t.minute()));
    let expected = [
        format!("{:?}", case.lang),
        format!("{:?}", case.intent),
        format!("{:?}", case.party_size),
        format!("{:?}", case.date.map(|d| d.to_string())),
        format!("{:?}", case.time),
        format!("{:?}", case.period),
        format!("{:?}", case.name),
        format!("{:?}", case.notes),
    ];
    let actual = [
        format!("{:?}", got.language),
        format!("{:?}", got.intent),
        format!("{:?}", got.party_size),
        format!("{:?}", got.date.map(|d| d.to_string())),
        format!("{time:?}"),
        format!("{:?}", got.period.as_ref().map(|p| &p.name)),
        format!("{:?}", got.name),
        format!("{:?}", got.notes),
    ];
    let diffs: Vec<String> = (0..8)
        .filter(|i| !ok[*i])
        .map(|i| format!("{}: expected {} got {}", FIELDS[i], expected[i], actual[i]))
        .collect();
    format!(
        "{}.jsonl:{} [{}] {:?}\n    {}",
        case.lang.code(),
        case.line,
        case.periods,
        case.text,
        diffs.join("\n    ")
    )
}
