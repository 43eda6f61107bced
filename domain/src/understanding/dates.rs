//! Dates: relative words ("domani", "pasado mañana", "the day after tomorrow"), weekdays with
//! "next"/"this"/"prossimo"/"que viene", day and month names or numbers, holidays.
//!
//! Resolution is always forward from the reference date: a bare or "next" weekday is the first
//! one *after* today, "this"/"questo"/"este" allows today; day+month without a year is the first
//! such date on or after today. Numeric dates are day/month in it and es; in en the order is
//! taken from whichever part cannot be a month, and when both can, the nearer future date wins.
//! Holidays only count when no other date is given ("cena di natale" on "il 20 dicembre").

use jiff::civil::Date;
use jiff::ToSpan;

use super::calendar::{self, day_month, day_only, next_weekday};
use super::clock;
use super::model::Language;
use super::numbers;
use super::scan::{Claims, Hit};
use super::text::{word, Kind, Token};

/// Dates found, in message order, and holidays (used only when no date is found).
pub(super) struct Found {
    pub dates: Vec<Hit<Date>>,
    pub holidays: Vec<Hit<Date>>,
}

pub(super) fn find(lang: Language, tokens: &[Token], today: Date, claims: &mut Claims) -> Found {
    let mut found = Found {
        dates: Vec::new(),
        holidays: Vec::new(),
    };
    let mentions_tomorrow = tokens.iter().any(|t| is_tomorrow(t, tokens, 0));
    let mut i = 0;
    while i < tokens.len() {
        if !claims.free(i) {
            i += 1;
            continue;
        }
        let hit = numeric(lang, tokens, i, today)
            .or_else(|| day_and_month(lang, tokens, i, today))
            .or_else(|| weekday(lang, tokens, i, today))
            .or_else(|| relative(tokens, i, today, mentions_tomorrow))
            .or_else(|| lone_day(lang, tokens, i, today));
        if let Some(h) = hit {
            claims.take(h.at, h.end);
            found.dates.push(h);
            i = h.end;
        } else if let Some(h) = holiday(tokens, i, today) {
            claims.take(h.at, h.end);
            found.holidays.push(h);
            i = h.end;
        } else {
            i += 1;
        }
    }
    found
}

fn hit(at: usize, end: usize, value: Option<Date>) -> Option<Hit<Date>> {
    value.map(|value| Hit { at, end, value })
}

fn is_tomorrow(t: &Token, tokens: &[Token], i: usize) -> bool {
    match t.norm.as_str() {
        "domani" | "dmn" | "domai" | "tomorrow" | "tmrw" | "tmr" | "tmw" | "tomorow"
        | "tommorow" | "tomoro" | "tomorrw" | "mnn" => true,
        // "por la mañana" is the morning; "mañana" alone is tomorrow.
        "manana" => i == 0 || !matches!(word(tokens, i - 1), "la" | "esta"),
        _ => false,
    }
}

fn relative(tokens: &[Token], i: usize, today: Date, mentions_tomorrow: bool) -> Option<Hit<Date>> {
    let plus = |n: i64| today.checked_add(n.days()).ok();
    let w = word(tokens, i);
    let two = (w, word(tokens, i + 1));
    match two {
        ("dopo", "domani") | ("pasado", "manana" | "mnn") => return hit(i, i + 2, plus(2)),
        ("right", "now")
        | ("questa", "sera" | "mattina" | "notte")
        | ("esta", "noche" | "tarde" | "manana")
        | ("this", "evening" | "afternoon" | "morning")
        | ("questo", "pomeriggio") => return hit(i, i + 1, plus(0)),
        _ => {}
    }
    let the = usize::from(w == "the");
    if word(tokens, i + the) == "day" && word(tokens, i + the + 1) == "after" {
        if word(tokens, i + the + 2) == "tomorrow" {
            return hit(i, i + the + 3, plus(2));
        }
        return hit(i, i + the + 2, plus(2).filter(|_| mentions_tomorrow));
    }
    if is_tomorrow(&tokens[i], tokens, i) && tokens[i].is_word() {
        return hit(i, i + 1, plus(1));
    }
    match w {
        "dopodomani" => hit(i, i + 1, plus(2)),
        "oggi" | "today" | "hoy" | "stasera" | "stamattina" | "stamani" | "stanotte"
        | "tonight" | "tonite" | "2nite" => hit(i, i + 1, plus(0)),
        _ => None,
    }
}

fn weekday(lang: Language, tokens: &[Token], i: usize, today: Date) -> Option<Hit<Date>> {
    let wd = calendar::weekday(lang, word(tokens, i))?;
    let before = |k: usize| if i >= k { word(tokens, i - k) } else { "" };
    let this = matches!(before(1), "this" | "questo" | "questa" | "este" | "esta");
    let mut end = i + 1;
    if matches!(word(tokens, end), "prossimo" | "prossima") {
        end += 1;
    } else if word(tokens, end) == "que" && word(tokens, end + 1) == "viene" {
        end += 2;
    }
    // "venerdì 27", "friday the 27th", "sábado 28 de noviembre": the day number decides.
    let skip = usize::from(word(tokens, end) == "the");
    if let Some(h) = day_and_month(lang, tokens, end + skip, today) {
        return Some(Hit { at: i, ..h });
    }
    let day = numbers::ordinal_at(lang, tokens, end + skip).or_else(|| {
        let n = tokens.get(end)?.num().filter(|n| (1..=31).contains(n))?;
        (!clock::looks_like_clock(lang, tokens, end)).then_some((n, 1))
    });
    if let Some((d, len)) = day {
        return hit(i, end + skip + len, day_only(today, d));
    }
    hit(i, end, Some(next_weekday(today, wd, this)))
}

/// "28 novembre", "5th of december", "28 de noviembre de 2027", "Nov 28", "December 12th".
fn day_and_month(lang: Language, tokens: &[Token], i: usize, today: Date) -> Option<Hit<Date>> {
    let day_at = |k: usize| {
        numbers::ordinal_at(lang, tokens, k).or_else(|| {
            let n = tokens.get(k)?.num().filter(|n| (1..=31).contains(n))?;
            Some((n, 1))
        })
    };
    let year_at = |k: usize| {
        let k = k + usize::from(
            matches!(word(tokens, k), "de" | "del")
                || tokens.get(k).is_some_and(|t| t.punct() == Some(',')),
        );
        match tokens.get(k).map(|t| t.kind) {
            Some(Kind::Num(n, 4)) => calendar::year(n, 4).map(|y| (y, k + 1)),
            _ => None,
        }
    };
    if let Some((d, len)) = day_at(i) {
        let mut m_at = i + len;
        if matches!(word(tokens, m_at), "de" | "of" | "di") {
            m_at += 1;
        }
        if let Some(m) = calendar::month(word(tokens, m_at)) {
            let (year, end) = year_at(m_at + 1).map_or((None, m_at + 1), |(y, e)| (Some(y), e));
            return hit(i, end, day_month(today, d, m, year));
        }
        return None;
    }
    let m = calendar::month(word(tokens, i))?;
    let (d, len) = day_at(i + 1)?;
    let (year, end) = year_at(i + 1 + len).map_or((None, i + 1 + len), |(y, e)| (Some(y), e));
    hit(i, end, day_month(today, d, m, year))
}

/// "12/12", "28/11/2026", "24-12", and "23.11" after a date cue ("il 23.11").
fn numeric(lang: Language, tokens: &[Token], i: usize, today: Date) -> Option<Hit<Date>> {
    let a = tokens.get(i)?.num()?;
    let sep = tokens.get(i + 1).filter(|t| t.glued)?.punct()?;
    let b = tokens.get(i + 2).filter(|t| t.glued)?.num()?;
    let cued = i > 0
        && matches!(
            word(tokens, i - 1),
            "il" | "el" | "the" | "on" | "del" | "dal"
        );
    if !(sep == '/' || sep == '-' || (sep == '.' && cued)) {
        return None;
    }
    let mut end = i + 3;
    let mut year = None;
    if let (Some(s), Some(t)) = (tokens.get(i + 3), tokens.get(i + 4)) {
        if s.glued && s.punct() == Some(sep) && t.glued {
            if let Kind::Num(n, digits) = t.kind {
                year = calendar::year(n, digits);
                end = i + 5;
            }
        }
    }
    let make = |d: u32, m: u32| {
        i8::try_from(m)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .and_then(|m| day_month(today, d, m, year))
    };
    let date = match lang {
        Language::En => match (make(a, b), make(b, a)) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        _ => make(a, b).or_else(|| make(b, a)),
    };
    hit(i, end, date)
}

/// A day of the month on its own after a cue: "il 5", "el 30", "del 28", "the 19th", "23rd".
fn lone_day(lang: Language, tokens: &[Token], i: usize, today: Date) -> Option<Hit<Date>> {
    if let Some((d, len)) = numbers::ordinal_at(lang, tokens, i) {
        let ordinal_word = tokens[i].is_word();
        if !ordinal_word || (i > 0 && word(tokens, i - 1) == "the") {
            return hit(i, i + len, day_only(today, d));
        }
        return None;
    }
    let d = tokens[i].num().filter(|n| (1..=31).contains(n))?;
    let cued = i > 0 && matches!(word(tokens, i - 1), "il" | "el" | "del" | "dal" | "the");
    let next = tokens.get(i + 1);
    let followed_by_clock = next
        .is_some_and(|t| t.glued && (t.is_word() || matches!(t.punct(), Some(':' | '.' | '/'))));
    let followed_by_people = matches!(
        word(tokens, i + 1),
        "of" | "persone" | "personas" | "people" | "pax"
    );
    if !cued || followed_by_clock || followed_by_people {
        return None;
    }
    hit(i, i + 1, day_only(today, d))
}

fn holiday(tokens: &[Token], i: usize, today: Date) -> Option<Hit<Date>> {
    let w = |k: usize| word(tokens, i + k);
    let (month, day, len) = match (w(0), w(1), w(2)) {
        ("vigilia", _, _) | ("nochebuena", _, _) => (12, 24, 1),
        ("christmas", "eve", _) => (12, 24, 2),
        ("natale" | "navidad" | "christmas" | "xmas", _, _) => (12, 25, 1),
        ("santo", "stefano", _) | ("boxing", "day", _) => (12, 26, 2),
        ("capodanno" | "nochevieja" | "nye", _, _) => (12, 31, 1),
        ("new", "year" | "years", "eve") => (12, 31, 3),
        ("new", "years", "day") => (1, 1, 3),
        ("new", "year", "s") if w(3) == "eve" => (12, 31, 4),
        ("ferragosto", _, _) => (8, 15, 1),
        ("thanksgiving", _, _) => return hit(i, i + 1, calendar::thanksgiving(today)),
        _ => return None,
    };
    // "vigilia di natale" is one holiday, not two.
    let len = if w(0) == "vigilia" && matches!(w(1), "di") && w(2) == "natale" {
        3
    } else {
        len
    };
    hit(i, i + len, day_month(today, day, month, None))
}
