//! [`SqlStore`]: every store port, one query source for both backends.

mod append_statements;
mod canned;
mod messages;
mod search;
mod sessions;
mod threads;
mod users;

use std::sync::{Arc, OnceLock};

use chat_domain::ports::Store;
use chat_domain::{DomainError, DomainResult};

use r2d2::PooledConnection;

use crate::connection::{write_transaction, Backend, DbConnection, DbConnectionManager, DbPool};
use crate::error::{is_connection_loss, StoreError};

/// The store ports on a pool of Postgres or SQLite connections. Calls block: run them off the
/// async workers (`web::block`, `spawn_blocking`).
///
/// A store is usually made on its pool ([`SqlStore::new`]). A *pending* one
/// ([`SqlStore::pending`]) has no pool yet: every call answers `Unavailable` at once, until
/// [`SqlStore::install`] gives it the pool (a server started while its database is down
/// installs it once the database answers and the schema is migrated). Clones share the pool.
#[derive(Clone)]
pub struct SqlStore {
    pool: Arc<OnceLock<DbPool>>,
    backend: Backend,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("pool", &self.pool.get().map(|pool| pool.state()))
            .finish()
    }
}

impl SqlStore {
    /// A store on `pool`, whose connections open on `backend` with the schema migrated.
    pub fn new(pool: DbPool, backend: Backend) -> Self {
        let store = Self::pending(backend);
        store.install(pool);
        store
    }

    /// A store on `backend` without a pool yet: every call answers `Unavailable` until
    /// [`SqlStore::install`].
    pub fn pending(backend: Backend) -> Self {
        SqlStore {
            pool: Arc::new(OnceLock::new()),
            backend,
        }
    }

    /// Gives a pending store its pool (connections to the migrated schema). Returns false, and
    /// drops `pool`, if the store already had one.
    pub fn install(&self, pool: DbPool) -> bool {
        self.pool.set(pool).is_ok()
    }

    /// The database it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool (`None` while the store is pending).
    pub fn pool(&self) -> Option<&DbPool> {
        self.pool.get()
    }

    /// A pooled connection, or Unavailable.
    fn conn(&self) -> DomainResult<PooledConnection<DbConnectionManager>> {
        let pool = self.pool.get().ok_or_else(|| {
            DomainError::Unavailable("the database has not been reached yet".into())
        })?;
        pool.get().map_err(DomainError::unavailable)
    }

    /// Runs `f` on a pooled connection (single statements and reads: each statement is atomic).
    fn run<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> DomainResult<T> {
        let mut conn = self.conn()?;
        match f(&mut conn) {
            Ok(value) => Ok(value),
            // An error the database did not classify may still be a connection that died
            // under the statement (a restart, say): a live connection makes it our bug.
            Err(StoreError::Db(err)) if !is_connection_loss(&err) && !answers_ping(&mut conn) => {
                Err(DomainError::unavailable(err))
            }
            Err(err) => Err(DomainError::from(err)),
        }
    }

    /// Runs `f` in a write transaction on a pooled connection (see [`write_transaction`]).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> DomainResult<T> {
        self.run(|conn| write_transaction(conn, f))
    }
}

/// Whether the connection still answers a trivial query.
fn answers_ping(conn: &mut DbConnection) -> bool {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).is_ok()
}

impl Store for SqlStore {
    fn backend_name(&self) -> &'static str {
        self.backend.name()
    }
}
