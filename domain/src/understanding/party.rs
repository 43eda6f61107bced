//! Party size: "x 4", "per 4", "siamo in 6", "table for two", "party of six", "para 2 personas",
//! "somos 4", "6 of us", "una coppia", "a couple", "una pareja", "just me", and sums such as
//! "2 adulti e 2 bambini".
//!
//! A number is a party size only with a cue: a word before it ("per", "for", "para", "x",
//! "siamo", "somos", "we're", "table") or a people word after it ("persone", "ppl", "pax").
//! Clock and date tokens are taken before this runs, so "per 4 domani alle 20:30" gives 4.

use super::model::Language;
use super::numbers;
use super::scan::{claim_each, Claims, Hit};
use super::text::{word, Token};

pub(super) fn find(lang: Language, tokens: &[Token], claims: &mut Claims) -> Vec<Hit<u16>> {
    claim_each(tokens, claims, |i| at(lang, tokens, i))
}

#[derive(PartialEq, Clone, Copy)]
enum People {
    Any,
    Adults,
    Children,
}

fn people_noun(w: &str) -> Option<People> {
    match w {
        "persone" | "persona" | "pers" | "people" | "ppl" | "person" | "persons" | "pax"
        | "personas" | "guests" | "guest" | "coperti" | "posti" => Some(People::Any),
        "adulti" | "adults" | "adult" | "adultos" | "adulto" => Some(People::Adults),
        "bambini" | "bambino" | "bimbi" | "bimbo" | "kids" | "kid" | "children" | "child"
        | "ninos" | "nino" | "ragazzi" => Some(People::Children),
        _ => None,
    }
}

/// Words after which a number is never a party size ("10 minuti", "2 ore").
fn is_unit(w: &str) -> bool {
    matches!(
        w,
        "minuti"
            | "min"
            | "mins"
            | "minutes"
            | "minutos"
            | "ore"
            | "hours"
            | "horas"
            | "giorni"
            | "days"
            | "dias"
            | "anni"
            | "years"
            | "anos"
            | "euro"
            | "eur"
    )
}

fn cue_before(tokens: &[Token], i: usize) -> Option<usize> {
    let w = |k: usize| if i >= k { word(tokens, i - k) } else { "" };
    match (w(2), w(1)) {
        ("siamo" | "saremo" | "saremmo" | "essere" | "anzi" | "siete", "in")
        | ("we", "re")
        | ("we", "are") => Some(i - 2),
        ("party", "of") => Some(i - 2),
        (
            _,
            "per" | "x" | "for" | "para" | "pa" | "siamo" | "saremo" | "saremmo" | "somos"
            | "seremos" | "seriamos" | "ser" | "tavolo" | "table" | "mesa" | "da" | "tbl",
        ) => Some(i - 1),
        _ => None,
    }
}

/// "e 2 bambini", "+ 1 child" after a count: the added people, and where they end.
/// With `after` set, the added people must be of the other kind ("2 adulti e 2 bambini").
fn plus_people(
    lang: Language,
    tokens: &[Token],
    i: usize,
    after: Option<People>,
) -> Option<(u32, usize)> {
    let joins = matches!(word(tokens, i), "e" | "and" | "y" | "piu" | "plus" | "mas")
        || tokens.get(i).and_then(Token::punct) == Some('+');
    if !joins {
        return None;
    }
    let (m, len) = numbers::number_at(lang, tokens, i + 1)?;
    let kind = people_noun(word(tokens, i + 1 + len))?;
    let other_kind = after.is_none_or(|k| k != kind);
    (kind != People::Any && other_kind).then_some((m, i + 2 + len))
}

fn at(lang: Language, tokens: &[Token], i: usize) -> Option<Hit<u16>> {
    match (word(tokens, i), word(tokens, i + 1)) {
        ("coppia" | "couple" | "pareja", _) => {
            return Some(Hit {
                at: i,
                end: i + 1,
                value: 2,
            })
        }
        ("just", "me") | ("solo", "io" | "yo") => {
            return Some(Hit {
                at: i,
                end: i + 2,
                value: 1,
            })
        }
        _ => {}
    }
    let (n, len) = numbers::number_at(lang, tokens, i)?;
    let mut end = i + len;
    let unit = is_unit(word(tokens, end)) && tokens.get(end + 1).and_then(Token::num).is_none();
    if !(1..=99).contains(&n) || unit {
        return None;
    }
    let noun = people_noun(word(tokens, end));
    let of_us = word(tokens, end) == "of" && word(tokens, end + 1) == "us" && n > 1;
    let start = cue_before(tokens, i);
    if noun.is_none() && !of_us && start.is_none() {
        return None;
    }
    let mut total = n;
    if let Some(kind) = noun {
        end += 1;
        if kind != People::Any {
            if let Some((m, e)) = plus_people(lang, tokens, end, Some(kind)) {
                total = total.saturating_add(m);
                end = e;
            }
        }
    } else if of_us {
        end += 2;
    } else if let Some((m, e)) = plus_people(lang, tokens, end, None) {
        // "siamo in 2 + 2 bambini".
        total = total.saturating_add(m);
        end = e;
    }
    let value = u16::try_from(total).ok()?;
    Some(Hit {
        at: start.unwrap_or(i),
        end,
        value,
    })
}
