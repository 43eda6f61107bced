//! A booking being collected: what the customer said so far. Later mentions overwrite earlier
//! ones ("anzi alle 21"), so a correction is just another mention.
//!
//! Invariant: a draft is complete when `missing` is `None`; only then does `wish` give one.

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

use crate::availability::{Need, PartySize, ResourceId, ServiceId, Wish};
use crate::personal::Personal;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingDraft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<PartySize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceId>,
    /// A staff member asked for by name (salons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Personal<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Personal<String>>,
}

/// A detail the assistant asks for, in the order it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Service,
    Date,
    Time,
    Party,
    Name,
}

impl BookingDraft {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The first detail still missing: salons need a service, restaurants a party size.
    pub fn missing(&self, salon: bool) -> Option<Field> {
        if salon && self.service.is_none() {
            return Some(Field::Service);
        }
        if self.date.is_none() {
            return Some(Field::Date);
        }
        if self.time.is_none() {
            return Some(Field::Time);
        }
        if !salon && self.party.is_none() {
            return Some(Field::Party);
        }
        if self.name.is_none() {
            return Some(Field::Name);
        }
        None
    }

    pub fn need(&self, salon: bool) -> Option<Need> {
        if salon {
            Some(Need::Service {
                service: self.service.clone()?,
                resource: self.resource.clone(),
            })
        } else {
            Some(Need::Party { size: self.party? })
        }
    }

    /// The exact wish, once date, time and need are known.
    pub fn wish(&self, salon: bool) -> Option<Wish> {
        Some(Wish {
            date: self.date?,
            time: self.time?,
            need: self.need(salon)?,
        })
    }

    /// A draft holding what a request asked for, to start over from after a refusal.
    pub fn from_wish(
        wish: &Wish,
        name: Option<Personal<String>>,
        notes: Option<Personal<String>>,
    ) -> Self {
        let mut draft = BookingDraft {
            date: Some(wish.date),
            time: Some(wish.time),
            name,
            notes,
            ..Default::default()
        };
        match &wish.need {
            Need::Party { size } => draft.party = Some(*size),
            Need::Service { service, resource } => {
                draft.service = Some(service.clone());
                draft.resource = resource.clone();
            }
        }
        draft
    }

    /// A short stable token of the draft's content, put in the Confirm button id so a tap on
    /// an old summary is recognised as stale.
    pub fn token(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut hash: u32 = 0x811c_9dc5;
        for b in json.bytes() {
            hash ^= u32::from(b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("{hash:08x}")
    }
}
