//! [`SqlStore`]: every store port, one query source for both backends.

mod append_statements;
mod attachments;
mod batch;
mod batch_statements;
mod canned;
mod client_reads;
mod constant;
mod labels;
mod messages;
mod ratings;
mod reports;
mod routing;
mod search;
mod search_upkeep;
mod sessions;
mod sla;
mod threads;
mod users;
mod webhooks;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chat_domain::ports::Store;
use chat_domain::{DomainError, DomainResult};

use r2d2::PooledConnection;

use crate::connection::{write_transaction, Backend, DbConnection, DbConnectionManager, DbPool};
use crate::error::StoreError;

pub use batch::AppendBatching;
use batch::{Batcher, WriterContext};
use search_upkeep::SearchUpkeep;
pub use search_upkeep::EVERY as SEARCH_UPKEEP_EVERY;

/// The store ports on a pool of Postgres or SQLite connections. Calls block: run them off the
/// async workers (`web::block`, `spawn_blocking`).
///
/// A store is usually made on its pool ([`SqlStore::new`]). A *pending* one
/// ([`SqlStore::pending`]) has no pool yet: every call answers `Unavailable` at once, until
/// [`SqlStore::install`] gives it the pool (a server started while its database is down
/// installs it once the database answers and the schema is migrated). Clones share the pool.
///
/// A call waits at most its *checkout timeout* ([`SqlStore::with_checkout_timeout`], by default
/// [`DEFAULT_CHECKOUT_TIMEOUT`]) for a pooled connection, then answers `Unavailable`: while the
/// database is down, that is how long a call takes to fail.
///
/// On Postgres, appends are batched (group commit, [`AppendBatching`], on by default): sends
/// arriving together share one transaction; see `store::batch`.
#[derive(Clone)]
pub struct SqlStore {
    pool: Arc<OnceLock<DbPool>>,
    backend: Backend,
    checkout_timeout: Duration,
    observer: Option<Arc<dyn CheckoutObserver>>,
    batcher: Option<Arc<Batcher>>,
    search_upkeep: Option<Arc<SearchUpkeep>>,
}

/// Told of every wait for a pooled connection (the server's metrics implement it; the store
/// knows nothing of how they are kept).
pub trait CheckoutObserver: Send + Sync {
    /// A call waited `waited` for a connection, and got one (`got`) or timed out.
    fn checked_out(&self, waited: Duration, got: bool);
}

/// How long a call waits for a pooled connection unless the store is told otherwise (the
/// server sets `database.checkout_timeout_ms`).
pub const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("checkout_timeout", &self.checkout_timeout)
            .field("append_batching", &self.append_batching())
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
    /// [`SqlStore::install`]. On Postgres its appends are batched ([`AppendBatching::default`]).
    pub fn pending(backend: Backend) -> Self {
        let store = SqlStore {
            pool: Arc::new(OnceLock::new()),
            backend,
            checkout_timeout: DEFAULT_CHECKOUT_TIMEOUT,
            observer: None,
            batcher: None,
            search_upkeep: None,
        };
        match backend {
            Backend::Postgres => store
                .with_append_batching(AppendBatching::default())
                .with_search_upkeep(Some(SEARCH_UPKEEP_EVERY)),
            Backend::Sqlite => store,
        }
    }

    /// The same store (sharing its pool, pending or not) telling `observer` how long each
    /// checkout waited. Not told while the store is pending (no pool to wait for).
    #[must_use]
    pub fn with_checkout_observer(mut self, observer: Arc<dyn CheckoutObserver>) -> Self {
        self.observer = Some(observer);
        self.restart_batcher()
    }

    /// The same store (sharing its pool, pending or not) whose calls wait at most `timeout` for
    /// a pooled connection before answering `Unavailable`. A zero timeout is taken as 1 ms.
    /// A batched append waits at most as long in the batch queue.
    #[must_use]
    pub fn with_checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout.max(Duration::from_millis(1));
        self.restart_batcher()
    }

    /// The same store (sharing its pool, pending or not) batching its appends as `batching`
    /// says ([`AppendBatching::OFF`]: one transaction per append). Postgres only: an SQLite
    /// store has one writer at a time anyway, and keeps the direct path.
    #[must_use]
    pub fn with_append_batching(mut self, batching: AppendBatching) -> Self {
        self.batcher = None;
        if self.backend != Backend::Postgres || !batching.is_on() {
            return self;
        }
        let context = WriterContext {
            pool: Arc::clone(&self.pool),
            checkout_timeout: self.checkout_timeout,
            observer: self.observer.clone(),
        };
        match Batcher::start(batching, context) {
            Ok(batcher) => self.batcher = Some(Arc::new(batcher)),
            Err(err) => {
                tracing::warn!(error = %err, "could not start the append batcher; appends go one by one");
            }
        }
        self
    }

    /// The same store (sharing its pool, pending or not) moving message search's pending list
    /// into its index every `every` (Postgres; on by default, every [`SEARCH_UPKEEP_EVERY`]), or
    /// never (`None`: the sends that find the list full merge it, as Postgres does alone).
    /// See `store::search_upkeep`.
    #[must_use]
    pub fn with_search_upkeep(mut self, every: Option<Duration>) -> Self {
        self.search_upkeep = None;
        let Some(every) = every.filter(|_| self.backend == Backend::Postgres) else {
            return self;
        };
        match SearchUpkeep::start(Arc::clone(&self.pool), every) {
            Ok(upkeep) => self.search_upkeep = Some(Arc::new(upkeep)),
            Err(err) => {
                tracing::warn!(error = %err, "could not start the search index's upkeep");
            }
        }
        self
    }

    /// Pending-list pages of message search the store's upkeep has moved into the index (0
    /// without upkeep).
    pub fn search_pages_cleaned(&self) -> u64 {
        self.search_upkeep
            .as_ref()
            .map_or(0, |upkeep| upkeep.cleaned_pages())
    }

    /// How appends are batched ([`AppendBatching::OFF`] when they are not).
    pub fn append_batching(&self) -> AppendBatching {
        self.batcher
            .as_ref()
            .map_or(AppendBatching::OFF, |batcher| batcher.settings)
    }

    /// Starts a new batcher (with this store's checkout settings) in place of the current one.
    fn restart_batcher(self) -> Self {
        let batching = self.append_batching();
        if batching.is_on() {
            self.with_append_batching(batching)
        } else {
            self
        }
    }

    /// How long a call waits for a pooled connection.
    pub fn checkout_timeout(&self) -> Duration {
        self.checkout_timeout
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

    /// A pooled connection, or Unavailable after the checkout timeout.
    fn conn(&self) -> DomainResult<PooledConnection<DbConnectionManager>> {
        let pool = self.pool.get().ok_or_else(|| {
            DomainError::Unavailable("the database has not been reached yet".into())
        })?;
        let started = Instant::now();
        let conn = pool.get_timeout(self.checkout_timeout);
        if let Some(observer) = &self.observer {
            observer.checked_out(started.elapsed(), conn.is_ok());
        }
        conn.map_err(DomainError::unavailable)
    }

    /// Runs `f` on a pooled connection (single statements and reads: each statement is atomic).
    fn run<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> DomainResult<T> {
        let mut conn = self.conn()?;
        f(&mut conn).map_err(|err| failure(&mut conn, err))
    }

    /// Runs `f` in a write transaction on a pooled connection (see [`write_transaction`]).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> DomainResult<T> {
        self.run(|conn| write_transaction(conn, f))
    }
}

/// What a statement's `err` on `conn` means to the domain. A database error on a connection that
/// no longer answers a ping is an outage (`Unavailable`, whatever the error said: a restart or
/// a cut can surface as any of them), and the connection is marked dead so the pool replaces
/// it at once; on a live connection it is classified as usual ([`StoreError`]'s mapping: a
/// busy or lost connection is `Unavailable`, anything else our bug).
pub(crate) fn failure(
    conn: &mut PooledConnection<DbConnectionManager>,
    err: StoreError,
) -> DomainError {
    match err {
        StoreError::Db(err) if !answers_ping(conn) => {
            conn.mark_dead();
            DomainError::unavailable(err)
        }
        err => DomainError::from(err),
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
