//! Storage of the `event_counts` read model.

use super::sql_projector::{AfterCommit, ReadModel};
use crate::db::{Arg, DbTx};
use async_trait::async_trait;
use lyo_application::event_log::RecordedEvent;
use lyo_application::projection::event_counts;

pub struct EventCounts;

const UPSERT: &str = "
INSERT INTO event_counts (tenant_id, event_type, count) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, event_type) DO UPDATE SET count = event_counts.count + excluded.count";

#[async_trait]
impl ReadModel for EventCounts {
    fn name(&self) -> &'static str {
        event_counts::NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["event_counts"]
    }

    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error> {
        for ((tenant, event_type), count) in event_counts::increments(events) {
            tx.execute(
                UPSERT,
                &[Arg::Text(tenant), Arg::Text(event_type), Arg::I64(count)],
            )
            .await?;
        }
        Ok(None)
    }
}
