//! The decision for one conversation, and the in-process cache of conversation states.
//!
//! [`decide`] is the whole of what the worker asks the domain: given a conversation's current
//! state and the commands that arrived for it in a batch (in arrival order), the events to
//! append. It runs the aggregate's own `handle` (each event is applied as it is written, so a
//! later command of the batch sees an earlier one: two copies of one message in one batch give
//! one event). No I/O happens here; loading and appending are the worker's job.

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::SerializedEvent;
use cqrs_es::{Aggregate, DomainEvent};
use lyo_application::metadata::EventMetadata;
use lyo_domain::conversation::{
    Conversation, ConversationCommand, ConversationError, ConversationEvent,
};
use std::collections::HashMap;

/// One command for a conversation and the metadata its events carry.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub command: ConversationCommand,
    pub metadata: EventMetadata,
}

/// A command the aggregate refused: its position in the batch and why.
#[derive(Debug)]
pub struct Rejected {
    pub index: usize,
    pub error: ConversationError,
}

/// Decides `inbound` in order against `state`, which ends up with every event applied.
/// On a refusal `state` may hold part of the refused command's events: discard it.
pub async fn decide(
    state: &mut Conversation,
    inbound: &[Inbound],
) -> Result<Vec<(ConversationEvent, EventMetadata)>, Rejected> {
    let mut decided = Vec::new();
    for (index, item) in inbound.iter().enumerate() {
        let sink = EventSink::default();
        state
            .handle(item.command.clone(), &(), &sink)
            .await
            .map_err(|error| Rejected { index, error })?;
        decided.extend(
            sink.collect()
                .await
                .into_iter()
                .map(|event| (event, item.metadata.clone())),
        );
    }
    Ok(decided)
}

/// Events as the store keeps them, numbered after `version`.
pub fn serialize(
    aggregate_id: &str,
    version: usize,
    events: Vec<(ConversationEvent, EventMetadata)>,
) -> Result<Vec<SerializedEvent>, serde_json::Error> {
    events
        .into_iter()
        .zip(version + 1..)
        .map(|((event, metadata), sequence)| {
            Ok(SerializedEvent::new(
                aggregate_id.to_string(),
                sequence,
                Conversation::TYPE.to_string(),
                event.event_type(),
                event.event_version(),
                serde_json::to_value(&event)?,
                serde_json::to_value(metadata.to_map())?,
            ))
        })
        .collect()
}

/// A conversation as of `version` (the sequence of its last applied event; 0: none).
#[derive(Debug, Default)]
pub struct Loaded {
    pub state: Conversation,
    pub version: usize,
}

impl Loaded {
    /// Applies stored events that follow `version` (others are ignored).
    pub fn apply_stored(&mut self, event: SerializedEvent) -> Result<(), serde_json::Error> {
        if event.sequence <= self.version {
            return Ok(());
        }
        let payload: ConversationEvent = serde_json::from_value(event.payload)?;
        self.state.apply(payload);
        self.version = event.sequence;
        Ok(())
    }
}

/// Conversation states this worker decided last, by aggregate id. An entry is taken out
/// while a batch decides on it and put back as soon as it is decided (a pipelined next batch
/// builds on it); if that batch does not commit, the entries it touched are forgotten, so
/// nothing stale stays behind. The worker still reads what other writers appended after the
/// cached version before deciding. Bounded: the least recently used half is dropped when full.
/// States are boxed, so that when the table grows (at 7,168 entries, 14,336, ...) under the
/// worker's lock it moves pointers, not whole states.
#[derive(Debug, Default)]
pub struct ConversationCache {
    entries: HashMap<String, Box<(Loaded, u64)>>,
    tick: u64,
}

/// Conversations kept at most.
const CACHE_MAX: usize = 50_000;

impl ConversationCache {
    pub fn take(&mut self, aggregate_id: &str) -> Loaded {
        self.entries
            .remove(aggregate_id)
            .map(|entry| entry.0)
            .unwrap_or_default()
    }

    pub fn put(&mut self, aggregate_id: String, loaded: Loaded) {
        self.tick += 1;
        if self.entries.len() >= CACHE_MAX {
            let mut ticks: Vec<u64> = self.entries.values().map(|entry| entry.1).collect();
            ticks.sort_unstable();
            let cut = ticks[ticks.len() / 2];
            self.entries.retain(|_, entry| entry.1 > cut);
        }
        self.entries
            .insert(aggregate_id, Box::new((loaded, self.tick)));
    }

    /// Forgets a conversation whose cached state may be ahead of the store.
    pub fn forget(&mut self, aggregate_id: &str) {
        self.entries.remove(aggregate_id);
    }
}
