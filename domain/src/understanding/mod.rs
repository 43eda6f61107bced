//! Understanding customer messages in Italian, English and Spanish: language, intent, party
//! size, date, time, service period, name and notes, from rules alone.
//!
//! Invariants: pure and deterministic (no I/O, no clock, no randomness; the reference instant
//! comes in the [`Context`]); total (any UTF-8 input gives an [`Understanding`], never a panic);
//! fast (tens of microseconds per message). How ambiguity is resolved is documented in
//! `docs/understanding.md` and in each module.
//!
//! The pipeline: normalise (`text`, `typos`) -> detect the language -> take dates, clock
//! times and party sizes in that order, each claiming its tokens so no token is read twice ->
//! read the leftover numbers from context (`corrections`) -> settle each field (negations
//! drop a mention, the last mention wins) -> place bare hours with the service periods ->
//! intent -> name and notes -> confidence.

mod calendar;
mod clock;
mod corrections;
mod dates;
mod intent;
mod language;
mod model;
mod names;
mod notes;
mod numbers;
mod party;
mod periods;
mod scan;
mod text;
mod typos;

pub use model::{
    Context, Intent, Language, PeriodOut, ServicePeriod, Understanding, UnknownLanguage,
};

use intent::Basis;
use language::Certainty;
use scan::{settle, Claims};

/// Reads one message against a tenant's context. Never fails.
pub fn understand(text: &str, ctx: &Context) -> Understanding {
    let mut tokens = text::tokenize(text);
    typos::repair(&mut tokens);
    let (language, certainty) =
        language::detect(text, &tokens, ctx.default_language, ctx.forced_language);
    let today = ctx.now.to_zoned(ctx.time_zone.clone()).date();

    let mut claims = Claims::new(tokens.len());
    let found_dates = dates::find(language, &tokens, today, &mut claims);
    let slots = periods::find(&tokens);
    let mut times = clock::find(language, &tokens, &mut claims);
    let mut parties = party::find(language, &tokens, &mut claims);
    let anchors: Vec<usize> = found_dates
        .dates
        .iter()
        .chain(&found_dates.holidays)
        .map(|h| h.end - 1)
        .chain(slots.iter().map(|h| h.at))
        .collect();
    corrections::resolve(&tokens, &mut claims, &anchors, &mut parties, &mut times);

    let date =
        settle(&tokens, &found_dates.dates).or_else(|| settle(&tokens, &found_dates.holidays));
    let slot = settle(&tokens, &slots).map(|h| h.value);
    let party = settle(&tokens, &parties);
    let raw_time = settle(&tokens, &times);

    let periods = periods::effective(&ctx.service_periods);
    let time = raw_time.and_then(|h| periods::resolve(h.value, slot, &periods));
    let period = slot
        .and_then(|s| periods::period_for(s, &periods))
        .map(PeriodOut::from);

    let has_note_word =
        (0..tokens.len()).any(|i| tokens[i].is_word() && notes::is_note_word(&tokens, i));
    let details = intent::Details {
        party_or_time: party.is_some() || time.is_some(),
        other: date.is_some() || slot.is_some() || has_note_word,
    };
    let (intent, basis) = intent::classify(&tokens, text, &details);

    let notes = if matches!(intent, Intent::Book | Intent::Reschedule) && has_note_word {
        let mut detail = vec![false; tokens.len()];
        let spans = [
            party.map(|h| (h.at, h.end)),
            date.map(|h| (h.at, h.end)),
            raw_time.map(|h| (h.at, h.end)),
        ];
        for (at, end) in spans.into_iter().flatten() {
            detail.iter_mut().take(end).skip(at).for_each(|d| *d = true);
        }
        notes::find(&tokens, text, &detail)
    } else {
        Vec::new()
    };

    let guessed_hour = raw_time.is_some_and(|h| h.value.half.is_none() && slot.is_none());
    Understanding {
        language,
        intent,
        party_size: party.map(|h| h.value),
        date: date.map(|h| h.value),
        time,
        period,
        name: names::find(&tokens, text),
        notes,
        confidence: confidence(basis, certainty, guessed_hour),
    }
}

/// Starts from how the intent was reached, lowered when the language was a guess or a bare
/// hour had to be placed with the service periods. Two decimals.
fn confidence(basis: Basis, certainty: Certainty, guessed_hour: bool) -> f32 {
    let base = match basis {
        Basis::Keyword => 0.95,
        Basis::Details => 0.85,
        Basis::Weak => 0.7,
        Basis::Nothing => 0.3,
    };
    let language = match certainty {
        Certainty::Forced | Certainty::Clear => 1.0,
        Certainty::Narrow => 0.95,
        Certainty::Fallback => 0.9,
    };
    let hour = if guessed_hour { 0.95 } else { 1.0 };
    let c: f32 = base * language * hour;
    (c * 100.0).round() / 100.0
}
