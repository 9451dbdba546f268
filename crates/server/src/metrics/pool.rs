//! The store's connection pool: its size, connections and idle ones read at each scrape, and
//! every checkout's wait as the SQL store reports it (`chat_sql::CheckoutObserver`).

use std::sync::Arc;
use std::time::Duration;

use chat_sql::{CheckoutObserver, SqlStore};

use super::Metrics;

/// What the pool gauges are read from: the SQL store (sharing its pool, pending or not).
pub(super) type PoolSource = SqlStore;

impl Metrics {
    /// `store` reporting its checkouts to these metrics, its pool read at every scrape.
    pub fn watch_store(&self, store: SqlStore) -> SqlStore {
        // The copy kept here has no observer: the metrics must not own a store that owns them.
        if let Ok(mut source) = self.inner.pool_source.lock() {
            *source = Some(store.clone());
        }
        store.with_checkout_observer(Arc::new(self.clone()))
    }

    /// Sets the pool gauges from the watched store's pool (zeros when there is none).
    pub(super) fn refresh_pool(&self) {
        let state = self.inner.pool_source.lock().ok().and_then(|source| {
            let pool = source.as_ref()?.pool()?;
            Some((pool.state(), pool.max_size()))
        });
        let (connections, idle, max) = state.map_or((0, 0, 0), |(state, max)| {
            (state.connections, state.idle_connections, max)
        });
        self.inner.pool_connections.set(i64::from(connections));
        self.inner.pool_idle.set(i64::from(idle));
        self.inner.pool_max.set(i64::from(max));
    }
}

impl CheckoutObserver for Metrics {
    fn checked_out(&self, waited: Duration, got: bool) {
        self.inner.checkout_wait.observe(waited.as_secs_f64());
        if !got {
            self.inner.checkout_timeouts.inc();
        }
    }
}
