//! Meal and part-of-day words ("cena", "lunch", "almuerzo", "stasera", "por la mañana") and
//! the tenant's service periods they stand for; also how a bare hour ("alle 8") is placed.
//!
//! A word names a slot: morning, lunch, afternoon or dinner. The slot maps to the tenant's
//! period whose name contains one of the slot's words in any language ("Cena", "dinner
//! service", "Pranzo"); failing that, to the period covering the slot's typical hour (10:00,
//! 13:00, 16:00, 20:30). A tenant without periods gets lunch 12:00–15:00 and dinner 19:00–23:00
//! for this purpose only; morning and afternoon then map to nothing.
//!
//! A bare hour h (1–12) is h or h+12: the message's slot or am/pm decides when there is one,
//! otherwise the candidate inside a period (ends included) wins, otherwise the one closest to a
//! period, and the later one on a tie ("alle 8" -> 20:00, "a la una" -> 13:00, salon "alle 10"
//! -> 10:00).

use jiff::civil::Time;

use super::clock::{Half, RawTime};
use super::model::ServicePeriod;
use super::scan::Hit;
use super::text::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Morning,
    Lunch,
    Afternoon,
    Dinner,
}

impl Slot {
    fn names(self) -> &'static [&'static str] {
        match self {
            Slot::Morning => &[
                "morning",
                "mattina",
                "mattino",
                "manana",
                "breakfast",
                "colazione",
            ],
            Slot::Lunch => &[
                "lunch", "pranzo", "almuerzo", "comida", "midday", "mediodia", "brunch",
            ],
            Slot::Afternoon => &["afternoon", "pomeriggio", "tarde"],
            Slot::Dinner => &[
                "dinner", "cena", "supper", "evening", "sera", "noche", "night",
            ],
        }
    }

    fn typical(self) -> Time {
        match self {
            Slot::Morning => Time::constant(10, 0, 0, 0),
            Slot::Lunch => Time::constant(13, 0, 0, 0),
            Slot::Afternoon => Time::constant(16, 0, 0, 0),
            Slot::Dinner => Time::constant(20, 30, 0, 0),
        }
    }

    pub fn half(self) -> Option<Half> {
        match self {
            Slot::Morning => Some(Half::Am),
            Slot::Afternoon | Slot::Dinner => Some(Half::Pm),
            Slot::Lunch => None,
        }
    }
}

/// Slot words in message order. Greetings ("buonasera", "good evening", "Morning!") are not.
pub(super) fn find(tokens: &[Token]) -> Vec<Hit<Slot>> {
    let word = |i: usize| {
        tokens
            .get(i)
            .filter(|t| t.is_word())
            .map_or("", |t| t.norm.as_str())
    };
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate().filter(|(_, t)| t.is_word()) {
        let prev = if i > 0 { word(i - 1) } else { "" };
        let slot = match t.norm.as_str() {
            "pranzo" | "lunch" | "almuerzo" | "comida" | "comer" | "pranzare" | "brunch" => {
                Slot::Lunch
            }
            "sera" if prev == "buona" => continue,
            "cena" | "dinner" | "cenar" | "cenare" | "supper" | "sera" | "stasera" | "tonight"
            | "tonite" | "2nite" | "noche" | "stanotte" => Slot::Dinner,
            "evening" | "night" if prev != "good" => Slot::Dinner,
            "mattina" | "stamattina" | "mattino" => Slot::Morning,
            "morning"
                if prev != "good" && (i > 0 || tokens.get(1).is_some_and(|n| !n.is_break())) =>
            {
                Slot::Morning
            }
            "manana" if matches!(prev, "la" | "esta") => Slot::Morning,
            "pomeriggio" | "afternoon" if prev != "good" => Slot::Afternoon,
            "tarde" if matches!(prev, "la" | "esta") => Slot::Afternoon,
            _ => continue,
        };
        out.push(Hit {
            at: i,
            end: i + 1,
            value: slot,
        });
    }
    out
}

fn defaults() -> Vec<ServicePeriod> {
    vec![
        ServicePeriod {
            name: "lunch".into(),
            from: Time::constant(12, 0, 0, 0),
            to: Time::constant(15, 0, 0, 0),
        },
        ServicePeriod {
            name: "dinner".into(),
            from: Time::constant(19, 0, 0, 0),
            to: Time::constant(23, 0, 0, 0),
        },
    ]
}

/// The tenant's periods, or the defaults when it has none.
pub(super) fn effective(periods: &[ServicePeriod]) -> Vec<ServicePeriod> {
    if periods.is_empty() {
        defaults()
    } else {
        periods.to_vec()
    }
}

fn folded(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' => 'a',
            'é' | 'è' => 'e',
            'í' | 'ì' => 'i',
            'ó' | 'ò' => 'o',
            'ú' | 'ù' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

/// The period a slot stands for, by name first, then by the slot's typical hour.
pub(super) fn period_for(slot: Slot, periods: &[ServicePeriod]) -> Option<&ServicePeriod> {
    let by_name = periods.iter().find(|p| {
        let name = folded(&p.name);
        name.split(|c: char| !c.is_alphanumeric())
            .any(|w| slot.names().contains(&w))
    });
    by_name.or_else(|| {
        periods
            .iter()
            .find(|p| p.from <= slot.typical() && slot.typical() < p.to)
    })
}

fn minutes(t: Time) -> i32 {
    i32::from(t.hour()) * 60 + i32::from(t.minute())
}

/// Places a clock time on the 24-hour dial (see the module docs).
pub(super) fn resolve(raw: RawTime, slot: Option<Slot>, periods: &[ServicePeriod]) -> Option<Time> {
    let make = |h: u32| Time::new(i8::try_from(h).ok()?, i8::try_from(raw.minute).ok()?, 0, 0).ok();
    let h = raw.hour;
    let half = raw.half.or_else(|| slot.and_then(Slot::half));
    match half {
        _ if h == 0 || h > 12 => return make(h),
        Some(Half::Am) => return make(h % 12),
        Some(Half::Pm) => return make(if h == 12 { 12 } else { h + 12 }),
        None => {}
    }
    let early = make(h % 12 + if h == 12 { 12 } else { 0 })?;
    let late = if h == 12 { early } else { make(h + 12)? };
    let pool: Vec<&ServicePeriod> = match slot.and_then(|s| period_for(s, periods)) {
        Some(p) => vec![p],
        None => periods.iter().collect(),
    };
    let distance = |t: Time| {
        pool.iter()
            .map(|p| {
                let (m, from, to) = (minutes(t), minutes(p.from), minutes(p.to));
                if (from..=to).contains(&m) {
                    0
                } else {
                    (m - from).abs().min((m - to).abs())
                }
            })
            .min()
            .unwrap_or(i32::MAX)
    };
    Some(if distance(early) < distance(late) {
        early
    } else {
        late
    })
}
