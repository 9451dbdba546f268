//! Opening a store: what the Postgres and SQLite adapters share when they start.

use std::time::Duration;

use diesel::backend::Backend as DieselBackend;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::connection::{Backend, CheckedConnection, DbConnectionManager, DbPool};
use crate::store::SqlStore;

/// How long a request waits for a pooled connection before the store reports itself unavailable.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a store could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The database could not be reached or opened.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A statement failed while preparing the database.
    #[error("the database refused a statement: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("migrating the schema failed: {0}")]
    Migrate(String),
    /// The connection pool could not be built.
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// Applies the pending `migrations` on `conn`; returns the versions applied.
pub fn run_migrations<DB: DieselBackend>(
    conn: &mut impl MigrationHarness<DB>,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>, SetupError> {
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| SetupError::Migrate(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Sets up each pooled connection when it opens.
pub type Customizer = Box<dyn r2d2::CustomizeConnection<CheckedConnection, diesel::r2d2::Error>>;

/// A store on a pool of `pool_size` connections to `url` (already migrated), each set up by
/// `customizer` when it opens.
pub fn open_pool(
    backend: Backend,
    url: &str,
    pool_size: u32,
    customizer: Option<Customizer>,
) -> Result<SqlStore, SetupError> {
    let pool = build_pool(backend, url, pool_size, customizer)?;
    Ok(SqlStore::new(pool, backend))
}

/// A pool of `pool_size` connections to `url` (already migrated), each set up by `customizer`
/// when it opens. Waits until the first connections open (failing after the checkout timeout
/// when the database does not answer).
pub fn build_pool(
    backend: Backend,
    url: &str,
    pool_size: u32,
    customizer: Option<Customizer>,
) -> Result<DbPool, SetupError> {
    let mut builder = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(CHECKOUT_TIMEOUT);
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(customizer);
    }
    let pool = builder.build(DbConnectionManager::new(backend, url))?;
    tracing::info!(backend = backend.name(), pool_size, "store opened");
    Ok(pool)
}
