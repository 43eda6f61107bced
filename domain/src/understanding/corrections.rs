//! Numbers no cue claimed, read from what surrounds them:
//! - after a correction word ("anzi 5", "actually make it 5", "no, 4", "mejor 9") a bare number
//!   repeats the kind of the mention it corrects (party or time; party when there is none);
//! - right after a day or meal word ("2 ppl tonite 9", "el viernes 9") it is a time;
//! - before "works" or "instead" ("8 works", "can we do 9 instead?") it is a time.

use super::clock::RawTime;
use super::scan::{Claims, Hit};
use super::text::{word, Token};

fn is_correction(tokens: &[Token], i: usize) -> bool {
    let w = word(tokens, i);
    matches!(
        w,
        "anzi" | "actually" | "mejor" | "meglio" | "rather" | "no" | "nope" | "wait" | "bueno"
    ) || (matches!(w, "it" | "that") && word(tokens, i.wrapping_sub(1)) == "make")
        || (w == "facciamo")
}

/// Adds the hits found here to `parties` and `times`, keeping both in message order.
pub(super) fn resolve(
    tokens: &[Token],
    claims: &mut Claims,
    anchors: &[usize],
    parties: &mut Vec<Hit<u16>>,
    times: &mut Vec<Hit<RawTime>>,
) {
    for i in 0..tokens.len() {
        let Some(n) = tokens[i].num().filter(|n| (1..=99).contains(n)) else {
            continue;
        };
        let next_glued = tokens.get(i + 1).is_some_and(|t| t.glued && !t.is_break());
        if !claims.free(i) || next_glued {
            continue;
        }
        // The nearest word before the number, skipping punctuation ("no, 4", "anzi... 5").
        let prev = (0..i).rev().take(4).find(|k| tokens[*k].is_word());
        let corrected = prev.is_some_and(|k| is_correction(tokens, k));
        let after_anchor = i > 0 && anchors.contains(&(i - 1));
        let works = matches!(word(tokens, i + 1), "works" | "instead" | "invece");
        let as_time = |n: u32| Hit {
            at: i,
            end: i + 1,
            value: RawTime {
                hour: n,
                minute: 0,
                half: None,
            },
        };
        if corrected {
            let last_party = parties.iter().filter(|h| h.end <= i).map(|h| h.end).max();
            let last_time = times.iter().filter(|h| h.end <= i).map(|h| h.end).max();
            if last_time > last_party && n <= 24 {
                times.push(as_time(n));
            } else {
                parties.push(Hit {
                    at: i,
                    end: i + 1,
                    value: u16::try_from(n).unwrap_or(0),
                });
            }
        } else if (after_anchor || works) && n <= 24 {
            times.push(as_time(n));
        } else {
            continue;
        }
        claims.take(i, i + 1);
    }
    parties.sort_by_key(|h| h.at);
    times.sort_by_key(|h| h.at);
}
