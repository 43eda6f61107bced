//! Numbers written as words, cardinal and ordinal, in the three languages ("quattro", "four",
//! "cuatro", "ventuno", "twenty-eighth", "primo").
//!
//! The articles "un"/"una"/"a" are never numbers here: "un tavolo" is not a party of one. The
//! clock reads "l'una"/"la una" itself.

use super::model::Language;
use super::text::Token;

/// Cardinal number words of `lang`, 1..=31.
pub(super) fn cardinal(lang: Language, w: &str) -> Option<u32> {
    let n = match lang {
        Language::It => match w {
            "uno" => 1,
            "due" => 2,
            "tre" => 3,
            "quattro" => 4,
            "cinque" => 5,
            "sei" => 6,
            "sette" => 7,
            "otto" => 8,
            "nove" => 9,
            "dieci" => 10,
            "undici" => 11,
            "dodici" => 12,
            "tredici" => 13,
            "quattordici" => 14,
            "quindici" => 15,
            "sedici" => 16,
            "diciassette" => 17,
            "diciotto" => 18,
            "diciannove" => 19,
            "venti" => 20,
            "ventuno" => 21,
            "ventidue" => 22,
            "ventitre" => 23,
            "ventiquattro" => 24,
            "venticinque" => 25,
            "ventisei" => 26,
            "ventisette" => 27,
            "ventotto" => 28,
            "ventinove" => 29,
            "trenta" => 30,
            "trentuno" => 31,
            _ => return None,
        },
        Language::En => match w {
            "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            "five" => 5,
            "six" => 6,
            "seven" => 7,
            "eight" => 8,
            "nine" => 9,
            "ten" => 10,
            "eleven" => 11,
            "twelve" => 12,
            "thirteen" => 13,
            "fourteen" => 14,
            "fifteen" => 15,
            "sixteen" => 16,
            "seventeen" => 17,
            "eighteen" => 18,
            "nineteen" => 19,
            "twenty" => 20,
            "thirty" => 30,
            _ => return None,
        },
        Language::Es => match w {
            "uno" => 1,
            "dos" => 2,
            "tres" => 3,
            "cuatro" => 4,
            "cinco" => 5,
            "seis" => 6,
            "siete" => 7,
            "ocho" => 8,
            "nueve" => 9,
            "diez" => 10,
            "once" => 11,
            "doce" => 12,
            "trece" => 13,
            "catorce" => 14,
            "quince" => 15,
            "dieciseis" => 16,
            "diecisiete" => 17,
            "dieciocho" => 18,
            "diecinueve" => 19,
            "veinte" => 20,
            "veintiuno" => 21,
            "veintidos" => 22,
            "veintitres" => 23,
            "veinticuatro" => 24,
            "veinticinco" => 25,
            "veintiseis" => 26,
            "veintisiete" => 27,
            "veintiocho" => 28,
            "veintinueve" => 29,
            "treinta" => 30,
            _ => return None,
        },
    };
    Some(n)
}

/// Ordinal day words ("primo", "first", "primero", "third", "eighth").
pub(super) fn ordinal(lang: Language, w: &str) -> Option<u32> {
    let n = match (lang, w) {
        (Language::It, "primo") | (Language::Es, "primero") | (Language::En, "first") => 1,
        (Language::En, w) => match w {
            "second" => 2,
            "third" => 3,
            "fourth" => 4,
            "fifth" => 5,
            "sixth" => 6,
            "seventh" => 7,
            "eighth" => 8,
            "ninth" => 9,
            "tenth" => 10,
            "eleventh" => 11,
            "twelfth" => 12,
            "thirteenth" => 13,
            "fourteenth" => 14,
            "fifteenth" => 15,
            "sixteenth" => 16,
            "seventeenth" => 17,
            "eighteenth" => 18,
            "nineteenth" => 19,
            "twentieth" => 20,
            "thirtieth" => 30,
            _ => return None,
        },
        _ => return None,
    };
    Some(n)
}

/// A number at `i`, digits or words (English "twenty one"/"twenty-one" included).
/// Returns the value and how many tokens it spans.
pub(super) fn number_at(lang: Language, tokens: &[Token], i: usize) -> Option<(u32, usize)> {
    let t = tokens.get(i)?;
    if let Some(n) = t.num() {
        return Some((n, 1));
    }
    if !t.is_word() {
        return None;
    }
    let n = cardinal(lang, &t.norm)?;
    if lang == Language::En && (n == 20 || n == 30) {
        if let Some(unit) = tokens
            .get(i + 1)
            .filter(|u| u.is_word())
            .and_then(|u| cardinal(lang, &u.norm))
        {
            if unit < 10 {
                return Some((n + unit, 2));
            }
        }
    }
    Some((n, 1))
}

/// An ordinal day at `i` ("1st", "23rd", "twenty-eighth", "first"); value and span.
pub(super) fn ordinal_at(lang: Language, tokens: &[Token], i: usize) -> Option<(u32, usize)> {
    let t = tokens.get(i)?;
    if let Some(n) = t.num() {
        let suffix = tokens.get(i + 1).filter(|s| s.glued && s.is_word());
        return match suffix.map(|s| s.norm.as_str()) {
            Some("st" | "nd" | "rd" | "th") => Some((n, 2)),
            _ => None,
        };
    }
    if !t.is_word() {
        return None;
    }
    if let Some(n) = ordinal(lang, &t.norm) {
        return Some((n, 1));
    }
    let tens =
        cardinal(lang, &t.norm).filter(|n| lang == Language::En && (*n == 20 || *n == 30))?;
    let unit = tokens
        .get(i + 1)
        .filter(|u| u.is_word())
        .and_then(|u| ordinal(lang, &u.norm))?;
    (unit < 10).then_some((tens + unit, 2))
}
