//! A reactor: a projector whose effect is commands rather than rows (process managers,
//! schedulers). It runs under the same runner, lease and checkpoint as a read model.
//!
//! Invariant: a reaction must be idempotent. The commands of a batch are issued before the
//! checkpoint moves, in their own transactions; a crash (or a lost compare-and-set) in between
//! means the batch is handed to the reaction again, which must then change nothing. Reactions
//! make that hold by deriving every command's id from the event that caused it.

use super::{ProjectionError, Projector};
use crate::event_log::{Position, RecordedEvent};
use async_trait::async_trait;
use std::sync::Arc;

#[async_trait]
pub trait Reaction: Send + Sync {
    /// Issues what `events` call for. Called again with the same events after a crash.
    async fn react(&self, events: &[RecordedEvent]) -> Result<(), ProjectionError>;
}

/// Runs a [`Reaction`] with the checkpoint of `checkpoint`, a projector that stores no rows
/// (for example an SQL projector over an empty read model), under that projector's name.
pub struct Reactor {
    reaction: Arc<dyn Reaction>,
    checkpoint: Arc<dyn Projector>,
}

impl Reactor {
    pub fn new(reaction: Arc<dyn Reaction>, checkpoint: Arc<dyn Projector>) -> Self {
        Self {
            reaction,
            checkpoint,
        }
    }
}

#[async_trait]
impl Projector for Reactor {
    fn name(&self) -> &'static str {
        self.checkpoint.name()
    }

    async fn checkpoint(&self) -> Result<Position, ProjectionError> {
        self.checkpoint.checkpoint().await
    }

    async fn apply(
        &self,
        from: Position,
        to: Position,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        self.reaction.react(events).await?;
        self.checkpoint.apply(from, to, &[]).await
    }

    async fn reset(&self) -> Result<(), ProjectionError> {
        self.checkpoint.reset().await
    }
}
