//! The name a booking is under: "a nome (di) Rossi", "mi chiamo Laura Conti", "under the name
//! Smith", "name's Patel", "a nombre de García", "me llamo Ana". Weaker cues ("sono Marco",
//! "soy Carlos", "it's Sarah", "table under Johnson") need a capitalised word.
//!
//! The name is copied from the original text (accents and apostrophes kept, "O'Brien"), up to
//! three words, stopping at punctuation or any word Lyo knows ("per", "domani", "grazie").
//! A name typed all in lower or upper case is title-cased.

use super::calendar;
use super::language;
use super::model::Language;
use super::numbers;
use super::text::{word, Token};

/// Where the name starts after a cue at `i`, and whether the cue is weak.
fn cue(tokens: &[Token], i: usize) -> Option<(usize, bool)> {
    let w = |k: usize| word(tokens, i + k);
    let strong = match (w(0), w(1)) {
        ("nome" | "name" | "nombre", _) => {
            let mut j = i + 1;
            while matches!(
                word(tokens, j),
                "di" | "del" | "de" | "is" | "s" | "of" | "es"
            ) || tokens.get(j).and_then(Token::punct) == Some(':')
            {
                j += 1;
            }
            Some(j)
        }
        ("chiamo" | "llamo", _) => Some(i + 1),
        ("parte", "de") => Some(i + 2),
        _ => None,
    };
    if let Some(j) = strong {
        return Some((j, false));
    }
    let weak = match (w(0), w(1)) {
        ("sono" | "sn" | "soy" | "under", _) => i + 1,
        ("it" | "i", "s" | "m") | ("this", "is") => i + 2,
        _ => return None,
    };
    Some((weak, true))
}

fn is_known(w: &str) -> bool {
    language::is_common(w)
        || calendar::month(w).is_some()
        || Language::ALL
            .iter()
            .any(|l| calendar::weekday(*l, w).is_some() || numbers::cardinal(*l, w).is_some())
}

pub(super) fn find(tokens: &[Token], text: &str) -> Option<String> {
    (0..tokens.len()).rev().find_map(|i| {
        let (start, weak) = cue(tokens, i)?;
        name_at(tokens, text, start, weak)
    })
}

fn name_at(tokens: &[Token], text: &str, start: usize, weak: bool) -> Option<String> {
    let first = tokens.get(start)?;
    if !first.is_word() || (weak && (!first.capital || first.corrected)) {
        return None;
    }
    // Words of the name; tokens glued to the previous one ("O'Brien") join it.
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = start;
    while let Some(t) = tokens.get(i).filter(|t| t.is_word()) {
        let glued_on = t.glued && i > start;
        if glued_on {
            if let Some(last) = spans.last_mut() {
                last.1 = t.end;
                last.2 = true;
            }
        } else {
            if spans.len() == 3 || (first.capital && !t.capital) {
                break;
            }
            spans.push((t.start, t.end, t.corrected || !is_known(&t.norm)));
        }
        i += 1;
    }
    let good = |s: &(usize, usize, bool)| {
        s.2 && text.get(s.0..s.1).is_some_and(|w| w.chars().count() >= 2)
    };
    let words = spans.iter().take_while(|s| good(s)).count();
    spans.truncate(words);
    let (from, to) = (spans.first()?.0, spans.last()?.1);
    let raw = text.get(from..to)?;
    let uniform = raw
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(char::is_lowercase)
        || raw
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    Some(if uniform {
        title_case(raw)
    } else {
        raw.to_owned()
    })
}

fn title_case(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut start = true;
    for c in raw.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
            if !c.is_alphabetic() {
                start = c != '\'' && c != '’';
            }
        }
    }
    out
}
