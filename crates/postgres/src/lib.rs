//! The Postgres adapter: the shared SQL store ([`chat_sql::SqlStore`]) on a pool of Postgres
//! connections, with the migrations of `migrations/postgres` embedded in the binary and applied
//! under an advisory lock, so several instances starting together do not race.

pub mod testing;

use chat_sql::setup::{build_pool, open_pool, run_migrations};
use chat_sql::{Backend, SqlStore};
use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

/// Why the Postgres store could not start.
pub use chat_sql::SetupError as PostgresError;

/// The schema migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The advisory lock key every instance takes while migrating (any fixed number will do;
/// this one spells "chatmigr" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6368_6174_6d69_6772;

/// Applies the pending migrations to the database at `url`, holding a Postgres advisory lock
/// while doing so. Returns the versions applied (none if the schema was up to date).
pub fn migrate(url: &str) -> Result<Vec<String>, PostgresError> {
    let mut conn = PgConnection::establish(url)?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn)?;
    let applied = run_migrations(&mut conn, MIGRATIONS);
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
    open_pool(Backend::Postgres, url, pool_size, None)
}

/// A Postgres store that does not connect yet: every call answers `Unavailable` until
/// [`open_pending`] has migrated the database and installed the pool. A server started while
/// Postgres is down serves on it and retries [`open_pending`].
pub fn pending() -> SqlStore {
    SqlStore::pending(Backend::Postgres)
}

/// Migrates the database at `url` and gives the pending `store` its pool of `pool_size`
/// connections (as [`connect`] does). Does nothing if the store already has its pool.
pub fn open_pending(store: &SqlStore, url: &str, pool_size: u32) -> Result<(), PostgresError> {
    if store.pool().is_some() {
        return Ok(());
    }
    migrate(url)?;
    store.install(build_pool(Backend::Postgres, url, pool_size, None)?);
    Ok(())
}
