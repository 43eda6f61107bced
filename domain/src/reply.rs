//! What the assistant sends back: a reply already rendered in the customer's language, in one of
//! the shapes WhatsApp offers (text, reply buttons, a list, an approved template), plus the
//! purpose that chooses the tenant's template when the 24-hour service window is closed.
//!
//! Invariant: a `ReplyBody` that passes `validate` is one the Cloud API accepts as far as its
//! documented limits go (buttons 1–3 with titles of at most 20 characters, at most 10 list rows
//! in total with titles of at most 24 and descriptions of at most 72 characters, at most 1024
//! characters of interactive body and 4096 of text). Lengths count Unicode scalar values, as Meta
//! does. Renderers build replies with these limits in mind; `validate` is the last guard before
//! a reply is queued or sent.

use serde::{Deserialize, Serialize};

pub const MAX_TEXT_BODY: usize = 4096;
pub const MAX_INTERACTIVE_BODY: usize = 1024;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_LIST_SECTIONS: usize = 10;
pub const MAX_ROW_TITLE: usize = 24;
pub const MAX_ROW_DESCRIPTION: usize = 72;
pub const MAX_LIST_BUTTON: usize = 20;
pub const MAX_SECTION_TITLE: usize = 24;
/// Ids of buttons and rows come back in the customer's tap; Meta allows 256 characters for a
/// button's and 200 for a list row's.
pub const MAX_CHOICE_ID: usize = 256;
pub const MAX_ROW_ID: usize = 200;

/// Why a reply is sent; outside the service window it picks the tenant's approved template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyPurpose {
    /// An answer in the flow of a conversation (questions, summaries, offers).
    Answer,
    /// A booking was confirmed.
    BookingConfirmed,
    /// A booking was cancelled or could not be kept.
    BookingCancelled,
    /// A booking was moved.
    BookingRescheduled,
    /// A reminder of an upcoming booking.
    Reminder,
    /// The confirmation of an opt-out (the only thing sent after STOP).
    OptOutConfirmed,
}

/// A tappable choice: `id` comes back in the customer's reply, `title` is what they see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

/// A reply as the dialogue decides it and the outbound queue sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub purpose: ReplyPurpose,
    pub body: ReplyBody,
    /// The inbound message id this answers (shown as a quoted reply), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyBody {
    Text {
        body: String,
    },
    /// Interactive reply buttons.
    Buttons {
        body: String,
        buttons: Vec<Choice>,
    },
    /// Interactive list: `button` opens it.
    List {
        body: String,
        button: String,
        sections: Vec<ListSection>,
    },
    /// An approved template, with positional body parameters and the payloads of its
    /// quick-reply buttons (in button order).
    Template {
        name: String,
        /// Template language code as registered with Meta ("it", "en", "es", "en_US").
        language: String,
        #[serde(default)]
        parameters: Vec<String>,
        #[serde(default)]
        quick_replies: Vec<String>,
    },
}

/// A limit the reply breaks; the field names the part (`buttons[1].title`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ReplyLimitError {
    pub field: String,
    pub problem: String,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ReplyLimitError> {
    let n = chars(value);
    if n < min || n > max || (min > 0 && value.trim().is_empty()) {
        return Err(ReplyLimitError {
            field: field.to_string(),
            problem: format!("{n} characters, must be {min} to {max} and not blank"),
        });
    }
    Ok(())
}

fn check_count(field: &str, n: usize, min: usize, max: usize) -> Result<(), ReplyLimitError> {
    if n < min || n > max {
        return Err(ReplyLimitError {
            field: field.to_string(),
            problem: format!("{n} items, must be {min} to {max}"),
        });
    }
    Ok(())
}

impl ReplyBody {
    /// Checks WhatsApp's documented limits (see the module doc).
    pub fn validate(&self) -> Result<(), ReplyLimitError> {
        match self {
            ReplyBody::Text { body } => check_len("body", body, 1, MAX_TEXT_BODY),
            ReplyBody::Buttons { body, buttons } => {
                check_len("body", body, 1, MAX_INTERACTIVE_BODY)?;
                check_count("buttons", buttons.len(), 1, MAX_BUTTONS)?;
                for (i, b) in buttons.iter().enumerate() {
                    check_len(&format!("buttons[{i}].id"), &b.id, 1, MAX_CHOICE_ID)?;
                    check_len(
                        &format!("buttons[{i}].title"),
                        &b.title,
                        1,
                        MAX_BUTTON_TITLE,
                    )?;
                }
                unique_ids("buttons", buttons.iter().map(|b| b.id.as_str()))
            }
            ReplyBody::List {
                body,
                button,
                sections,
            } => {
                check_len("body", body, 1, MAX_INTERACTIVE_BODY)?;
                check_len("button", button, 1, MAX_LIST_BUTTON)?;
                check_count("sections", sections.len(), 1, MAX_LIST_SECTIONS)?;
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                check_count("rows", rows, 1, MAX_LIST_ROWS)?;
                for (i, s) in sections.iter().enumerate() {
                    match &s.title {
                        Some(t) => {
                            check_len(&format!("sections[{i}].title"), t, 1, MAX_SECTION_TITLE)?
                        }
                        None if sections.len() > 1 => {
                            return Err(ReplyLimitError {
                                field: format!("sections[{i}].title"),
                                problem: "required when there are several sections".into(),
                            })
                        }
                        None => {}
                    }
                    for (j, r) in s.rows.iter().enumerate() {
                        let at = format!("sections[{i}].rows[{j}]");
                        check_len(&format!("{at}.id"), &r.id, 1, MAX_ROW_ID)?;
                        check_len(&format!("{at}.title"), &r.title, 1, MAX_ROW_TITLE)?;
                        if let Some(d) = &r.description {
                            check_len(&format!("{at}.description"), d, 0, MAX_ROW_DESCRIPTION)?;
                        }
                    }
                }
                unique_ids(
                    "rows",
                    sections
                        .iter()
                        .flat_map(|s| s.rows.iter().map(|r| r.id.as_str())),
                )
            }
            ReplyBody::Template {
                name,
                language,
                quick_replies,
                ..
            } => {
                check_len("name", name, 1, 512)?;
                check_len("language", language, 2, 15)?;
                check_count("quick_replies", quick_replies.len(), 0, 10)
            }
        }
    }

    /// The text a person reads (body or template name), for transcripts and the sandbox.
    pub fn summary(&self) -> &str {
        match self {
            ReplyBody::Text { body }
            | ReplyBody::Buttons { body, .. }
            | ReplyBody::List { body, .. } => body,
            ReplyBody::Template { name, .. } => name,
        }
    }
}

fn unique_ids<'a>(field: &str, ids: impl Iterator<Item = &'a str>) -> Result<(), ReplyLimitError> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(ReplyLimitError {
                field: field.to_string(),
                problem: format!("id {id:?} appears twice"),
            });
        }
    }
    Ok(())
}

/// Cuts `s` to at most `max` characters, ending with `…` when it had to cut. For renderers
/// that put free text (a name, a service) into a bounded title.
pub fn fit(s: &str, max: usize) -> String {
    if chars(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn choice(id: &str, title: &str) -> Choice {
        Choice {
            id: id.into(),
            title: title.into(),
        }
    }

    #[test]
    fn limits_are_enforced() {
        let ok = ReplyBody::Buttons {
            body: "Confermi?".into(),
            buttons: vec![choice("yes", "Conferma"), choice("change", "Modifica")],
        };
        assert!(ok.validate().is_ok());
        let four = ReplyBody::Buttons {
            body: "x".into(),
            buttons: (0..4).map(|i| choice(&i.to_string(), "t")).collect(),
        };
        assert_eq!(four.validate().unwrap_err().field, "buttons");
        let long_title = ReplyBody::Buttons {
            body: "x".into(),
            buttons: vec![choice("a", &"é".repeat(21))],
        };
        assert_eq!(long_title.validate().unwrap_err().field, "buttons[0].title");
        assert!(ReplyBody::Buttons {
            body: "x".into(),
            buttons: vec![choice("a", &"é".repeat(20))],
        }
        .validate()
        .is_ok());
        let rows = |n: usize| ReplyBody::List {
            body: "Scegli".into(),
            button: "Orari".into(),
            sections: vec![ListSection {
                title: None,
                rows: (0..n)
                    .map(|i| ListRow {
                        id: format!("r{i}"),
                        title: "20:00".into(),
                        description: None,
                    })
                    .collect(),
            }],
        };
        assert!(rows(10).validate().is_ok());
        assert_eq!(rows(11).validate().unwrap_err().field, "rows");
        assert_eq!(rows(0).validate().unwrap_err().field, "rows");
        let long_row_id = ReplyBody::List {
            body: "Scegli".into(),
            button: "Orari".into(),
            sections: vec![ListSection {
                title: None,
                rows: vec![ListRow {
                    id: "r".repeat(MAX_ROW_ID + 1),
                    title: "20:00".into(),
                    description: None,
                }],
            }],
        };
        assert_eq!(
            long_row_id.validate().unwrap_err().field,
            "sections[0].rows[0].id"
        );
        let text = ReplyBody::Text {
            body: "a".repeat(4097),
        };
        assert_eq!(text.validate().unwrap_err().field, "body");
        let dup = ReplyBody::Buttons {
            body: "x".into(),
            buttons: vec![choice("a", "1"), choice("a", "2")],
        };
        assert!(dup.validate().is_err());
    }

    #[test]
    fn fit_cuts_by_characters() {
        assert_eq!(fit("Sabato", 24), "Sabato");
        assert_eq!(fit("àààà", 3), "àà…");
        assert_eq!(chars(&fit(&"x".repeat(50), 24)), 24);
    }
}
