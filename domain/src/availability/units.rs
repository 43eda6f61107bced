//! Small value types of availability: minutes, party sizes and the tenant-chosen ids of
//! tables, resources (staff, chairs) and services.
//!
//! Invariants: a `PartySize` is at least 1 (also when deserialized); `Minutes` may be zero
//! (a zero lead time is meaningful), so settings validation checks positivity where it matters.
//! Ids are the tenant's own short labels ("T4", "anna", "taglio"); they are compared exactly.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A whole number of minutes (durations, granularity, lead time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Minutes(pub u32);

impl Minutes {
    pub fn get(self) -> u32 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// As elapsed time (used with instants, so it is real time across a DST change).
    pub fn as_duration(self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.0))
    }
}

/// The number of people in a party: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct PartySize(u16);

/// A party of zero people was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a party has at least one person")]
pub struct EmptyParty;

impl PartySize {
    pub fn new(people: u16) -> Result<Self, EmptyParty> {
        if people == 0 {
            Err(EmptyParty)
        } else {
            Ok(Self(people))
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u16> for PartySize {
    type Error = EmptyParty;

    fn try_from(people: u16) -> Result<Self, Self::Error> {
        Self::new(people)
    }
}

impl From<PartySize> for u16 {
    fn from(party: PartySize) -> u16 {
        party.0
    }
}

macro_rules! label_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(label: impl Into<String>) -> Self {
                Self(label.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

label_id!(
    /// A restaurant table, as the tenant labels it ("T4", "terrazza 2").
    TableId
);
label_id!(
    /// A salon resource: a staff member or a chair.
    ResourceId
);
label_id!(
    /// A salon service ("taglio", "piega").
    ServiceId
);
