//! Opening a store: what the Postgres and SQLite adapters share when they start.

use std::time::Duration;

use diesel::backend::Backend as DieselBackend;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use crate::connection::{Backend, CheckedConnection, DbConnectionManager, DbPool};
use crate::store::SqlStore;

/// The longest pause between two attempts of the pool to open a connection that failed.
///
/// r2d2 retries a failed attempt after 200 ms, doubling, up to half the pool's
/// `connection_timeout`; after the database comes back, requests keep failing until the next
/// attempt. The pool's own timeout is therefore twice this (a store's calls wait for their
/// own checkout timeout instead, [`SqlStore::with_checkout_timeout`]): attempts every 200 ms,
/// so a store serves again within about 200 ms of its database answering.
pub const RECONNECT_DELAY_MAX: Duration = Duration::from_millis(200);

/// How long opening a pool waits for its first connection.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

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
/// when it opens. Waits until a first connection opens (failing after 10 s when the database
/// does not answer), then until all have opened (or those 10 s have passed).
///
/// A connection found dead (at check-out, [`crate::connection::PING_AFTER`], or broken under a
/// statement) is dropped and reopened in the background, retried at most
/// [`RECONNECT_DELAY_MAX`] apart while the database stays away; those failures are logged at
/// `debug` only (each call that fails for want of a connection already logs why).
pub fn build_pool(
    backend: Backend,
    url: &str,
    pool_size: u32,
    customizer: Option<Customizer>,
) -> Result<DbPool, SetupError> {
    let mut builder = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        .connection_timeout(RECONNECT_DELAY_MAX * 2)
        .error_handler(Box::new(DebugErrorHandler));
    if let Some(customizer) = customizer {
        builder = builder.connection_customizer(customizer);
    }
    let pool = builder.build_unchecked(DbConnectionManager::new(backend, url));
    let opened = std::time::Instant::now();
    drop(pool.get_timeout(OPEN_TIMEOUT)?);
    // The database answers: let the rest of the initial connections open before returning, as
    // r2d2's own `build` does. A process that exits right after (`create-admin`, `migrate`) then
    // never leaves connection attempts in flight on the pool's threads, which crashed libpq's TLS
    // clean-up at exit (a segfault seen in CI).
    while pool.state().connections < pool.max_size() && opened.elapsed() < OPEN_TIMEOUT {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    tracing::info!(backend = backend.name(), pool_size, "store opened");
    Ok(pool)
}

/// Logs the pool's failures (a connection that could not open, or failed its check-out ping) at
/// `debug`: while the database is down, attempts repeat every [`RECONNECT_DELAY_MAX`] per
/// missing connection.
#[derive(Debug)]
struct DebugErrorHandler;

impl r2d2::HandleError<diesel::r2d2::Error> for DebugErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(%error, "pooled connection failed");
    }
}
