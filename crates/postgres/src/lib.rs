//! The Postgres adapter: the shared SQL store ([`chat_sql::SqlStore`]) on a pool of Postgres
//! connections, with the migrations of `migrations/postgres` embedded in the binary and applied
//! under an advisory lock, so several instances starting together do not race.

pub mod testing;

use std::time::Duration;

use chat_sql::{Backend, DbConnectionManager, SqlStore};
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// The schema migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The advisory lock key every instance takes while migrating (any fixed number will do;
/// this one spells "chatmigr" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6368_6174_6d69_6772;

/// How long a request waits for a pooled connection before the store reports itself unavailable.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the Postgres store could not start.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The database could not be reached.
    #[error("cannot connect to Postgres: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A statement failed while preparing the database.
    #[error("Postgres refused a statement: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("migrating the Postgres schema failed: {0}")]
    Migrate(String),
    /// The connection pool could not be built.
    #[error("cannot build the Postgres connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// Applies the pending migrations to the database at `url`, holding a Postgres advisory lock
/// while doing so. Returns the versions applied (none if the schema was up to date).
pub fn migrate(url: &str) -> Result<Vec<String>, PostgresError> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| PostgresError::Migrate(e.to_string()));
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn);
    let applied = applied?;
    unlocked?;
    if !applied.is_empty() {
        tracing::info!(versions = ?applied, "applied Postgres migrations");
    }
    Ok(applied)
}

/// Migrates the database at `url` and opens a store on a pool of `pool_size` connections.
pub fn connect(url: &str, pool_size: u32) -> Result<SqlStore, PostgresError> {
    migrate(url)?;
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .build(DbConnectionManager::new(Backend::Postgres, url))?;
    Ok(SqlStore::new(pool, Backend::Postgres))
}
