//! The acknowledgement path's check of a body: is it an envelope, and which phone number ids
//! does it name. It walks the JSON once without building it (no tree, no normalisation), with
//! the same parser and the same rules as [`parse_delivery`] (strings decoded, the last of
//! duplicate keys counts), so it accepts exactly the bodies `parse_delivery` accepts; on
//! anything it does not accept, `parse_delivery` gives the precise error.

use super::envelope::{parse_delivery, EnvelopeError};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// The distinct `entry[].changes[].value.metadata.phone_number_id`s of an envelope, or why
/// the body is not one (the error [`parse_delivery`] gives).
pub fn envelope_phone_number_ids(body: &[u8]) -> Result<Vec<String>, EnvelopeError> {
    let checked = std::str::from_utf8(body)
        .ok()
        .and_then(|text| serde_json::from_str::<Root>(text).ok());
    match checked {
        Some(Root {
            object: true,
            entry: Some(ids),
        }) => Ok(ids),
        // Not an envelope (or not JSON): the full parser says exactly why.
        _ => parse_delivery(body).map(|d| {
            d.phone_number_ids()
                .into_iter()
                .map(str::to_owned)
                .collect()
        }),
    }
}

/// Where in the envelope the value being read is. Every value is read in full (strings
/// decoded, as a `Value` would be), then dropped.
#[derive(Clone, Copy)]
enum Walk {
    Any,
    /// `entry`: an array of objects with `changes`.
    Entries,
    Entry,
    Changes,
    Change,
    Value,
    Metadata,
    PhoneNumberId,
}

/// What a value held: whether it was a string / an array, and phone number ids.
#[derive(Default)]
struct Found {
    string: bool,
    array: bool,
    ids: Vec<String>,
}

impl Walk {
    fn scalar(self, text: impl FnOnce() -> String) -> Found {
        let ids = match self {
            Walk::PhoneNumberId => vec![text()],
            _ => Vec::new(),
        };
        Found {
            ids,
            ..Found::default()
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = Found;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    // An id sent as a number or boolean reads as its text, as in `parse_delivery`.
    fn visit_bool<E>(self, value: bool) -> Result<Found, E> {
        Ok(self.scalar(|| value.to_string()))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Found, E> {
        Ok(self.scalar(|| value.to_string()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Found, E> {
        Ok(self.scalar(|| value.to_string()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Found, E> {
        Ok(self.scalar(|| {
            serde_json::Number::from_f64(value).map_or_else(String::new, |n| n.to_string())
        }))
    }
    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Found::default())
    }
    fn visit_str<E>(self, value: &str) -> Result<Found, E> {
        let ids = match self {
            Walk::PhoneNumberId => vec![value.to_owned()],
            _ => Vec::new(),
        };
        Ok(Found {
            string: true,
            array: false,
            ids,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let element = match self {
            Walk::Entries => Walk::Entry,
            Walk::Changes => Walk::Change,
            _ => Walk::Any,
        };
        let mut found = Found {
            array: true,
            ..Found::default()
        };
        while let Some(inner) = seq.next_element_seed(element)? {
            found.ids.extend(inner.ids);
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        // The one key of interest at this level, and where its value is.
        let (wanted, inner) = match self {
            Walk::Entry => ("changes", Walk::Changes),
            Walk::Change => ("value", Walk::Value),
            Walk::Value => ("metadata", Walk::Metadata),
            Walk::Metadata => ("phone_number_id", Walk::PhoneNumberId),
            _ => ("", Walk::Any),
        };
        let mut found = Found::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !wanted.is_empty() && key == wanted {
                // As in a parsed object, the last occurrence of a key counts.
                found.ids = map.next_value_seed(inner)?.ids;
            } else {
                map.next_value_seed(Walk::Any)?;
            }
        }
        Ok(found)
    }
}

/// The envelope itself: a string `object` and an array `entry`.
struct Root {
    object: bool,
    entry: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Root {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RootVisitor;
        impl<'de> Visitor<'de> for RootVisitor {
            type Value = Root;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
                let mut root = Root {
                    object: false,
                    entry: None,
                };
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "object" => root.object = map.next_value_seed(Walk::Any)?.string,
                        "entry" => {
                            let found = map.next_value_seed(Walk::Entries)?;
                            root.entry = found.array.then(|| distinct(found.ids));
                        }
                        _ => {
                            map.next_value_seed(Walk::Any)?;
                        }
                    }
                }
                Ok(root)
            }
        }
        d.deserialize_map(RootVisitor)
    }
}

fn distinct(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn it_agrees_with_the_full_parser() {
        let cases: &[&[u8]] = &[
            br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"123"}}},{"value":{"metadata":{"phone_number_id":"456"}}},{"value":{"metadata":{"phone_number_id":"123"}}}]}]}"#,
            br#"{"object":"x","entry":[1,"a",{"changes":5},{"changes":[null,{"value":"s"}]}]}"#,
            br#"{"object":"x","entry":[],"object":1}"#,
            br#"{"object":1,"entry":[],"object":"x"}"#,
            br#"{"object":"x","entry":{}}"#,
            br#"{"object":"x","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"1","phone_number_id":"2"}}}]}]}"#,
            br#"{"object":"x","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":7}}}]}]}"#,
            br#"{"object":"x","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":1.5}}}]}]}"#,
            br#"{"object":"x","entry":[{"changes":[{"value":{"metadata":"m"}},{"value":{"metadata":{"phone_number_id":true}}}]}]}"#,
            br#"{"object":"x","entry":[],"k":"\ud800"}"#,
            b"{\"object\":\"x\",\"entry\":[],\"k\":\"\xff\"}",
            br#"{"object":"x","entry":[]"#,
            br#"[]"#,
            br#"{"object":"x","entry":[],"n":1e999}"#,
        ];
        for body in cases {
            let full = parse_delivery(body).map(|d| {
                d.phone_number_ids()
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            });
            assert_eq!(
                envelope_phone_number_ids(body),
                full,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
