//! Marking personal data inside events.
//!
//! A field of type [`Personal<T>`] is personal data of one subject. Inside an event it is
//! serialised as `{"$pii": {"subject": "<id>", "value": ...}}`; the event store seals every
//! such object with the subject's key before it is written and opens it again on read
//! (crypto-shredding, see `docs/adr/0002-personal-data.md`). Once the subject's key has been
//! destroyed the field loads as redacted: the event stays readable, the value is gone.
//!
//! The domain only marks; it never sees keys or ciphertext.

use crate::ids::SubjectId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The JSON key that marks a personal-data object inside an event payload.
pub const PII_MARKER: &str = "$pii";

/// A value that is personal data of `subject`, or its redacted remains after erasure.
/// Its `Debug` shows the subject only, so a logged command or event never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Personal<T> {
    subject: SubjectId,
    value: Option<T>,
}

impl<T> std::fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.value.is_some() {
            "<personal>"
        } else {
            "<redacted>"
        };
        write!(f, "Personal({}, {value})", self.subject)
    }
}

impl<T> Personal<T> {
    pub fn new(subject: SubjectId, value: T) -> Self {
        Self {
            subject,
            value: Some(value),
        }
    }

    /// What is left once the subject has been erased.
    pub fn redacted(subject: SubjectId) -> Self {
        Self {
            subject,
            value: None,
        }
    }

    pub fn subject(&self) -> SubjectId {
        self.subject
    }

    /// The value, or `None` when it has been erased.
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }

    pub fn is_redacted(&self) -> bool {
        self.value.is_none()
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<T> {
    #[serde(rename = "$pii")]
    pii: Inner<T>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inner<T> {
    subject: SubjectId,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    value: Option<T>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    redacted: bool,
}

fn none<T>() -> Option<T> {
    None
}

impl<T: Serialize + Clone> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            pii: Inner {
                subject: self.subject,
                value: self.value.clone(),
                redacted: self.value.is_none(),
            },
        }
        .serialize(serializer)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::<T>::deserialize(deserializer)?;
        Ok(Self {
            subject: wire.pii.subject,
            value: if wire.pii.redacted {
                None
            } else {
                wire.pii.value
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_personal_value_is_marked_in_json() {
        let subject = SubjectId::new();
        let json = serde_json::to_value(Personal::new(subject, "Rossi".to_string())).unwrap();
        assert_eq!(json["$pii"]["value"], "Rossi");
        assert_eq!(json["$pii"]["subject"], subject.to_string());
        let back: Personal<String> = serde_json::from_value(json).unwrap();
        assert_eq!(back.value().map(String::as_str), Some("Rossi"));
    }

    #[test]
    fn debug_output_never_shows_the_value() {
        let shown = format!("{:?}", Personal::new(SubjectId::new(), "Rossi".to_string()));
        assert!(!shown.contains("Rossi"), "{shown}");
    }

    #[test]
    fn a_redacted_value_round_trips_as_redacted() {
        let subject = SubjectId::new();
        let json = serde_json::to_value(Personal::<String>::redacted(subject)).unwrap();
        assert_eq!(json["$pii"]["redacted"], true);
        let back: Personal<String> = serde_json::from_value(json).unwrap();
        assert!(back.is_redacted());
        assert_eq!(back.subject(), subject);
    }
}
