//! Shared bookkeeping for the extractors: a found value with its token span, which tokens are
//! already taken, and how negations and corrections decide between several mentions.
//!
//! The rule for corrections is deliberately simple: a mention that a negation points at is
//! dropped ("non domani", "not 4", "invece delle 21", "mañana no,"), and of the rest the last
//! one in the message wins ("per 4, anzi 5", "alle 8, anzi no alle 9").

use super::text::Token;

/// A value found at tokens `at..end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Hit<T> {
    pub at: usize,
    pub end: usize,
    pub value: T,
}

/// Which tokens an extractor has already used, so two fields never read the same token.
pub(super) struct Claims(Vec<bool>);

impl Claims {
    pub fn new(n: usize) -> Self {
        Claims(vec![false; n])
    }

    pub fn free(&self, i: usize) -> bool {
        !self.0.get(i).copied().unwrap_or(true)
    }

    pub fn all_free(&self, at: usize, end: usize) -> bool {
        (at..end).all(|i| self.free(i))
    }

    pub fn take(&mut self, at: usize, end: usize) {
        for c in self.0.iter_mut().take(end).skip(at) {
            *c = true;
        }
    }
}

fn is_prefix_negator(tokens: &[Token], i: usize) -> bool {
    let w = tokens[i].norm.as_str();
    if matches!(w, "non" | "nn" | "not" | "ni") {
        return true;
    }
    let next = |k: usize| tokens.get(i + k).map_or("", |t| t.norm.as_str());
    match w {
        "invece" => matches!(
            next(1),
            "di" | "che" | "delle" | "della" | "del" | "dei" | "dell"
        ),
        "instead" | "rather" => matches!(next(1), "of" | "than"),
        "vez" | "lugar" => next(1) == "de" || next(1) == "del",
        "from" => false,
        _ => false,
    }
}

/// A negation right before the mention ("non domani", "not 4", "instead of 8").
fn negated_before(tokens: &[Token], at: usize) -> bool {
    // "from" points at the very next word only ("from friday to saturday").
    if at > 0 && tokens[at - 1].is("from") {
        return true;
    }
    (at.saturating_sub(3)..at).any(|i| {
        is_prefix_negator(tokens, i)
            && !tokens[i + 1..at]
                .iter()
                .any(|t| t.is_break() || t.num().is_some())
    })
}

/// A negation right after the mention ("mañana no, pasado", "saturday doesn't work").
fn negated_after(tokens: &[Token], end: usize) -> bool {
    let word = |k: usize| tokens.get(end + k).map_or("", |t| t.norm.as_str());
    match word(0) {
        "no" | "non" | "nn" => {
            tokens.get(end + 1).is_none_or(Token::is_break)
                || matches!(
                    word(1),
                    "va" | "funziona" | "me" | "ci" | "nos" | "puedo" | "possiamo"
                )
        }
        "doesn" | "don" | "won" | "isn" => word(1) == "t",
        _ => false,
    }
}

/// The mention that stands after negations and corrections: the last one not negated.
pub(super) fn settle<T: Copy>(tokens: &[Token], hits: &[Hit<T>]) -> Option<Hit<T>> {
    hits.iter()
        .rev()
        .find(|h| !negated_before(tokens, h.at) && !negated_after(tokens, h.end))
        .copied()
}

/// Walks the tokens left to right and takes every hit `at` finds on free tokens, skipping past
/// each one taken.
pub(super) fn claim_each<T: Copy>(
    tokens: &[Token],
    claims: &mut Claims,
    at: impl Fn(usize) -> Option<Hit<T>>,
) -> Vec<Hit<T>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let hit = if claims.free(i) { at(i) } else { None };
        match hit.filter(|h| claims.all_free(h.at, h.end)) {
            Some(h) => {
                claims.take(h.at, h.end);
                out.push(h);
                i = h.end;
            }
            None => i += 1,
        }
    }
    out
}
