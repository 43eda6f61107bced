//! The database handle: one pool on Postgres or SQLite, migrations, readiness.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, Postgres, Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A pooled Postgres connection idle for longer than this is pinged before it is lent (a
/// dead one is replaced); one used more recently is lent as it is. The check is for what
/// happens to a connection while it sits unused (the server restarted, a firewall dropped an
/// idle flow); a connection busy a moment ago is alive as far as a ping can tell. Under load
/// every connection is recent, and a ping per statement or transaction was a round trip
/// each: the inbox writer's group commit and the inbox worker's batches are made of them
/// (docs/benchmarks.md, docs/outbound.md). sqlx documents this use of `before_acquire`.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with postgres:// or sqlite:, got a URL with scheme `{0}`")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Which backend a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// `sqlx::query_as(sql).bind(arg)...` run on either backend's pool with `method` (`fetch_all`,
/// `fetch_optional`, ...): the same statement, typed rows, one arm per pool type.
macro_rules! fetch {
    ($db:expr, $method:ident, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            $crate::db::Db::Postgres(pool) => {
                sqlx::query_as($sql)$(.bind($arg))*.$method(pool).await
            }
            $crate::db::Db::Sqlite(pool) => {
                sqlx::query_as($sql)$(.bind($arg))*.$method(pool).await
            }
        }
    };
}
pub(crate) use fetch;

impl Db {
    /// The condition of a claim's `UPDATE ... WHERE` that takes the rows `chosen` picks
    /// (`FROM table WHERE ... ORDER BY ... LIMIT $n`); `key` names them on SQLite. On Postgres
    /// they are locked `FOR UPDATE SKIP LOCKED`, so that concurrent claimers take different
    /// rows instead of waiting, and named by `ctid = ANY(ARRAY(...))`: with `key IN (...)` the
    /// generic plan ([`Db::connect`]) joined them against a sequential scan of the whole table
    /// once it held many candidates (the inbox with a backlog of 39,000: 35 ms a claim; a
    /// million reminders, 300,000 pending: 590 ms, against 1.3 ms). A row another transaction
    /// changed after the statement began is locked but not taken, and is taken next time. On
    /// SQLite (one writer at a time) the statement alone is atomic.
    pub fn claim_condition(&self, key: &str, chosen: &str) -> String {
        match self {
            Db::Postgres(_) => {
                format!("ctid = ANY(ARRAY(SELECT ctid {chosen} FOR UPDATE SKIP LOCKED))")
            }
            Db::Sqlite(_) => format!("({key}) IN (SELECT {key} {chosen})"),
        }
    }

    /// Connects to `postgres://...` or `sqlite://PATH` (the file is created if missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Generic plans for every prepared statement. The hot statements take arrays
            // (`unnest($1::text[])`); a custom plan knows the array's length and so always
            // looks cheaper than the generic one, and PostgreSQL planned them again on every
            // execution: about half of the database's statement time at 200 messages/s, the same
            // inside `lyo_claim_queued`. Their generic plans run as fast (docs/outbound.md,
            // Performance); the partial indexes are all on literal predicates, which generic
            // plans use too. A statement whose generic plan is worse than its custom ones is
            // written so that it is not (the claims: `claim_condition`; the latest `Tenant`
            // event: `projection::tenant_events_applied`).
            let options = PgConnectOptions::from_str(url)
                .map_err(DbError::Connect)?
                .options([("plan_cache_mode", "force_generic_plan")]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= CHECK_IDLE_AFTER {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(DbError::Connect)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a committed event survives power loss, not just a process crash.
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(DbError::Connect)?;
            Ok(Db::Sqlite(pool))
        } else {
            let scheme = url.split(':').next().unwrap_or_default().to_string();
            Err(DbError::UnsupportedUrl(scheme))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Postgres(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self {
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
            Db::Sqlite(_) => &SQLITE_MIGRATIONS,
        }
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        let result = match self {
            Db::Postgres(pool) => self.migrator().run(pool).await,
            Db::Sqlite(pool) => self.migrator().run(pool).await,
        };
        result.map_err(DbError::Migrate)
    }

    /// How many of the embedded migrations are not applied yet (all of them on a fresh
    /// database). Fails only when the database cannot be reached.
    pub async fn pending_migrations(&self) -> Result<usize, DbError> {
        const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: Result<Vec<i64>, sqlx::Error> = match self {
            Db::Postgres(pool) => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
            Db::Sqlite(pool) => sqlx::query_scalar(APPLIED).fetch_all(pool).await,
        };
        let applied = match applied {
            Ok(versions) => versions,
            // No migrations table yet: nothing applied.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        match self {
            Db::Postgres(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Db::Sqlite(pool) => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn begin(&self) -> Result<DbTx, sqlx::Error> {
        Ok(match self {
            Db::Postgres(pool) => DbTx::Postgres(pool.begin().await?),
            Db::Sqlite(pool) => DbTx::Sqlite(pool.begin().await?),
        })
    }

    /// Runs one statement outside a transaction; returns the rows it affected.
    pub async fn execute(&self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Db::Postgres(pool) => bind_pg(sqlx::query(sql), args)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Sqlite(pool) => bind_sqlite(sqlx::query(sql), args)
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    pub async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite(pool) => pool.close().await,
        }
    }
}

/// A bind argument for SQL that is written once for both backends (`$1`-style placeholders
/// work on both drivers).
#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    Text(String),
    Null,
}

/// A transaction on either backend, for adapters whose SQL is the same on both.
pub enum DbTx {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

impl DbTx {
    /// Runs one statement; returns the rows it affected.
    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            DbTx::Postgres(tx) => bind_pg(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            DbTx::Sqlite(tx) => bind_sqlite(sqlx::query(sql), args)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Postgres(tx) => tx.commit().await,
            DbTx::Sqlite(tx) => tx.commit().await,
        }
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;
type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_pg<'q>(mut query: PgQuery<'q>, args: &'q [Arg]) -> PgQuery<'q> {
    for arg in args {
        query = match arg {
            Arg::I64(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.as_str()),
            Arg::Null => query.bind(None::<String>),
        };
    }
    query
}

fn bind_sqlite<'q>(mut query: SqliteQuery<'q>, args: &'q [Arg]) -> SqliteQuery<'q> {
    for arg in args {
        query = match arg {
            Arg::I64(value) => query.bind(*value),
            Arg::Text(value) => query.bind(value.as_str()),
            Arg::Null => query.bind(None::<String>),
        };
    }
    query
}
