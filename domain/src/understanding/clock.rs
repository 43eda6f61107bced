//! Clock times as written: "alle 8", "20:30", "20.30", "8pm", "730pm", "21h", "ore 20 e 30",
//! "8 e mezza", "9 meno un quarto", "nueve y media", "half past seven", "a quarter to 9",
//! "mezzogiorno", "noon", "mediodía", "8 o'clock", "8ish".
//!
//! A number only becomes a time with a cue before it ("alle", "at", "a las", "ore", "verso le")
//! or a clock shape around it (":", "pm", "h", "e mezza"), so "per 4 domani alle 20:30" keeps
//! 4 as the party. Hours 1–12 without am/pm stay ambiguous here; `hours` resolves them.

use super::model::Language;
use super::numbers;
use super::scan::{claim_each, Claims, Hit};
use super::text::{word, Kind, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Half {
    Am,
    Pm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawTime {
    pub hour: u32,
    pub minute: u32,
    /// Known half of the day; `None` with an hour of 1–12 means "resolve with the periods".
    pub half: Option<Half>,
}

pub(super) fn find(lang: Language, tokens: &[Token], claims: &mut Claims) -> Vec<Hit<RawTime>> {
    claim_each(tokens, claims, |i| at(lang, tokens, i))
}

fn time(at: usize, end: usize, hour: u32, minute: u32, half: Option<Half>) -> Option<Hit<RawTime>> {
    (hour <= 24 && minute < 60).then_some(Hit {
        at,
        end,
        value: RawTime {
            hour: hour % 24,
            minute,
            half,
        },
    })
}

/// Words that announce a clock time right after them.
fn is_cue(tokens: &[Token], i: usize) -> bool {
    match word(tokens, i) {
        "alle" | "all" | "ore" | "h" | "dalle" | "at" | "around" | "about" | "by" | "las"
        | "verso" | "sobre" | "hacia" => true,
        "le" => matches!(
            word(tokens, i.wrapping_sub(1)),
            "per" | "verso" | "tipo" | "fino" | "entro"
        ),
        "la" => word(tokens, i + 1) == "una" || tokens.get(i + 1).and_then(Token::num) == Some(1),
        _ => tokens[i].punct() == Some('@'),
    }
}

fn at(lang: Language, tokens: &[Token], i: usize) -> Option<Hit<RawTime>> {
    let w = word(tokens, i);
    match w {
        "mezzogiorno" | "noon" | "midday" | "mediodia" => {
            let (minute, end) = fraction(tokens, i + 1).map_or((0, i + 1), |(m, e)| (m, e));
            return time(i, end, 12, minute, Some(Half::Pm));
        }
        "mezzanotte" | "midnight" | "medianoche" => return time(i, i + 1, 0, 0, Some(Half::Am)),
        "half" | "quarter" | "a" if lang == Language::En => {
            return english_fraction(lang, tokens, i)
        }
        _ => {}
    }
    if is_cue(tokens, i) {
        let mut j = i + 1;
        while matches!(word(tokens, j), "le" | "las" | "ore" | "h" | "the" | "l") {
            j += 1;
        }
        if let Some(mut h) =
            english_fraction(lang, tokens, j).or_else(|| clock(lang, tokens, j, true))
        {
            h.at = i;
            return Some(h);
        }
        return None;
    }
    clock(lang, tokens, i, false)
}

/// "half past seven", "quarter past 8", "(a) quarter to 9".
fn english_fraction(lang: Language, tokens: &[Token], i: usize) -> Option<Hit<RawTime>> {
    if lang != Language::En {
        return None;
    }
    let a = usize::from(word(tokens, i) == "a");
    let (minute, before) = match (word(tokens, i + a), word(tokens, i + a + 1)) {
        ("half", "past") => (30, false),
        ("quarter", "past" | "after") => (15, false),
        ("quarter", "to" | "til" | "till") => (45, true),
        _ => return None,
    };
    let (h, len) = numbers::number_at(lang, tokens, i + a + 2).filter(|(h, _)| *h <= 24)?;
    let hour = if before {
        (h + 11) % 12 + if h > 12 { 12 } else { 0 }
    } else {
        h
    };
    let (end, half) = suffix_half(tokens, i + a + 2 + len);
    time(i, end, hour, minute, half.or(fixed_half(hour)))
}

/// A clock at `i`. With `cued`, a bare hour ("8", "otto", "una") is enough.
fn clock(lang: Language, tokens: &[Token], i: usize, cued: bool) -> Option<Hit<RawTime>> {
    let t = tokens.get(i)?;
    let next = tokens.get(i + 1);
    let after = tokens.get(i + 2);
    let (mut minute, mut end, mut shaped) = (0, i + 1, false);
    let mut hour;
    if let Kind::Num(n, digits) = t.kind {
        hour = n;
        let sep = next.filter(|s| s.glued).and_then(Token::punct);
        let h_glued = next.is_some_and(|s| s.glued && s.is("h"));
        if let (Some(':' | '.'), Some(Kind::Num(m, 2))) =
            (sep, after.filter(|a| a.glued).map(|a| a.kind))
        {
            minute = m;
            end = i + 3;
            shaped = true;
        } else if h_glued {
            end = i + 2;
            shaped = true;
            if let Some(Kind::Num(m, 2)) = after.filter(|a| a.glued).map(|a| a.kind) {
                minute = m;
                end = i + 3;
            }
        } else if digits >= 3
            && next.is_some_and(|s| s.glued && matches!(s.norm.as_str(), "pm" | "am"))
        {
            hour = n / 100;
            minute = n % 100;
        }
        if digits == 2 && t.norm.starts_with('0') && shaped {
            return time(i, end, hour, minute, Some(Half::Am));
        }
    } else if matches!(t.norm.as_str(), "una") && cued && lang != Language::En {
        hour = 1;
    } else if let (true, Some((n, len))) = (cued, numbers::number_at(lang, tokens, i)) {
        hour = n;
        end = i + len;
    } else {
        return None;
    }
    if hour > 24 {
        return None;
    }
    if let Some((m, e)) = fraction(tokens, end).filter(|_| minute == 0) {
        minute = m;
        if m >= 100 {
            // "9 meno un quarto": a quarter before the hour.
            minute = m - 100;
            hour = (hour + 23) % 24;
        }
        end = e;
        shaped = true;
    }
    let (e, half) = suffix_half(tokens, end);
    if e > end {
        shaped = true;
        end = e;
    }
    if matches!(word(tokens, end), "ish")
        || (word(tokens, end) == "o" && word(tokens, end + 1) == "clock")
    {
        end += if word(tokens, end) == "o" { 2 } else { 1 };
        shaped = true;
    }
    if !(cued || shaped) || hour > 24 {
        return None;
    }
    time(i, end, hour, minute, half.or(fixed_half(hour)))
}

/// A clock shape at `i` without any cue ("8pm", "20:30", "9 y media", "8 o'clock").
pub(super) fn looks_like_clock(lang: Language, tokens: &[Token], i: usize) -> bool {
    clock(lang, tokens, i, false).is_some()
}

fn fixed_half(hour: u32) -> Option<Half> {
    match hour {
        0 => Some(Half::Am),
        13..=24 => Some(Half::Pm),
        _ => None,
    }
}

/// "e mezza", "e un quarto", "e 30", "y media", "y cuarto", "meno un quarto", "menos cuarto".
/// Minutes before the hour come back as 100 + minutes.
fn fraction(tokens: &[Token], i: usize) -> Option<(u32, usize)> {
    let (joiner, rest) = (word(tokens, i), i + 1);
    let before = match joiner {
        "e" | "y" => false,
        "meno" | "menos" => true,
        _ => return None,
    };
    let skip = usize::from(matches!(word(tokens, rest), "un"));
    let m = match word(tokens, rest + skip) {
        "mezza" | "mezzo" | "media" | "half" => 30,
        "quarto" | "cuarto" | "quarter" => 15,
        "trenta" | "treinta" => 30,
        "venti" | "veinte" => 20,
        "dieci" | "diez" => 10,
        _ => {
            let n = tokens.get(rest)?.num().filter(|n| *n < 60)?;
            return Some((if before { 100 + 60 - n } else { n }, rest + 1));
        }
    };
    Some((if before { 100 + 60 - m } else { m }, rest + skip + 1))
}

/// "pm", "p.m.", "am", "di sera", "de la noche", "in the evening", "de la mañana"...
fn suffix_half(tokens: &[Token], i: usize) -> (usize, Option<Half>) {
    let w = |k: usize| word(tokens, i + k);
    match (w(0), w(1), w(2)) {
        ("pm", _, _) => (i + 1, Some(Half::Pm)),
        ("am", _, _) => (i + 1, Some(Half::Am)),
        ("p", _, _) if tokens.get(i + 1).and_then(Token::punct) == Some('.') && w(2) == "m" => {
            (i + 3, Some(Half::Pm))
        }
        ("a", _, _) if tokens.get(i + 1).and_then(Token::punct) == Some('.') && w(2) == "m" => {
            (i + 3, Some(Half::Am))
        }
        ("di" | "de", "sera" | "notte" | "pomeriggio", _) | ("del", "pomeriggio", _) => {
            (i + 2, Some(Half::Pm))
        }
        ("de", "la", "noche" | "tarde") | ("in", "the", "evening" | "afternoon") => {
            (i + 3, Some(Half::Pm))
        }
        ("di" | "del", "mattina" | "mattino", _) => (i + 2, Some(Half::Am)),
        ("de", "la", "manana") | ("in", "the", "morning") => (i + 3, Some(Half::Am)),
        _ => (i, None),
    }
}
