//! The checkpoint of a reactor (see `lyo_application::projection::reactor`): a read model
//! without rows, so the reactor's position moves by the same compare-and-set as any projector's.

use super::{AfterCommit, ReadModel};
use crate::db::DbTx;
use async_trait::async_trait;
use lyo_application::event_log::RecordedEvent;

pub struct CheckpointOnly(pub &'static str);

#[async_trait]
impl ReadModel for CheckpointOnly {
    fn name(&self) -> &'static str {
        self.0
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn write(&self, _: &mut DbTx, _: &[RecordedEvent]) -> Result<AfterCommit, sqlx::Error> {
        Ok(None)
    }
}
