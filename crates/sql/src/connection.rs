//! The one connection type both backends hide behind, its pool, and write transactions.

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::r2d2::{Error as PoolConnectionError, R2D2Connection};
use diesel::{PgConnection, SqliteConnection};

/// A connection to Postgres or to SQLite. Queries written against it with diesel's DSL are
/// rendered for whichever database the connection is open on.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// A Postgres connection.
    Postgresql(PgConnection),
    /// An SQLite connection.
    Sqlite(SqliteConnection),
}

/// A pool of [`DbConnection`]s.
pub type DbPool = r2d2::Pool<DbConnectionManager>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Postgres.
    Postgres,
    /// SQLite (the embedded default).
    Sqlite,
}

impl Backend {
    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Runs `f` in a transaction that writes.
///
/// On SQLite it begins with `BEGIN IMMEDIATE`, taking the database's write lock up front (waiting
/// under `busy_timeout`): a deferred transaction that reads first and writes later could instead
/// fail with "database is locked" when another writer got there in between, and the busy
/// handler cannot help it. On Postgres it is a plain transaction: the statements themselves
/// take row locks (an append starts with an `UPDATE` of the thread's row).
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Postgresql(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?;
        }
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rolling back a write transaction failed");
            }
            Err(err)
        }
    }
}

/// Opens pooled connections on one backend. (diesel's own `ConnectionManager` would try each
/// variant of [`DbConnection`] in turn and hide why the right one failed.)
#[derive(Debug, Clone)]
pub struct DbConnectionManager {
    backend: Backend,
    url: String,
}

impl DbConnectionManager {
    /// Connections to `url` (a Postgres URL, or an SQLite file path) on `backend`.
    pub fn new(backend: Backend, url: impl Into<String>) -> Self {
        DbConnectionManager {
            backend,
            url: url.into(),
        }
    }

    /// The backend its connections open on.
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl r2d2::ManageConnection for DbConnectionManager {
    type Connection = DbConnection;
    type Error = PoolConnectionError;

    fn connect(&self) -> Result<DbConnection, PoolConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConnection::Postgresql),
            Backend::Sqlite => SqliteConnection::establish(&self.url).map(DbConnection::Sqlite),
        }
        .map_err(PoolConnectionError::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), PoolConnectionError> {
        conn.ping().map_err(PoolConnectionError::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}
