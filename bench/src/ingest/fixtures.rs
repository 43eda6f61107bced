//! Delivery bodies: the WhatsApp fixtures cut into templates, and the generator that fills them
//! with unique ids and rotating customers and signs them.

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every id in a generated body starts with this, followed by `<delivery>.<n>`.
pub(crate) const ID_PREFIX: &str = "wamid.lyobench.";

/// The fixtures' main customer (phone number and business-scoped user id); replaced by one of
/// `--customers` customers per delivery, so the deliveries spread over many conversations.
const FIXTURE_PHONE: &str = "16505551234";
const FIXTURE_USER_ID: &str = "US.13491208655302741918";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Hole {
    /// A message or status id: unique per delivery.
    Id,
    Phone,
    UserId,
}

/// A fixture cut at its ids and customer: `pieces[0] holes[0] pieces[1] ... pieces[n]`.
pub(crate) struct Template {
    pub(crate) name: String,
    pieces: Vec<String>,
    holes: Vec<Hole>,
}

/// Removes whitespace outside strings (Meta sends compact JSON), keeping every byte of the
/// strings, escapes included.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Cuts a compact body at every `"wamid...."` string value and every mention of the customer.
fn template(name: String, text: &str) -> Template {
    let phone = format!("\"{FIXTURE_PHONE}\"");
    let user = format!("\"{FIXTURE_USER_ID}\"");
    let (mut pieces, mut holes) = (Vec::new(), Vec::new());
    let mut rest = text;
    loop {
        let next = [
            (rest.find("\"wamid."), Hole::Id),
            (rest.find(&phone), Hole::Phone),
            (rest.find(&user), Hole::UserId),
        ]
        .into_iter()
        .filter_map(|(at, hole)| Some((at?, hole)))
        .min_by_key(|(at, _)| *at);
        let Some((at, hole)) = next else { break };
        pieces.push(rest[..=at].to_string());
        holes.push(hole);
        let after = &rest[at + 1..];
        let end = after.find('"').unwrap_or(after.len());
        rest = &after[end..];
    }
    pieces.push(rest.to_string());
    Template {
        name,
        pieces,
        holes,
    }
}

pub(crate) fn load_templates(dir: &Path) -> anyhow::Result<Vec<Template>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut templates = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let t = template(name, &minify(&text));
        // Only deliveries with at least one message or status id can be told apart.
        if t.holes.contains(&Hole::Id) {
            templates.push(t);
        }
    }
    if templates.is_empty() {
        bail!("no delivery with a wamid in {}", dir.display());
    }
    Ok(templates)
}

pub(crate) struct Generator {
    pub(crate) templates: Vec<Template>,
    pub(crate) next: AtomicU64,
    pub(crate) mac: Hmac<Sha256>,
    pub(crate) customers: u64,
}

impl Generator {
    /// The next delivery: its number, body and signature header.
    pub(crate) fn next(&self) -> (u64, String, String) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let len = self.templates.len() as u64;
        let t = &self.templates[usize::try_from(seq % len).unwrap_or(0)];
        let mut body = String::with_capacity(t.pieces.iter().map(String::len).sum::<usize>() + 64);
        let customer = seq % self.customers.max(1);
        for (n, piece) in t.pieces.iter().enumerate() {
            body.push_str(piece);
            use std::fmt::Write as _;
            let _ = match t.holes.get(n) {
                Some(Hole::Id) => write!(body, "{ID_PREFIX}{seq}.{n}"),
                Some(Hole::Phone) => write!(body, "1650{customer:07}"),
                Some(Hole::UserId) => write!(body, "US.1349{customer:016}"),
                None => Ok(()),
            };
        }
        let mut mac = self.mac.clone();
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        (seq, body, signature)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minify_keeps_strings_and_escapes() {
        let text = "{\n  \"a\": \"x y \\\" z\",\n  \"b\": [1, 2]\n}\n";
        assert_eq!(minify(text), "{\"a\":\"x y \\\" z\",\"b\":[1,2]}");
    }

    #[test]
    fn customers_rotate() {
        let text = r#"{"from":"16505551234","u":"US.13491208655302741918","id":"wamid.X"}"#;
        let g = Generator {
            templates: vec![template("t".into(), text)],
            next: AtomicU64::new(6),
            mac: Hmac::<Sha256>::new_from_slice(b"s").unwrap(),
            customers: 5,
        };
        assert_eq!(
            g.next().1,
            r#"{"from":"16500000001","u":"US.13490000000000000001","id":"wamid.lyobench.6.2"}"#
        );
    }

    #[test]
    fn generated_ids_are_unique_and_signed() {
        let t = template(
            "t".into(),
            r#"{"id":"wamid.ABC=","x":{"id":"wamid.DEF"},"n":1}"#,
        );
        assert_eq!(t.pieces.len(), 3);
        let g = Generator {
            templates: vec![t],
            next: AtomicU64::new(7),
            mac: Hmac::<Sha256>::new_from_slice(b"secret").unwrap(),
            customers: 5,
        };
        let (seq, body, signature) = g.next();
        assert_eq!(seq, 7);
        assert_eq!(
            body,
            r#"{"id":"wamid.lyobench.7.0","x":{"id":"wamid.lyobench.7.1"},"n":1}"#
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(body.as_bytes());
        assert_eq!(
            signature,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }
}
