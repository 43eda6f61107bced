//! `event_counts`: how many events of each type each tenant has. The first read model; it
//! proves the runtime end to end and gives operators a cheap overview.

use crate::event_log::RecordedEvent;
use std::collections::BTreeMap;

pub const NAME: &str = "event_counts";

/// The increments one batch adds, keyed by (tenant id, event type).
pub fn increments(events: &[RecordedEvent]) -> BTreeMap<(String, String), i64> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts
            .entry((event.tenant_id.clone(), event.event_type.clone()))
            .or_insert(0) += 1;
    }
    counts
}
