//! Existing bookings and what they occupy: covers over time, tables, resources.
//!
//! A booking occupies `[start, start + duration)` in real time; two bookings overlap when their
//! intervals intersect (touching ends do not). Cancelled bookings are simply not passed in.
//! Invariant of `Schedule`: in a restaurant with tables, every party booking holds tables: a
//! booking that arrives without an assignment (a walk-in noted by staff, an import) is placed
//! virtually, in order of start (then input order), by the same rule a new party gets; if none
//! is free it holds no table (the schedule was already overbooked) but still counts its covers.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::calendar::add_minutes;
use super::settings::Capacity;
use super::tables::choose_tables;
use super::units::{Minutes, PartySize, ResourceId, ServiceId, TableId};
use super::validate::ValidSettings;

/// A booking already in the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub start: Timestamp,
    /// As booked (settings may have changed since).
    pub duration: Minutes,
    pub load: Load,
}

/// What a booking takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Load {
    /// A restaurant party; `tables` empty when none was assigned.
    Party {
        size: PartySize,
        #[serde(default)]
        tables: Vec<TableId>,
    },
    /// A salon appointment.
    Service {
        service: ServiceId,
        resource: ResourceId,
    },
}

impl Booking {
    /// The instant it ends, saturating at the end of representable time.
    pub fn end(&self) -> Timestamp {
        add_minutes(self.start, self.duration).unwrap_or(Timestamp::MAX)
    }
}

#[derive(Debug, Clone)]
struct Held {
    start: Timestamp,
    end: Timestamp,
    covers: u32,
    tables: Vec<TableId>,
    resource: Option<ResourceId>,
}

/// The occupancy of all bookings, ready to be asked about an interval.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    held: Vec<Held>,
}

impl Schedule {
    pub fn new(settings: &ValidSettings, bookings: &[Booking]) -> Self {
        let mut held: Vec<Held> = bookings
            .iter()
            .map(|b| match &b.load {
                Load::Party { size, tables } => Held {
                    start: b.start,
                    end: b.end(),
                    covers: u32::from(size.get()),
                    tables: tables.clone(),
                    resource: None,
                },
                Load::Service { resource, .. } => Held {
                    start: b.start,
                    end: b.end(),
                    covers: 0,
                    tables: Vec::new(),
                    resource: Some(resource.clone()),
                },
            })
            .collect();
        if let Capacity::Restaurant(capacity) = &settings.settings().capacity {
            if !capacity.tables.is_empty() {
                let mut unplaced: Vec<usize> = (0..held.len())
                    .filter(|&i| held[i].covers > 0 && held[i].tables.is_empty())
                    .collect();
                unplaced.sort_by_key(|&i| (held[i].start, i));
                for i in unplaced {
                    let people = u16::try_from(held[i].covers).unwrap_or(u16::MAX);
                    let busy = tables_held(&held, held[i].start, held[i].end);
                    let chosen = choose_tables(capacity, people, &busy).unwrap_or_default();
                    held[i].tables = chosen;
                }
            }
        }
        Schedule { held }
    }

    fn overlapping(&self, start: Timestamp, end: Timestamp) -> impl Iterator<Item = &Held> {
        overlapping(&self.held, start, end)
    }

    /// The most covers seated at any one instant of `[start, end)`.
    pub fn peak_covers(&self, start: Timestamp, end: Timestamp) -> u32 {
        let around: Vec<&Held> = self.overlapping(start, end).collect();
        let mut peak = 0;
        // The count only rises at `start` or where a booking starts inside the interval.
        let rises =
            std::iter::once(start).chain(around.iter().map(|h| h.start).filter(|&s| s > start));
        for at in rises {
            let seated = around
                .iter()
                .filter(|h| h.start <= at && at < h.end)
                .map(|h| h.covers)
                .sum();
            peak = peak.max(seated);
        }
        peak
    }

    /// The tables held by bookings overlapping `[start, end)`.
    pub fn tables_in_use(&self, start: Timestamp, end: Timestamp) -> HashSet<&TableId> {
        tables_held(&self.held, start, end)
    }

    /// Whether a resource is booked anywhere in `[start, end)`.
    pub fn resource_busy(&self, resource: &ResourceId, start: Timestamp, end: Timestamp) -> bool {
        self.overlapping(start, end)
            .any(|h| h.resource.as_ref() == Some(resource))
    }
}

fn overlapping(held: &[Held], start: Timestamp, end: Timestamp) -> impl Iterator<Item = &Held> {
    held.iter().filter(move |h| h.start < end && start < h.end)
}

fn tables_held(held: &[Held], start: Timestamp, end: Timestamp) -> HashSet<&TableId> {
    overlapping(held, start, end)
        .flat_map(|h| &h.tables)
        .collect()
}
