//! [`SqlStore`]: every store port, one query source for both backends.

mod append_statements;
mod canned;
mod messages;
mod search;
mod sessions;
mod threads;
mod users;

use chat_domain::ports::Store;
use chat_domain::{DomainError, DomainResult};

use r2d2::PooledConnection;

use crate::connection::{write_transaction, Backend, DbConnection, DbConnectionManager, DbPool};
use crate::error::{is_connection_loss, StoreError};

/// The store ports on a pool of Postgres or SQLite connections. Calls block: run them off the
/// async workers (`web::block`, `spawn_blocking`).
#[derive(Clone)]
pub struct SqlStore {
    pool: DbPool,
    backend: Backend,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl SqlStore {
    /// A store on `pool`, whose connections open on `backend` with the schema migrated.
    pub fn new(pool: DbPool, backend: Backend) -> Self {
        SqlStore { pool, backend }
    }

    /// The database it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// A pooled connection, or Unavailable.
    fn conn(&self) -> DomainResult<PooledConnection<DbConnectionManager>> {
        self.pool.get().map_err(DomainError::unavailable)
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
