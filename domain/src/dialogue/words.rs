//! Small readings the understanding component does not do: which of the tenant's services or
//! staff a message names, a bare name given in answer to "what name?", and the id of a tapped
//! button or list row.

use crate::availability::{ResourceId, SalonCapacity, ServiceId};
use crate::conversation::InboundMessage;

/// Lower case, accents dropped, anything but letters and digits a space.
pub(crate) fn fold(s: &str) -> Vec<String> {
    let folded: String = s
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().map(str::to_string).collect()
}

fn mentions(text: &[String], phrase: &str) -> bool {
    let p = fold(phrase);
    !p.is_empty() && text.windows(p.len()).any(|w| w == p.as_slice())
}

/// The service the text names (by name or id), the longest name winning.
pub(crate) fn find_service(text: &str, salon: &SalonCapacity) -> Option<ServiceId> {
    let words = fold(text);
    salon
        .services
        .iter()
        .filter(|s| mentions(&words, &s.name) || mentions(&words, s.id.as_str()))
        .max_by_key(|s| s.name.chars().count())
        .map(|s| s.id.clone())
}

/// The staff member (resource) the text names.
pub(crate) fn find_resource(text: &str, salon: &SalonCapacity) -> Option<ResourceId> {
    let words = fold(text);
    salon
        .resources
        .iter()
        .filter(|r| mentions(&words, &r.name) || mentions(&words, r.id.as_str()))
        .max_by_key(|r| r.name.chars().count())
        .map(|r| r.id.clone())
}

/// A message that is only a name ("Rossi", "maria de la cruz"), as the answer to "what name?".
pub(crate) fn bare_name(text: &str) -> Option<String> {
    let t = text.trim().trim_end_matches(['.', '!']);
    let words: Vec<&str> = t.split_whitespace().collect();
    let ok = (1..=4).contains(&words.len())
        && t.chars().count() <= 40
        && t.chars().any(char::is_alphabetic)
        && t.chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-' | '.' | '’'));
    if !ok {
        return None;
    }
    if t.chars().any(char::is_uppercase) && t.chars().any(char::is_lowercase) {
        return Some(words.join(" "));
    }
    let titled: Vec<String> = words
        .iter()
        .map(|w| {
            let lower = w.to_lowercase();
            let mut cs = lower.chars();
            cs.next()
                .map(|c| c.to_uppercase().chain(cs).collect())
                .unwrap_or_default()
        })
        .collect();
    Some(titled.join(" "))
}

/// The id of a tapped reply button, list row or template quick reply.
pub(crate) fn tap(message: &InboundMessage) -> Option<String> {
    let content = message.content.value()?;
    let id = content
        .get("button_reply")
        .and_then(|b| b.get("id"))
        .or_else(|| content.get("list_reply").and_then(|l| l.get("id")))
        .or_else(|| content.get("button").and_then(|b| b.get("payload")))?;
    id.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_alone_are_recognised_and_title_cased() {
        assert_eq!(bare_name("rossi").as_deref(), Some("Rossi"));
        assert_eq!(bare_name("Maria De Luca").as_deref(), Some("Maria De Luca"));
        assert_eq!(bare_name("alle 8"), None);
        assert_eq!(bare_name("non lo so proprio ancora dai"), None);
    }
}
