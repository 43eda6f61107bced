//! Normalisation: turns a raw message into tokens that the extractors read.
//!
//! Words are lower-cased and accent-folded ("Mañana" -> "manana", "venerdì" -> "venerdi"), digits
//! become numbers, punctuation is kept only where it carries meaning (`20:30`, `12/12`, `+`, `,`),
//! emoji and other symbols become clause breaks. Every token keeps its byte span so names and
//! notes can be copied from the original text. Apostrophes and hyphens inside words are dropped
//! and mark the next token as glued ("all'una" -> `all` `una`, "O'Brien" -> `o` `brien`).

/// At most this many tokens are read; a booking never needs more, and it bounds the work.
pub(super) const MAX_TOKENS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Word,
    /// Digits; the value saturates, `digits` keeps the written length ("0830" vs "830").
    Num(u32, u8),
    Punct(char),
    /// Emoji, pictographs and other symbols: a clause break with no meaning of its own.
    Symbol,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub norm: String,
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// No whitespace between this token and the previous one.
    pub glued: bool,
    /// The original began with an upper-case letter.
    pub capital: bool,
    /// `norm` was corrected from a typo; names must not trust it.
    pub corrected: bool,
}

impl Token {
    pub fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.norm == w
    }

    pub fn num(&self) -> Option<u32> {
        match self.kind {
            Kind::Num(n, _) => Some(n),
            _ => None,
        }
    }

    pub fn punct(&self) -> Option<char> {
        match self.kind {
            Kind::Punct(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }

    /// Ends a clause: sentence punctuation, a lone dot, a newline, an emoji.
    pub fn is_break(&self) -> bool {
        match self.kind {
            Kind::Symbol => true,
            Kind::Punct(c) => matches!(
                c,
                ',' | ';' | '!' | '?' | '.' | '\n' | '(' | ')' | '¿' | '¡'
            ),
            _ => false,
        }
    }
}

/// Accent-folding for the three languages; everything else is left as is.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        _ => c,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Letter,
    Digit,
    Space,
    Joiner,
    Punct,
    Symbol,
}

fn class(c: char) -> Class {
    if c.is_ascii_digit() {
        Class::Digit
    } else if c.is_alphabetic() {
        Class::Letter
    } else if c == '\n' {
        Class::Punct
    } else if c.is_whitespace() {
        Class::Space
    } else if matches!(c, '\'' | '’' | '`' | '´' | '-') {
        Class::Joiner
    } else if c.is_ascii_punctuation() || matches!(c, '¿' | '¡' | '°' | 'º' | 'ª' | '€') {
        Class::Punct
    } else {
        Class::Symbol
    }
}

/// Splits a message into tokens (see the module docs). Never fails; stops at [`MAX_TOKENS`].
pub(super) fn tokenize(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut glued = false;
    while let Some((start, c)) = chars.next() {
        if out.len() >= MAX_TOKENS {
            break;
        }
        let cls = class(c);
        match cls {
            Class::Space => {
                glued = false;
                continue;
            }
            Class::Joiner => {
                // A hyphen between digits is a date separator ("23-11"); elsewhere it joins.
                let digits_around = c == '-'
                    && out
                        .last()
                        .is_some_and(|t| t.num().is_some() && t.end == start)
                    && chars.peek().is_some_and(|(_, n)| n.is_ascii_digit());
                if digits_around {
                    push(
                        &mut out,
                        "-".into(),
                        Kind::Punct('-'),
                        start,
                        start + 1,
                        true,
                        false,
                    );
                    glued = true;
                } else {
                    glued = out.last().is_some_and(|t| t.end == start);
                }
                continue;
            }
            _ => {}
        }
        let mut end = start + c.len_utf8();
        if matches!(cls, Class::Letter | Class::Digit) {
            while let Some(&(i, n)) = chars.peek() {
                if class(n) != cls {
                    break;
                }
                end = i + n.len_utf8();
                chars.next();
            }
        }
        let raw = &text[start..end];
        let (norm, kind) = match cls {
            Class::Letter => (
                raw.chars().flat_map(char::to_lowercase).map(fold).collect(),
                Kind::Word,
            ),
            Class::Digit => {
                let value = raw.bytes().fold(0u32, |acc, b| {
                    acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
                });
                let digits = u8::try_from(raw.len()).unwrap_or(u8::MAX);
                (raw.to_owned(), Kind::Num(value, digits))
            }
            Class::Punct => (raw.to_owned(), Kind::Punct(c)),
            _ => (String::new(), Kind::Symbol),
        };
        let capital = c.is_uppercase();
        push(&mut out, norm, kind, start, end, glued, capital);
        glued = true;
    }
    merge_texting(&mut out);
    out
}

fn push(
    out: &mut Vec<Token>,
    norm: String,
    kind: Kind,
    start: usize,
    end: usize,
    glued: bool,
    capital: bool,
) {
    out.push(Token {
        norm,
        kind,
        start,
        end,
        glued,
        capital,
        corrected: false,
    });
}

/// Joins texting spellings that the tokenizer splits: "2nite", "2moro", "2day".
fn merge_texting(tokens: &mut Vec<Token>) {
    let mut i = 1;
    while i < tokens.len() {
        let replacement = match tokens[i].norm.as_str() {
            "nite" | "night" if tokens[i].glued => Some("tonight"),
            "moro" | "morrow" | "mrw" | "moz" if tokens[i].glued => Some("tomorrow"),
            "day" if tokens[i].glued => Some("today"),
            _ => None,
        };
        if let (Some(word), Some(2)) = (replacement, tokens[i - 1].num()) {
            let end = tokens[i].end;
            let first = &mut tokens[i - 1];
            first.norm = word.to_owned();
            first.kind = Kind::Word;
            first.end = end;
            tokens.remove(i);
        } else {
            i += 1;
        }
    }
}

/// The normalised word at `i`, or "" past the end or on a non-word token.
pub(super) fn word(tokens: &[Token], i: usize) -> &str {
    tokens
        .get(i)
        .filter(|t| t.is_word())
        .map_or("", |t| t.norm.as_str())
}
