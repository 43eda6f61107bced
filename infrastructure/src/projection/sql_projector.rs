//! A projector whose read model lives in SQL tables beside its checkpoint.

use crate::db::{Arg, Db, DbTx};
use async_trait::async_trait;
use lyo_application::event_log::{Position, RecordedEvent, StoreError};
use lyo_application::projection::{ProjectionError, Projector};

/// The rows of one read model. Implementations write with SQL valid on both backends.
#[async_trait]
pub trait ReadModel: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Tables emptied by a rebuild.
    fn tables(&self) -> &'static [&'static str];

    /// Writes what `events` change, inside the batch's transaction; returns what to do once it
    /// has committed.
    async fn write(
        &self,
        tx: &mut DbTx,
        events: &[RecordedEvent],
    ) -> Result<AfterCommit, sqlx::Error>;
}

/// Run once a batch's transaction has committed (e.g. to wake those waiting for its rows);
/// `None`: nothing.
pub type AfterCommit = Option<fn()>;

pub struct SqlProjector<M> {
    db: Db,
    model: M,
}

impl<M: ReadModel> SqlProjector<M> {
    pub fn new(db: Db, model: M) -> Self {
        Self { db, model }
    }
}

fn unexpected(error: sqlx::Error) -> ProjectionError {
    ProjectionError::Store(StoreError::Unexpected(Box::new(error)))
}

// The checkpoint update is the first statement of the batch transaction: on Postgres it locks
// the checkpoint row, on SQLite it takes the write lock, so a competing runner waits and then
// finds the checkpoint moved.
const MOVE_CHECKPOINT_PG: &str = "
UPDATE projector_checkpoints
   SET last_transaction_id = $2, last_position = $3, updated_at = now()
 WHERE name = $1 AND last_transaction_id = $4 AND last_position = $5";
const MOVE_CHECKPOINT_SQLITE: &str = "
UPDATE projector_checkpoints
   SET last_transaction_id = $2, last_position = $3,
       updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
 WHERE name = $1 AND last_transaction_id = $4 AND last_position = $5";
const ENSURE_CHECKPOINT: &str =
    "INSERT INTO projector_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";
const SELECT_CHECKPOINT: &str =
    "SELECT last_transaction_id, last_position FROM projector_checkpoints WHERE name = $1";
const RESET_CHECKPOINT: &str =
    "UPDATE projector_checkpoints SET last_transaction_id = 0, last_position = 0 WHERE name = $1";

#[async_trait]
impl<M: ReadModel> Projector for SqlProjector<M> {
    fn name(&self) -> &'static str {
        self.model.name()
    }

    async fn checkpoint(&self) -> Result<Position, ProjectionError> {
        let name = self.model.name();
        let select = || async {
            match &self.db {
                Db::Postgres(pool) => {
                    sqlx::query_as(SELECT_CHECKPOINT)
                        .bind(name)
                        .fetch_optional(pool)
                        .await
                }
                Db::Sqlite(pool) => {
                    sqlx::query_as(SELECT_CHECKPOINT)
                        .bind(name)
                        .fetch_optional(pool)
                        .await
                }
            }
            .map_err(unexpected)
        };
        // Read first: an idle runner reloads its checkpoint often and must not write to do so.
        let row: Option<(i64, i64)> = match select().await? {
            Some(row) => Some(row),
            None => {
                self.db
                    .execute(ENSURE_CHECKPOINT, &[Arg::Text(name.into())])
                    .await
                    .map_err(unexpected)?;
                select().await?
            }
        };
        let (transaction_id, position) = row.unwrap_or_default();
        Ok(Position {
            transaction_id,
            position,
        })
    }

    async fn apply(
        &self,
        from: Position,
        to: Position,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let name = self.model.name();
        let mut tx = self.db.begin().await.map_err(unexpected)?;
        let sql = match &self.db {
            Db::Postgres(_) => MOVE_CHECKPOINT_PG,
            Db::Sqlite(_) => MOVE_CHECKPOINT_SQLITE,
        };
        let moved = tx
            .execute(
                sql,
                &[
                    Arg::Text(name.into()),
                    Arg::I64(to.transaction_id),
                    Arg::I64(to.position),
                    Arg::I64(from.transaction_id),
                    Arg::I64(from.position),
                ],
            )
            .await
            .map_err(unexpected)?;
        if moved != 1 {
            // Dropping the transaction rolls it back.
            return Err(ProjectionError::CheckpointMoved(name.to_string()));
        }
        let after = self
            .model
            .write(&mut tx, events)
            .await
            .map_err(unexpected)?;
        tx.commit().await.map_err(unexpected)?;
        if let Some(after) = after {
            after();
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), ProjectionError> {
        let name = self.model.name();
        self.db
            .execute(ENSURE_CHECKPOINT, &[Arg::Text(name.into())])
            .await
            .map_err(unexpected)?;
        let mut tx = self.db.begin().await.map_err(unexpected)?;
        // Checkpoint first, for the same locking reason as in `apply`.
        tx.execute(RESET_CHECKPOINT, &[Arg::Text(name.into())])
            .await
            .map_err(unexpected)?;
        for table in self.model.tables() {
            tx.execute(&format!("DELETE FROM {table}"), &[])
                .await
                .map_err(unexpected)?;
        }
        tx.commit().await.map_err(unexpected)
    }
}
