//! The embedded adapter: the shared SQL store ([`chat_sql::SqlStore`]) on an SQLite file (bundled
//! libsqlite3, no service to run) in WAL mode, and live events delivered in-process
//! ([`InProcessBus`]). The migrations of `migrations/sqlite` are compiled in and applied on open.

use chat_sql::setup::{open_pool, run_migrations};
use chat_sql::{Backend, CheckedConnection, SetupError, SqlStore};
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use std::path::{Path, PathBuf};

/// The embedded adapter's live-event bus: in-process fan-out (one server instance).
pub use chat_memory::InProcessBus;

/// The schema migrations, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Settings every connection gets. `busy_timeout` first: the others may need a lock. WAL lets
/// readers run beside the one writer; `BEGIN IMMEDIATE` (see `chat_sql::connection`) makes
/// writers queue on the busy timeout instead of failing with "database is locked".
const PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
                       PRAGMA journal_mode = WAL; \
                       PRAGMA synchronous = NORMAL; \
                       PRAGMA foreign_keys = ON;";

/// Why the embedded store could not open.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The data file's directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The path is not valid UTF-8 (SQLite is opened by name).
    #[error("the SQLite path {0:?} is not valid UTF-8")]
    BadPath(PathBuf),
    /// Not an `sqlite://` URL.
    #[error("not an sqlite:// URL: {0}")]
    BadUrl(String),
    /// Opening, migrating or pooling failed.
    #[error("SQLite: {0}")]
    Setup(#[from] SetupError),
}

impl From<diesel::ConnectionError> for EmbeddedError {
    fn from(err: diesel::ConnectionError) -> Self {
        EmbeddedError::Setup(err.into())
    }
}

impl From<diesel::result::Error> for EmbeddedError {
    fn from(err: diesel::result::Error) -> Self {
        EmbeddedError::Setup(err.into())
    }
}

/// Applies [`PRAGMAS`] to every connection the pool opens.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl r2d2::CustomizeConnection<CheckedConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut CheckedConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(PRAGMAS)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The file path of an `sqlite://` URL (`sqlite://data/chat.db` is relative,
/// `sqlite:///var/chat.db` absolute); `sqlite:path` is accepted too.
pub fn path_from_url(url: &str) -> Result<PathBuf, EmbeddedError> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| EmbeddedError::BadUrl(url.to_owned()))
}

/// [`open`] for an `sqlite://` URL.
pub fn open_url(url: &str, pool_size: u32) -> Result<SqlStore, EmbeddedError> {
    open(&path_from_url(url)?, pool_size)
}

/// Applies the pending migrations to the SQLite file at `path` (created if missing, with its
/// directory), inside one `BEGIN IMMEDIATE` transaction so that two processes opening the same
/// file do not both migrate it. Returns the versions applied.
pub fn migrate(path: &Path) -> Result<Vec<String>, EmbeddedError> {
    let name = file_name(path)?;
    let mut conn = SqliteConnection::establish(name)?;
    conn.batch_execute(PRAGMAS)?;
    let applied = conn.immediate_transaction(|conn| {
        run_migrations(conn, MIGRATIONS).map_err(EmbeddedError::from)
    })?;
    if !applied.is_empty() {
        tracing::info!(versions = ?applied, path = %path.display(), "applied SQLite migrations");
    }
    Ok(applied)
}

/// Opens (creating it and its directory if missing) and migrates the SQLite file at `path`, and
/// returns a store on a pool of `pool_size` connections.
pub fn open(path: &Path, pool_size: u32) -> Result<SqlStore, EmbeddedError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    migrate(path)?;
    Ok(open_pool(
        Backend::Sqlite,
        file_name(path)?,
        pool_size,
        Some(Box::new(SqlitePragmas)),
    )?)
}

fn file_name(path: &Path) -> Result<&str, EmbeddedError> {
    path.to_str()
        .ok_or_else(|| EmbeddedError::BadPath(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_relative_and_absolute_files() {
        assert_eq!(
            path_from_url("sqlite://data/chat.db").unwrap(),
            PathBuf::from("data/chat.db")
        );
        assert_eq!(
            path_from_url("sqlite:///var/chat.db").unwrap(),
            PathBuf::from("/var/chat.db")
        );
        assert!(path_from_url("postgres://x").is_err());
        assert!(path_from_url("sqlite://").is_err());
    }
}
