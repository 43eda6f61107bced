//! Property tests: understanding is total and deterministic on any UTF-8 input.
#![allow(clippy::unwrap_used)]

use jiff::tz::TimeZone;
use lyo_domain::understanding::{understand, Context, Language};
use proptest::prelude::*;

fn ctx() -> Context {
    Context {
        now: "2026-11-22T09:00:00Z".parse().unwrap(),
        time_zone: TimeZone::UTC,
        default_language: Language::It,
        forced_language: None,
        service_periods: vec![],
    }
}

/// Text that looks like messages: booking words, digits, clock and date punctuation, emoji.
fn messagey() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "per",
        "4",
        "domani",
        "alle",
        "20",
        ":",
        "30",
        ".",
        "/",
        "12",
        "x",
        "siamo",
        "in",
        "a",
        "las",
        "nueve",
        "y",
        "media",
        "half",
        "past",
        "the",
        "31st",
        "of",
        "february",
        "29",
        "2027",
        "no",
        "non",
        "anzi",
        "make",
        "it",
        "a nome di",
        "Rossi",
        "🎂",
        "👍",
        "STOP",
        "e",
        "mezza",
        "meno",
        "quarter",
        "to",
        "0",
        "99999999999",
        "-",
        "+",
        "pm",
        "h",
        "sabato",
        "prossimo",
        "que",
        "viene",
        "'",
        "l",
        "una",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_understood_without_panicking_and_always_the_same_way(text in any::<String>()) {
        let c = ctx();
        prop_assert_eq!(understand(&text, &c), understand(&text, &c));
    }

    #[test]
    fn message_like_text_is_understood_the_same_way_twice(text in messagey()) {
        let c = ctx();
        let first = understand(&text, &c);
        prop_assert!((0.0..=1.0).contains(&first.confidence));
        prop_assert_eq!(first, understand(&text, &c));
    }

    #[test]
    fn long_binary_looking_and_emoji_only_text_is_fine(
        bytes in prop::collection::vec(any::<u8>(), 0..5000),
        emoji in prop::collection::vec(prop::sample::select(vec!['😀', '👍', '🎂', '🍕', '\u{200d}', '\u{fe0f}']), 0..300),
    ) {
        let c = ctx();
        let binary = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert_eq!(understand(&binary, &c), understand(&binary, &c));
        let emoji: String = emoji.into_iter().collect();
        prop_assert_eq!(understand(&emoji, &c), understand(&emoji, &c));
    }
}

#[test]
fn empty_and_huge_inputs_return() {
    let c = ctx();
    assert_eq!(
        understand("", &c).intent,
        lyo_domain::understanding::Intent::Unknown
    );
    let huge = "per 4 domani alle 20:30 ".repeat(20_000);
    assert_eq!(understand(&huge, &c).party_size, Some(4));
}
