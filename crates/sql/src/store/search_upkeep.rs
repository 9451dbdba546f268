//! Keeps message search's pending list short (Postgres).
//!
//! `messages_body_fts` (GIN over each message's words) takes inserts through GIN's pending list
//! (`fastupdate`): a send appends its entries there, a fraction of what inserting each word into
//! the index itself costs (about two thirds of a message's insert, measured in
//! `docs/BENCHMARKS.md`). A thread of each Postgres store moves the list into the index in bulk
//! (`gin_clean_pending_list`, sorted, one pass per word) every [`EVERY`], so the list stays far
//! below `gin_pending_list_limit` and no send finds it full and merges it itself (what stalled
//! a send for hundreds of milliseconds before the list was turned off). An insert that finds the
//! list over the limit while a cleanup runs leaves it to that cleanup instead of waiting.
//! Several instances cleaning at once wait for each other, harmlessly; searches read the short
//! list as well as the index, so they see every message at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;

use crate::connection::{DbConnection, DbPool};
use crate::error::StoreError;

/// How often each store cleans the list: at 5,000 messages a second that is some hundreds of
/// kilobytes at most, against a 4 MB limit.
pub const EVERY: Duration = Duration::from_millis(250);

/// How long a cleanup waits for a pooled connection (it tries again at the next turn).
const CHECKOUT: Duration = Duration::from_millis(500);

#[derive(diesel::QueryableByName)]
struct Cleaned {
    #[diesel(sql_type = BigInt)]
    pages: i64,
}

/// The cleaning thread, stopped when dropped (with the last clone of its store).
pub(crate) struct SearchUpkeep {
    stop: Arc<(Mutex<bool>, Condvar)>,
    cleaned: Arc<AtomicU64>,
}

impl SearchUpkeep {
    /// Starts the thread, cleaning every `every` once `pool` is installed.
    pub fn start(pool: Arc<OnceLock<DbPool>>, every: Duration) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let cleaned = Arc::new(AtomicU64::new(0));
        let (thread_stop, thread_cleaned) = (Arc::clone(&stop), Arc::clone(&cleaned));
        std::thread::Builder::new()
            .name("search-upkeep".to_owned())
            .spawn(move || {
                let mut failing = false;
                while !wait_or_stop(&thread_stop, every) {
                    let Some(pool) = pool.get() else { continue };
                    match clean(pool) {
                        Ok(pages) => {
                            thread_cleaned.fetch_add(pages, Ordering::Relaxed);
                            failing = false;
                        }
                        // Told once per run of failures (the database may be down for a while).
                        Err(err) if !failing => {
                            failing = true;
                            tracing::warn!(error = %err, "could not clean the search index's pending list");
                        }
                        Err(_) => {}
                    }
                }
            })?;
        Ok(SearchUpkeep { stop, cleaned })
    }

    /// Pending-list pages moved into the index so far.
    pub fn cleaned_pages(&self) -> u64 {
        self.cleaned.load(Ordering::Relaxed)
    }
}

impl Drop for SearchUpkeep {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }
}

/// Waits `every`; true once stopped.
fn wait_or_stop(stop: &(Mutex<bool>, Condvar), every: Duration) -> bool {
    let (stopped, wake) = stop;
    let guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
    if *guard {
        return true;
    }
    let (guard, _) = wake
        .wait_timeout_while(guard, every, |stopped| !*stopped)
        .unwrap_or_else(PoisonError::into_inner);
    *guard
}

/// One cleanup: the pages it moved. A connection that failed and no longer answers is marked
/// dead, as the store's calls do ([`super::failure`]), so that the pool does not hand it out again.
fn clean(pool: &DbPool) -> Result<u64, Box<dyn std::error::Error>> {
    let mut conn = pool.get_timeout(CHECKOUT)?;
    let DbConnection::Postgresql(pg) = &mut **conn else {
        return Ok(0);
    };
    let cleaned =
        diesel::sql_query("SELECT gin_clean_pending_list('messages_body_fts'::regclass) AS pages")
            .get_result::<Cleaned>(pg);
    match cleaned {
        Ok(cleaned) => Ok(u64::try_from(cleaned.pages).unwrap_or(0)),
        Err(err) => Err(super::failure(&mut conn, StoreError::Db(err)).into()),
    }
}
