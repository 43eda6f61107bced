//! Typo repair: a word that is not in any vocabulary but is one edit (insertion, deletion,
//! substitution or swap of neighbours) away from an important word becomes that word
//! ("domenca" -> "domenica", "tabel" -> "table", "domigo" -> "domingo").
//!
//! Only long, distinctive words are repair targets, and only words of five letters or more are
//! repaired, so names ("Marco") and short words are left alone. Month names are not targets:
//! too many surnames sit one letter away from them.

use super::text::Token;

const TARGETS: &[&str] = &[
    "lunedi",
    "martedi",
    "mercoledi",
    "giovedi",
    "venerdi",
    "sabato",
    "domenica",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "domingo",
    "domani",
    "dopodomani",
    "stasera",
    "tomorrow",
    "tonight",
    "tavolo",
    "table",
    "prenotare",
    "prenotazione",
    "reservation",
    "reservar",
    "persone",
    "people",
    "personas",
    "appuntamento",
    "appointment",
    "cancel",
    "cancelar",
    "annullare",
    "reschedule",
    "spostare",
];

/// Words that are fine as they are even though they look like a target.
fn known(w: &str) -> bool {
    matches!(
        w,
        "persona"
            | "person"
            | "tables"
            | "sabado"
            | "tavola"
            | "marted"
            | "reserva"
            | "reserve"
            | "stable"
            | "cancelled"
            | "canceled"
            | "martes"
            | "domingos"
            | "persons"
    ) || TARGETS.contains(&w)
}

pub(super) fn repair(tokens: &mut [Token]) {
    for t in tokens.iter_mut().filter(|t| t.is_word()) {
        let n = t.norm.chars().count();
        if n < 5 || !t.norm.is_ascii() || known(&t.norm) {
            continue;
        }
        if let Some(target) = TARGETS.iter().find(|target| one_edit(&t.norm, target)) {
            t.norm = (*target).to_owned();
            t.corrected = true;
        }
    }
}

/// True when `a` and `b` (ASCII) differ by exactly one edit or one swap of neighbours.
fn one_edit(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Less => ra == &rb[1..],
        std::cmp::Ordering::Greater => &ra[1..] == rb,
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::one_edit;

    #[test]
    fn one_edit_covers_insertions_deletions_substitutions_and_swaps() {
        assert!(one_edit("domenca", "domenica"));
        assert!(one_edit("tavlo", "tavolo"));
        assert!(one_edit("tabel", "table"));
        assert!(one_edit("venerdo", "venerdi"));
        assert!(!one_edit("tommorow", "tomorrow"));
        assert!(!one_edit("sabato", "sabato"));
    }
}
