//! Table-driven accuracy test over the labelled corpus: fails when any language drops below
//! 95% of messages with every field right, and prints each miss (expected vs got).
#![allow(clippy::unwrap_used)]

mod corpus;

use lyo_domain::understanding::{understand, Language};

const TARGET: f64 = 0.95;

#[test]
fn every_language_gets_at_least_95_percent_of_messages_entirely_right() {
    let cases = corpus::load();
    let mut report = String::new();
    let mut below = Vec::new();
    for lang in Language::ALL {
        let mine: Vec<_> = cases.iter().filter(|c| c.lang == lang).collect();
        assert!(
            mine.len() >= 150,
            "{} corpus has only {} messages",
            lang.code(),
            mine.len()
        );
        let mut right = 0;
        for case in &mine {
            let got = understand(&case.text, &corpus::context(case));
            if corpus::score(case, &got).iter().all(|ok| *ok) {
                right += 1;
            } else {
                report.push_str(&corpus::describe_miss(case, &got));
                report.push('\n');
            }
        }
        let share = f64::from(right) / mine.len() as f64;
        report.push_str(&format!(
            "== {}: {right}/{} all fields right ({:.1}%)\n",
            lang.code(),
            mine.len(),
            share * 100.0
        ));
        if share < TARGET {
            below.push(lang.code());
        }
    }
    eprintln!("{report}");
    assert!(
        below.is_empty(),
        "below {:.0}% all-fields-right: {below:?}\n{report}",
        TARGET * 100.0
    );
}
