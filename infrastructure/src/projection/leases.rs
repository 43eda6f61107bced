//! Leases in a table, on both backends. A lease is taken when free, expired or already ours,
//! by one atomic upsert. Expiry uses the holders' clocks (milliseconds since the epoch), so
//! processes sharing a database need roughly synchronised clocks (NTP): a skew shortens or
//! lengthens a takeover, it never lets two runners corrupt a read model, because every batch
//! also moves the checkpoint by compare-and-set.

use crate::db::{Arg, Db};
use async_trait::async_trait;
use lyo_application::event_log::StoreError;
use lyo_application::projection::{LeaseHolder, LeaseStore, ProjectionError};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct SqlLeaseStore {
    db: Db,
}

impl SqlLeaseStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

pub(crate) use crate::now_ms;

fn unexpected(error: sqlx::Error) -> ProjectionError {
    ProjectionError::Store(StoreError::Unexpected(Box::new(error)))
}

const ACQUIRE: &str = "
INSERT INTO projector_leases (name, owner, expires_at_ms) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms
 WHERE projector_leases.owner = excluded.owner OR projector_leases.expires_at_ms < $4";
const RELEASE: &str =
    "UPDATE projector_leases SET expires_at_ms = 0 WHERE name = $1 AND owner = $2";
const HOLDER: &str = "SELECT owner, expires_at_ms FROM projector_leases WHERE name = $1";

#[async_trait]
impl LeaseStore for SqlLeaseStore {
    async fn try_acquire(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, ProjectionError> {
        let now = now_ms();
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let taken = self
            .db
            .execute(
                ACQUIRE,
                &[
                    Arg::Text(name.into()),
                    Arg::Text(owner.into()),
                    Arg::I64(now.saturating_add(ttl)),
                    Arg::I64(now),
                ],
            )
            .await
            .map_err(unexpected)?;
        Ok(taken == 1)
    }

    async fn release(&self, name: &str, owner: &str) -> Result<(), ProjectionError> {
        self.db
            .execute(RELEASE, &[Arg::Text(name.into()), Arg::Text(owner.into())])
            .await
            .map_err(unexpected)?;
        Ok(())
    }

    async fn holder(&self, name: &str) -> Result<Option<LeaseHolder>, ProjectionError> {
        let row: Option<(String, i64)> = match &self.db {
            Db::Postgres(pool) => sqlx::query_as(HOLDER).bind(name).fetch_optional(pool).await,
            Db::Sqlite(pool) => sqlx::query_as(HOLDER).bind(name).fetch_optional(pool).await,
        }
        .map_err(unexpected)?;
        Ok(row.map(|(owner, expires_at_ms)| LeaseHolder {
            owner,
            expires_at_ms,
        }))
    }
}
