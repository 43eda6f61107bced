//! Calendar words and date arithmetic: weekday and month names, holidays, and "the next date
//! on or after today" for a day, a day and month, or a weekday.

use jiff::civil::{Date, Weekday};
use jiff::ToSpan;

use super::model::Language;

pub(super) fn weekday(lang: Language, w: &str) -> Option<Weekday> {
    use Weekday::*;
    let d = match w {
        "lunedi" | "monday" | "lunes" => Monday,
        "martedi" | "tuesday" | "martes" => Tuesday,
        "mercoledi" | "wednesday" | "miercoles" => Wednesday,
        "giovedi" | "thursday" | "jueves" => Thursday,
        "venerdi" | "friday" | "viernes" => Friday,
        "sabato" | "saturday" | "sabado" => Saturday,
        "domenica" | "sunday" | "domingo" => Sunday,
        _ => match (lang, w) {
            (Language::En, "mon") => Monday,
            (Language::En, "tue" | "tues") => Tuesday,
            (Language::En, "wed") => Wednesday,
            (Language::En, "thu" | "thur" | "thurs") => Thursday,
            (Language::En, "fri") => Friday,
            (Language::En, "sat") => Saturday,
            (Language::En, "sun") => Sunday,
            (Language::It, "lun") => Monday,
            (Language::It, "mer") => Wednesday,
            (Language::It, "gio") => Thursday,
            (Language::It, "ven") => Friday,
            (Language::It, "sab") | (Language::Es, "sab") => Saturday,
            (Language::It, "dom") | (Language::Es, "dom") => Sunday,
            (Language::Es, "mie") => Wednesday,
            (Language::Es, "vie") => Friday,
            _ => return None,
        },
    };
    Some(d)
}

pub(super) fn month(w: &str) -> Option<i8> {
    let m = match w {
        "gennaio" | "january" | "enero" | "gen" | "jan" | "ene" => 1,
        "febbraio" | "february" | "febrero" | "feb" => 2,
        "marzo" | "march" | "mar" => 3,
        "aprile" | "april" | "abril" | "apr" | "abr" => 4,
        "maggio" | "may" | "mayo" | "mag" => 5,
        "giugno" | "june" | "junio" | "giu" | "jun" => 6,
        "luglio" | "july" | "julio" | "lug" | "jul" => 7,
        "agosto" | "august" | "ago" | "aug" => 8,
        "settembre" | "september" | "septiembre" | "setiembre" | "set" | "sep" | "sept" => 9,
        "ottobre" | "october" | "octubre" | "ott" | "oct" => 10,
        "novembre" | "november" | "noviembre" | "nov" => 11,
        "dicembre" | "december" | "diciembre" | "dic" | "dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// The first `wd` after today (or from today when `inclusive`).
pub(super) fn next_weekday(today: Date, wd: Weekday, inclusive: bool) -> Date {
    let ahead =
        (wd.to_monday_zero_offset() - today.weekday().to_monday_zero_offset()).rem_euclid(7);
    let ahead = if ahead == 0 && !inclusive { 7 } else { ahead };
    today.checked_add(i64::from(ahead).days()).unwrap_or(today)
}

/// Day and month (and maybe year): the first such date on or after today when no year is given.
pub(super) fn day_month(today: Date, day: u32, month: i8, year: Option<i16>) -> Option<Date> {
    let day = i8::try_from(day).ok()?;
    if let Some(y) = year {
        return Date::new(y, month, day).ok();
    }
    (today.year()..=today.year().saturating_add(4))
        .filter_map(|y| Date::new(y, month, day).ok())
        .find(|d| *d >= today)
}

/// A day of the month alone ("il 5", "the 19th"): the first month from today that has it.
pub(super) fn day_only(today: Date, day: u32) -> Option<Date> {
    let day = i8::try_from(day).ok()?;
    let mut first = today.first_of_month();
    for _ in 0..13 {
        if let Ok(d) = Date::new(first.year(), first.month(), day) {
            if d >= today {
                return Some(d);
            }
        }
        first = first.checked_add(1.month()).ok()?;
    }
    None
}

/// A year written in a date: four digits, or two after a slash ("23/11/26").
pub(super) fn year(n: u32, digits: u8) -> Option<i16> {
    match digits {
        4 if (2000..=2100).contains(&n) => i16::try_from(n).ok(),
        2 => i16::try_from(2000 + n).ok(),
        _ => None,
    }
}

/// Fourth Thursday of November, this year or next.
pub(super) fn thanksgiving(today: Date) -> Option<Date> {
    [today.year(), today.year().saturating_add(1)]
        .into_iter()
        .find_map(|y| {
            let first = Date::new(y, 11, 1).ok()?;
            let d = next_weekday(first, Weekday::Thursday, true)
                .checked_add(21.days())
                .ok()?;
            (d >= today).then_some(d)
        })
}
