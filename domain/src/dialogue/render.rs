//! Rendering: dates in each language's short form ("Sab 28/11"), summary lines
//! ("Sab 28/11 · 20:00 · 4 persone · Rossi"), opening hours, and reply bodies built so that
//! they cannot exceed WhatsApp's limits (every free-text part is cut with `fit`, interactive
//! bodies to 1024 characters, text to 4096).

use jiff::civil::{Date, DateTime, Time};

use super::catalogue::{closed_word, people, weekday};
use crate::availability::{
    BookingSettings, Capacity, DateException, DayHours, Need, ServicePeriod, ValidSettings,
};
use crate::reply::{
    fit, Choice, ListRow, ListSection, ReplyBody, MAX_BUTTON_TITLE, MAX_INTERACTIVE_BODY,
    MAX_LIST_BUTTON, MAX_ROW_DESCRIPTION, MAX_ROW_TITLE, MAX_TEXT_BODY,
};
use crate::understanding::Language;

/// How long a customer-given name or a tenant label may be inside a sentence.
pub(crate) const MAX_PART: usize = 40;
/// How many rows a list shows (alternatives, bookings).
pub(crate) const MAX_OFFERED: usize = 5;

/// "Sab 28/11" (it), "Sat 28/11" (en), "Sáb 28/11" (es).
pub(crate) fn short_date(lang: Language, date: Date) -> String {
    let day = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
    format!(
        "{} {:02}/{:02}",
        weekday(lang, day),
        date.day(),
        date.month()
    )
}

pub(crate) fn hh_mm(time: Time) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// "Sab 28/11 20:30": a list row title (at most 15 characters).
pub(crate) fn when(lang: Language, start: DateTime) -> String {
    format!("{} {}", short_date(lang, start.date()), hh_mm(start.time()))
}

/// What a need reads as: "4 persone", or the service and staff names.
pub(crate) fn need_parts(
    lang: Language,
    need: &Need,
    settings: Option<&ValidSettings>,
) -> Vec<String> {
    match need {
        Need::Party { size } => vec![people(lang, size.get())],
        Need::Service { service, resource } => {
            let salon = settings.and_then(|s| match &s.settings().capacity {
                Capacity::Salon(salon) => Some(salon),
                Capacity::Restaurant(_) => None,
            });
            let service_name = salon
                .and_then(|s| s.services.iter().find(|x| &x.id == service))
                .map_or(service.as_str(), |s| s.name.as_str());
            let mut parts = vec![fit(service_name, MAX_PART)];
            if let Some(r) = resource {
                let staff = salon
                    .and_then(|s| s.resources.iter().find(|x| &x.id == r))
                    .map_or(r.as_str(), |x| x.name.as_str());
                parts.push(fit(staff, MAX_PART));
            }
            parts
        }
    }
}

/// "Sab 28/11 · 20:00 · 4 persone · Rossi"; any part may be absent.
pub(crate) fn line(parts: impl IntoIterator<Item = String>) -> String {
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// "19:00–23:00, 12:00–15:00" or "chiuso".
pub(crate) fn periods(lang: Language, periods: &[ServicePeriod]) -> String {
    if periods.is_empty() {
        return closed_word(lang).to_string();
    }
    periods
        .iter()
        .map(|p| format!("{}–{}", hh_mm(p.from), hh_mm(p.to)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The weekly hours, days with the same periods grouped ("Lun–Ven 12:00–15:00"), then the
/// exceptions of the next two weeks ("Gio 24/12: chiuso").
pub(crate) fn opening_hours(lang: Language, settings: &BookingSettings, today: Date) -> String {
    let days: Vec<&[ServicePeriod]> = crate::availability::ALL_WEEKDAYS
        .iter()
        .map(|day| settings.weekly.day(*day))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < 7 {
        let mut j = i;
        while j + 1 < 7 && days[j + 1] == days[i] {
            j += 1;
        }
        let name = if i == j {
            weekday(lang, i).to_string()
        } else {
            format!("{}–{}", weekday(lang, i), weekday(lang, j))
        };
        out.push(format!("{name} {}", periods(lang, days[i])));
        i = j + 1;
    }
    let mut exceptions: Vec<&DateException> = settings
        .exceptions
        .iter()
        .filter(|e| e.date >= today && (e.date - today).get_days() <= 14)
        .collect();
    exceptions.sort_by_key(|e| e.date);
    for e in exceptions {
        let hours = match &e.hours {
            DayHours::Closed => closed_word(lang).to_string(),
            DayHours::Special(p) => periods(lang, p),
        };
        out.push(format!("{}: {hours}", short_date(lang, e.date)));
    }
    out.join("\n")
}

pub(crate) fn text(body: &str) -> ReplyBody {
    ReplyBody::Text {
        body: fit(body, MAX_TEXT_BODY),
    }
}

pub(crate) fn buttons(body: &str, choices: &[(String, &str)]) -> ReplyBody {
    ReplyBody::Buttons {
        body: fit(body, MAX_INTERACTIVE_BODY),
        buttons: choices
            .iter()
            .map(|(id, title)| Choice {
                id: id.clone(),
                title: fit(title, MAX_BUTTON_TITLE),
            })
            .collect(),
    }
}

/// A one-section list; rows are (id, title, description).
pub(crate) fn list(
    body: &str,
    button: &str,
    rows: Vec<(String, String, Option<String>)>,
) -> ReplyBody {
    ReplyBody::List {
        body: fit(body, MAX_INTERACTIVE_BODY),
        button: fit(button, MAX_LIST_BUTTON),
        sections: vec![ListSection {
            title: None,
            rows: rows
                .into_iter()
                .map(|(id, title, description)| ListRow {
                    id,
                    title: if title.trim().is_empty() {
                        "…".to_string()
                    } else {
                        fit(title.trim(), MAX_ROW_TITLE)
                    },
                    description: description.map(|d| fit(&d, MAX_ROW_DESCRIPTION)),
                })
                .collect(),
        }],
    }
}

/// The last guard: a body that breaks a limit (a bug) is sent as plain text instead.
pub(crate) fn checked(body: ReplyBody) -> ReplyBody {
    match body.validate() {
        Ok(()) => body,
        Err(error) => {
            debug_assert!(false, "reply breaks a WhatsApp limit: {error}");
            let fallback = text(body.summary());
            if fallback.validate().is_ok() {
                fallback
            } else {
                text("…")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::civil::date;

    #[test]
    fn opening_hours_group_equal_days_and_list_near_exceptions() {
        use crate::availability::{
            Capacity, LeadTime, Minutes, PartySize, RestaurantCapacity, WeeklyHours,
        };
        let t = |h| Time::constant(h, 0, 0, 0);
        let mut weekly = WeeklyHours::every_day(vec![ServicePeriod::new("cena", t(19), t(23))]);
        weekly.monday = vec![];
        weekly.sunday = vec![ServicePeriod::new("pranzo", t(12), t(15))];
        let settings = BookingSettings {
            time_zone: "Europe/Rome".into(),
            weekly,
            exceptions: vec![
                DateException {
                    date: date(2026, 12, 24),
                    hours: DayHours::Closed,
                },
                DateException {
                    date: date(2027, 3, 1),
                    hours: DayHours::Closed,
                },
            ],
            granularity: Minutes(30),
            lead: LeadTime {
                earliest: Minutes(0),
                latest_days: 30,
            },
            capacity: Capacity::Restaurant(RestaurantCapacity {
                seating: Minutes(90),
                largest_party: PartySize::new(8).unwrap(),
                max_covers: Some(20),
                tables: vec![],
                combinations: vec![],
            }),
        };
        assert_eq!(
            opening_hours(Language::Es, &settings, date(2026, 12, 20)),
            "Lun cerrado\nMar–Sáb 19:00–23:00\nDom 12:00–15:00\nJue 24/12: cerrado"
        );
    }

    #[test]
    fn dates_are_short_in_each_language() {
        let d = date(2026, 11, 28);
        assert_eq!(short_date(Language::It, d), "Sab 28/11");
        assert_eq!(short_date(Language::En, d), "Sat 28/11");
        assert_eq!(short_date(Language::Es, d), "Sáb 28/11");
    }
}
