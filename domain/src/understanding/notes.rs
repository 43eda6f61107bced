//! Notes worth passing to staff: allergies and diets, high chairs, wheelchairs and prams,
//! celebrations, pets, seating wishes. Each note is a fragment copied from the original text.
//!
//! A note is the clause (between punctuation, emoji, "ma"/"but"/"pero") that holds a note
//! word, narrowed to start after the last connector ("e", "and", "con", "with"), booking word
//! ("tavolo", "table", "mesa") or extracted detail before the note word, and to end before the
//! next extracted detail; leading "per/for/para/por" and trailing function words are trimmed.
//! "tavolo per 4 stasera alle 8, uno è celiaco" -> "uno è celiaco".

use super::text::Token;

/// Whether a normalised word is a note word.
pub(super) fn is_note_word(tokens: &[Token], i: usize) -> bool {
    let w = tokens[i].norm.as_str();
    let next = tokens.get(i + 1).map_or("", |t| t.norm.as_str());
    const STEMS: &[&str] = &[
        "allerg",
        "alerg",
        "intoller",
        "intoleran",
        "celiac",
        "celiach",
        "coeliac",
        "glutin",
        "gluten",
        "lattosio",
        "lactos",
        "vegan",
        "vegetarian",
        "seggiolon",
        "highchair",
        "trona",
        "rotelle",
        "ruedas",
        "wheelchair",
        "carrozzin",
        "passeggin",
        "stroller",
        "carrito",
        "compleann",
        "anniversar",
        "aniversar",
        "birthday",
        "bday",
        "cumple",
        "terrazz",
        "terraz",
        "terrace",
        "dehors",
        "finestr",
        "ventana",
        "window",
        "sorpres",
        "surprise",
        "torta",
        "tarta",
        "disabil",
    ];
    STEMS.iter().any(|s| w.starts_with(s))
        || matches!(
            w,
            "cane" | "dog" | "perro" | "pram" | "cake" | "festa" | "fiesta" | "outside" | "patio"
        )
        || (w == "high" && next == "chair")
        || (w == "party" && next != "of")
}

fn is_connector(w: &str) -> bool {
    matches!(
        w,
        "e" | "ed"
            | "and"
            | "y"
            | "con"
            | "with"
            | "also"
            | "anche"
            | "plus"
            | "inoltre"
            | "poi"
            | "then"
    )
}

fn is_clause_split(w: &str) -> bool {
    matches!(w, "ma" | "but" | "pero")
}

fn is_booking_word(w: &str) -> bool {
    matches!(
        w,
        "tavolo"
            | "table"
            | "mesa"
            | "prenotare"
            | "prenotazione"
            | "book"
            | "reserve"
            | "reservation"
            | "reservar"
            | "reserva"
            | "ciao"
            | "hi"
            | "hola"
    )
}

fn trims_front(w: &str) -> bool {
    matches!(w, "per" | "for" | "para" | "por")
}

fn trims_back(w: &str) -> bool {
    matches!(
        w,
        "per"
            | "for"
            | "para"
            | "por"
            | "a"
            | "at"
            | "alle"
            | "e"
            | "and"
            | "y"
            | "the"
            | "il"
            | "el"
            | "la"
            | "on"
            | "di"
            | "de"
            | "of"
            | "x"
    )
}

/// `detail[i]` is true for tokens that hold the settled party size, date or time.
pub(super) fn find(tokens: &[Token], text: &str, detail: &[bool]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut clause_start = 0;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_break() || is_clause_split(&t.norm) {
            clause_start = i + 1;
            i += 1;
            continue;
        }
        if !(t.is_word() && is_note_word(tokens, i)) {
            i += 1;
            continue;
        }
        // A plain "e" joins; "è" ("uno è celiaco") folds to the same letters but is a verb.
        let starts_after = |k: usize, u: &Token| {
            let w = u.norm.as_str();
            let connector = is_connector(w) && (w != "e" || text.get(u.start..u.end) == Some("e"));
            detail.get(k).copied().unwrap_or(false) || connector || is_booking_word(w)
        };
        let from = (clause_start..i)
            .rev()
            .find(|k| starts_after(*k, &tokens[*k]))
            .map_or(clause_start, |k| k + 1);
        let mut from = from;
        let mut to = i + 1;
        while to < tokens.len() {
            let u = &tokens[to];
            if u.is_break() || is_clause_split(&u.norm) || detail.get(to).copied().unwrap_or(false)
            {
                break;
            }
            to += 1;
        }
        while from < i && trims_front(&tokens[from].norm) {
            from += 1;
        }
        while to > i + 1 && trims_back(&tokens[to - 1].norm) {
            to -= 1;
        }
        if let Some(note) = text.get(tokens[from].start..tokens[to - 1].end) {
            notes.push(note.trim().to_owned());
        }
        clause_start = to;
        i = to;
    }
    notes
}
