//! Focused tests for the tricky parts of understanding: party sizes that look like hours,
//! spoken times, relative and named dates, corrections, opt-out, and the JSON contract.
#![allow(clippy::unwrap_used)]

use jiff::civil::{date, time, Date, Time};
use jiff::tz::TimeZone;
use lyo_domain::understanding::{
    understand, Context, Intent, Language, ServicePeriod, Understanding,
};

/// Sunday 2026-11-22, 10:00 in Rome.
fn ctx(lang: Language) -> Context {
    let now: jiff::Zoned = "2026-11-22T10:00:00+01:00[Europe/Rome]".parse().unwrap();
    Context {
        now: now.timestamp(),
        time_zone: TimeZone::get("Europe/Rome")
            .unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(1))),
        default_language: lang,
        forced_language: None,
        service_periods: vec![],
    }
}

fn read(lang: Language, text: &str) -> Understanding {
    understand(text, &ctx(lang))
}

fn when(lang: Language, text: &str) -> (Option<Date>, Option<Time>) {
    let u = read(lang, text);
    (u.date, u.time)
}

#[test]
fn a_party_size_before_a_date_and_time_is_never_read_as_the_hour() {
    let u = read(Language::It, "per 4 domani alle 20:30");
    assert_eq!(
        (u.party_size, u.date, u.time),
        (Some(4), Some(date(2026, 11, 23)), Some(time(20, 30, 0, 0)))
    );
}

#[test]
fn party_sizes_come_from_cues_words_and_sums() {
    for (lang, text, size) in [
        (Language::It, "tavolo x 4 domani", 4),
        (Language::It, "siamo in 6", 6),
        (Language::It, "siamo una coppia", 2),
        (Language::It, "2 adulti e 3 bambini", 5),
        (Language::En, "party of six on friday", 6),
        (Language::En, "a couple of us", 2),
        (Language::En, "table for two", 2),
        (Language::Es, "para 2 personas", 2),
        (Language::Es, "somos cuatro", 4),
    ] {
        assert_eq!(read(lang, text).party_size, Some(size), "{text}");
    }
}

#[test]
fn numbers_that_are_not_people_stay_out_of_the_party_size() {
    assert_eq!(
        read(Language::It, "siamo in ritardo di 10 minuti").party_size,
        None
    );
    assert_eq!(
        read(Language::En, "one of us has a nut allergy").party_size,
        None
    );
}

#[test]
fn spoken_times_are_placed_on_the_evening_when_only_dinner_fits() {
    for (lang, text, h, m) in [
        (Language::It, "alle 8 e mezza", 20, 30),
        (Language::It, "alle 9 meno un quarto", 20, 45),
        (Language::En, "a quarter to 9", 20, 45),
        (Language::En, "half past seven", 19, 30),
        (Language::Es, "a las nueve y media", 21, 30),
        (Language::It, "a mezzogiorno", 12, 0),
        (Language::En, "at noon", 12, 0),
        (Language::En, "8pm", 20, 0),
        (Language::It, "alle 20.30", 20, 30),
        (Language::It, "all'una", 13, 0),
    ] {
        assert_eq!(when(lang, text).1, Some(time(h, m, 0, 0)), "{text}");
    }
}

#[test]
fn a_bare_hour_follows_the_tenants_service_periods() {
    let mut salon = ctx(Language::It);
    salon.service_periods = vec![
        ServicePeriod {
            name: "mattina".into(),
            from: time(9, 0, 0, 0),
            to: time(13, 0, 0, 0),
        },
        ServicePeriod {
            name: "pomeriggio".into(),
            from: time(14, 0, 0, 0),
            to: time(19, 0, 0, 0),
        },
    ];
    assert_eq!(understand("alle 10", &salon).time, Some(time(10, 0, 0, 0)));
    assert_eq!(understand("alle 4", &salon).time, Some(time(16, 0, 0, 0)));
    assert_eq!(read(Language::It, "alle 10").time, Some(time(22, 0, 0, 0)));
}

#[test]
fn meal_words_map_to_the_service_period_by_name() {
    let mut c = ctx(Language::It);
    c.service_periods = vec![ServicePeriod {
        name: "Cena".into(),
        from: time(19, 30, 0, 0),
        to: time(23, 0, 0, 0),
    }];
    let u = understand("domani a cena", &c);
    assert_eq!(u.period.map(|p| p.name), Some("Cena".to_owned()));
    assert_eq!(understand("domani a pranzo", &c).period, None);
}

#[test]
fn relative_days_and_weekdays_resolve_forward() {
    for (lang, text, d) in [
        (Language::It, "dopodomani", date(2026, 11, 24)),
        (Language::Es, "pasado mañana", date(2026, 11, 24)),
        (Language::Es, "pasado manana", date(2026, 11, 24)),
        (Language::It, "venerdi", date(2026, 11, 27)),
        (Language::En, "next friday", date(2026, 11, 27)),
        (Language::Es, "el viernes que viene", date(2026, 11, 27)),
        (Language::It, "domenica", date(2026, 11, 29)),
        (Language::En, "this sunday", date(2026, 11, 22)),
        (Language::En, "the day after tomorrow", date(2026, 11, 24)),
    ] {
        assert_eq!(when(lang, text).0, Some(d), "{text}");
    }
}

#[test]
fn named_and_numeric_dates_take_the_next_future_occurrence() {
    for (lang, text, d) in [
        (Language::It, "il 5 dicembre", date(2026, 12, 5)),
        (Language::It, "il 10 novembre", date(2027, 11, 10)),
        (Language::It, "il 3/12", date(2026, 12, 3)),
        (Language::Es, "el 3/12", date(2026, 12, 3)),
        (Language::En, "on 12/24", date(2026, 12, 24)),
        (Language::En, "on 24/12", date(2026, 12, 24)),
        (Language::En, "on Jan 3rd 2027", date(2027, 1, 3)),
        (Language::Es, "el 15 de enero", date(2027, 1, 15)),
        (Language::It, "il 22", date(2026, 11, 22)),
    ] {
        assert_eq!(when(lang, text).0, Some(d), "{text}");
    }
}

#[test]
fn corrections_keep_the_last_unnegated_mention() {
    assert_eq!(
        read(Language::It, "non domani, dopodomani").date,
        Some(date(2026, 11, 24))
    );
    assert_eq!(
        read(Language::Es, "mañana no, pasado mañana").date,
        Some(date(2026, 11, 24))
    );
    assert_eq!(read(Language::En, "actually make it 5").party_size, Some(5));
    assert_eq!(read(Language::It, "per 4, anzi 5").party_size, Some(5));
    assert_eq!(
        read(Language::It, "alle 8, anzi no alle 9").time,
        Some(time(21, 0, 0, 0))
    );
    assert_eq!(
        read(Language::En, "sorry, not 4, we're 5 now").party_size,
        Some(5)
    );
}

#[test]
fn stop_and_start_in_any_casing_opt_out_and_in() {
    for text in [
        "STOP",
        "stop",
        "Stop",
        "unsubscribe",
        "basta messaggi",
        "BAJA",
    ] {
        assert_eq!(read(Language::It, text).intent, Intent::OptOut, "{text}");
    }
    for text in ["START", "opt in", "ALTA"] {
        assert_eq!(read(Language::En, text).intent, Intent::OptIn, "{text}");
    }
}

#[test]
fn names_keep_their_accents_and_apostrophes() {
    assert_eq!(
        read(Language::Es, "a nombre de García").name.as_deref(),
        Some("García")
    );
    assert_eq!(
        read(Language::En, "name: O'Brien").name.as_deref(),
        Some("O'Brien")
    );
    assert_eq!(
        read(Language::It, "a nome di rossi").name.as_deref(),
        Some("Rossi")
    );
}

#[test]
fn the_language_falls_back_to_the_tenant_default_when_unsure() {
    assert_eq!(read(Language::Es, "ok").language, Language::Es);
    assert_eq!(
        read(Language::It, "table for two tonight").language,
        Language::En
    );
    let mut forced = ctx(Language::It);
    forced.forced_language = Some(Language::Es);
    assert_eq!(understand("table for two", &forced).language, Language::Es);
}

#[test]
fn the_json_shape_matches_the_cli_contract() {
    let u = read(Language::It, "ciao vorrei un tavolo x 4 domani alle 8");
    let json = serde_json::to_value(&u).unwrap();
    let expected = serde_json::json!({
        "language": "it", "intent": "book", "party_size": 4, "date": "2026-11-23", "time": "20:00",
        "period": null, "name": null, "notes": [], "confidence": json["confidence"],
    });
    assert_eq!(json, expected);
    let dinner = serde_json::to_value(read(Language::En, "tonight")).unwrap();
    assert_eq!(
        dinner["period"],
        serde_json::json!({"name": "dinner", "from": "19:00", "to": "23:00"})
    );
    assert_eq!(dinner["intent"], "book");
    assert_eq!("es".parse::<Language>().unwrap(), Language::Es);
    assert!("fr".parse::<Language>().is_err());
}
