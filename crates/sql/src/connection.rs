//! The one connection type both backends hide behind, its pool, and write transactions.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

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

/// Runs `$body` with `$c` bound to the concrete connection under a [`DbConnection`] (the body
/// is compiled once per backend). A diesel DSL query run through the [`DbConnection`] itself
/// has its SQL text rendered on every call (diesel's `MultiConnection` renders it to hand it
/// over), even when the statement is already prepared; run on the concrete connection, a query
/// with a static query id is looked up by its type. For the hot reads (the seed's send path).
macro_rules! on_concrete {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::connection::DbConnection::Postgresql($c) => $body,
            $crate::connection::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_concrete;

/// A pool of [`DbConnection`]s (each wrapped in a [`CheckedConnection`]).
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

/// How long a connection that answered a ping is handed out without another one.
///
/// r2d2 would ping every connection it hands out (`SELECT 1`): on Postgres one extra round trip
/// for each store call, three of the ten a REST send made. Pinging only connections not checked
/// within this window keeps what the ping is for (a connection that died while idle, say across
/// a database restart, is replaced before a request gets it) at a few pings a second under load.
pub const PING_AFTER: Duration = Duration::from_secs(1);

/// A pooled connection, when it last answered a ping, and whether it was found dead. Derefs to
/// [`DbConnection`].
pub struct CheckedConnection {
    conn: DbConnection,
    checked_at: Instant,
    dead: bool,
}

impl CheckedConnection {
    fn new(conn: DbConnection) -> Self {
        CheckedConnection {
            conn,
            checked_at: Instant::now(),
            dead: false,
        }
    }

    /// The connection stopped answering (a statement failed and so did a ping after it): the
    /// pool drops it when it comes back, rather than trusting it again within [`PING_AFTER`],
    /// and opens another.
    pub fn mark_dead(&mut self) {
        self.dead = true;
    }
}

impl Deref for CheckedConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for CheckedConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
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
    type Connection = CheckedConnection;
    type Error = PoolConnectionError;

    fn connect(&self) -> Result<CheckedConnection, PoolConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(DbConnection::Postgresql),
            Backend::Sqlite => SqliteConnection::establish(&self.url).map(DbConnection::Sqlite),
        }
        .map(CheckedConnection::new)
        .map_err(PoolConnectionError::ConnectionError)
    }

    /// Pings the connection unless it answered one within [`PING_AFTER`].
    fn is_valid(&self, conn: &mut CheckedConnection) -> Result<(), PoolConnectionError> {
        if conn.checked_at.elapsed() < PING_AFTER {
            return Ok(());
        }
        conn.conn.ping().map_err(PoolConnectionError::QueryError)?;
        conn.checked_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut CheckedConnection) -> bool {
        std::thread::panicking() || conn.dead || conn.is_broken()
    }
}
