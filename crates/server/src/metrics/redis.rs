//! The Redis bus's own counters (`chat_redis::RedisBusStats`), read at each scrape: what it
//! sent to and received from the other instances, what it could not send, and its outbox.

use std::sync::{Arc, Weak};

use chat_redis::RedisBus;
use prometheus::{IntCounter, IntGauge, Registry};

use super::{register, Metrics};

/// The series of the Redis bus (zeros without one).
pub(super) struct RedisCollectors {
    source: std::sync::Mutex<Option<Weak<RedisBus>>>,
    published: IntCounter,
    publish_failures: IntCounter,
    dropped: IntCounter,
    received: IntCounter,
    reconnects: IntCounter,
    outbox_bytes: IntGauge,
}

impl RedisCollectors {
    pub(super) fn new(r: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str| register(r, IntCounter::new(name, help)?);
        Ok(RedisCollectors {
            source: std::sync::Mutex::new(None),
            published: counter(
                "chat_redis_published_total",
                "Events this instance published to Redis for the other instances",
            )?,
            publish_failures: counter(
                "chat_redis_publish_failures_total",
                "Events that could not be published to Redis (unreachable or too slow)",
            )?,
            dropped: counter(
                "chat_redis_dropped_total",
                "Events never sent to the other instances: the outbox was full (redis outage)",
            )?,
            received: counter(
                "chat_redis_received_total",
                "Events from other instances delivered on this one",
            )?,
            reconnects: counter(
                "chat_redis_reconnects_total",
                "Times the pub/sub connection was re-established",
            )?,
            outbox_bytes: register(
                r,
                IntGauge::new(
                    "chat_redis_outbox_bytes",
                    "Bytes of events waiting to be published to Redis (the bus's queue depth)",
                )?,
            )?,
        })
    }

    /// Sets the series from the watched bus's counters.
    pub(super) fn refresh(&self) {
        let bus = self
            .source
            .lock()
            .ok()
            .and_then(|source| source.as_ref()?.upgrade());
        let Some(bus) = bus else {
            return;
        };
        let stats = bus.stats();
        catch_up(&self.published, stats.published);
        catch_up(&self.publish_failures, stats.publish_failures);
        catch_up(&self.dropped, stats.dropped);
        catch_up(&self.received, stats.received);
        catch_up(&self.reconnects, stats.reconnects);
        self.outbox_bytes
            .set(i64::try_from(stats.outbox_bytes).unwrap_or(i64::MAX));
    }
}

/// Moves a counter up to `total` (the bus's counters only grow).
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}

impl Metrics {
    /// Reads `bus`'s counters at every scrape (without keeping it alive).
    pub fn watch_redis(&self, bus: &Arc<RedisBus>) {
        if let Ok(mut source) = self.inner.redis.source.lock() {
            *source = Some(Arc::downgrade(bus));
        }
    }
}
