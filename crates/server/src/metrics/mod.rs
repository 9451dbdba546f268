//! Prometheus metrics (`GET /metrics`): what the server does, counted at its edges.
//!
//! Kept with the `prometheus` crate (the Prometheus project's Rust client kept by TiKV: typed
//! counters, gauges and histograms in a registry of our own, and its text encoder), built
//! without protobuf. We preferred it to `metrics` + `metrics-exporter-prometheus`, whose
//! recorder is process-global (every test app in one process would share one set of series)
//! and whose exporter brings an HTTP stack we already have. Each [`crate::Application`] owns one
//! [`Metrics`], so the series of one server never mix with another's.
//!
//! The domain knows nothing of this: the server records in its middleware ([`http`]), its
//! sockets, the log-in gate and the claim routes; the bus is wrapped ([`bus::MeteredBus`]);
//! the SQL store reports checkouts through `chat_sql::CheckoutObserver` and its pool is read at
//! each scrape ([`pool`]). Every label takes values from a fixed set (route patterns, never raw
//! paths), so the number of series stays bounded.

pub mod bus;
pub mod http;
pub mod pool;
mod redis;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The `Content-Type` of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets of the request and checkout histograms, in seconds (1 ms to 10 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One server's metrics: cheap to clone (shared), recorded from any thread.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Collectors>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

struct Collectors {
    registry: Registry,
    http_duration: HistogramVec,
    open_sockets: IntGaugeVec,
    frames_sent: IntCounterVec,
    messages_stored: IntCounterVec,
    messages_delivered: IntCounterVec,
    bus_published: IntCounterVec,
    bus_publish_failures: IntCounterVec,
    bus_deliveries: IntCounter,
    bus_gaps: IntCounter,
    bus_delivery_lag: Histogram,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    checkout_wait: Histogram,
    checkout_timeouts: IntCounter,
    claim_conflicts: IntCounterVec,
    assignments: IntCounterVec,
    login_failures: IntCounterVec,
    webhook_queue_depth: IntGauge,
    webhook_attempts: IntCounterVec,
    webhook_failures: IntCounter,
    pool_source: Mutex<Option<pool::PoolSource>>,
    redis: redis::RedisCollectors,
}

impl Metrics {
    /// A fresh registry with every series of the server. Fails only on a malformed name or a
    /// name registered twice (our bug, found by any test that starts a server).
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let r = &registry;
        let inner = Collectors {
            http_duration: register(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "chat_http_request_duration_seconds",
                        "HTTP requests by method, matched route pattern and status, and how long they took (a socket: until the upgrade)",
                    )
                    .buckets(LATENCY_BUCKETS.to_vec()),
                    &["method", "route", "status"],
                )?,
            )?,
            open_sockets: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "chat_ws_open_sockets",
                        "WebSockets open now (admitted and serving) by kind: thread or queue",
                    ),
                    &["kind"],
                )?,
            )?,
            frames_sent: counter_vec(
                r,
                "chat_ws_frames_sent_total",
                "Text frames written to sockets, by frame type",
                "type",
            )?,
            messages_stored: counter_vec(
                r,
                "chat_messages_stored_total",
                "Messages and private notes stored (each once, retries not counted), by kind",
                "kind",
            )?,
            messages_delivered: counter_vec(
                r,
                "chat_messages_delivered_total",
                "Messages and notes written to sockets (live, replayed or gap-filled), by kind",
                "kind",
            )?,
            bus_published: counter_vec(
                r,
                "chat_bus_published_total",
                "Events handed to the event bus, by type",
                "type",
            )?,
            bus_publish_failures: counter_vec(
                r,
                "chat_bus_publish_failures_total",
                "Events the event bus refused (not delivered anywhere), by type",
                "type",
            )?,
            bus_deliveries: register(
                r,
                IntCounter::new(
                    "chat_bus_deliveries_total",
                    "Events the event bus delivered to this instance's subscribers (one per subscriber)",
                )?,
            )?,
            bus_gaps: register(
                r,
                IntCounter::new(
                    "chat_bus_gaps_total",
                    "Times the event bus told a subscriber on this instance that events may have been lost",
                )?,
            )?,
            bus_delivery_lag: histogram(
                r,
                "chat_bus_delivery_lag_seconds",
                "From a message or note being stored to its event reaching a subscriber on this instance",
            )?,
            pool_connections: gauge(
                r,
                "chat_store_pool_connections",
                "Connections the store's pool holds (SQL stores; 0 while pending or in memory)",
            )?,
            pool_idle: gauge(
                r,
                "chat_store_pool_idle_connections",
                "Connections of the store's pool not in use",
            )?,
            pool_max: gauge(
                r,
                "chat_store_pool_max_connections",
                "The store's pool size (database.pool_size; 0 in memory)",
            )?,
            checkout_wait: histogram(
                r,
                "chat_store_checkout_wait_seconds",
                "How long store calls waited for a pooled connection",
            )?,
            checkout_timeouts: register(
                r,
                IntCounter::new(
                    "chat_store_checkout_timeouts_total",
                    "Store calls that got no pooled connection within database.checkout_timeout_ms (answered 503)",
                )?,
            )?,
            claim_conflicts: counter_vec(
                r,
                "chat_claim_conflicts_total",
                "Claims and renewals refused because another agent holds the thread, by action",
                "action",
            )?,
            assignments: counter_vec(
                r,
                "chat_assignments_total",
                "Threads assigned to an agent by the router, by how (automatic or transfer)",
                "how",
            )?,
            login_failures: counter_vec(
                r,
                "chat_login_failures_total",
                "Refused password checks: bad_credentials (wrong password or unknown user) or locked_out (throttled)",
                "reason",
            )?,
            webhook_queue_depth: gauge(
                r,
                "chat_webhook_queue_depth",
                "Webhook deliveries pending (every endpoint), as this instance's worker last counted them",
            )?,
            webhook_attempts: counter_vec(
                r,
                "chat_webhook_attempts_total",
                "Webhook delivery attempts made by this instance, by outcome: delivered, retry (failed, to be retried) or failed (retries ran out)",
                "outcome",
            )?,
            webhook_failures: register(
                r,
                IntCounter::new(
                    "chat_webhook_delivery_failures_total",
                    "Webhook deliveries that failed for good on this instance (their endpoint was disabled)",
                )?,
            )?,
            pool_source: Mutex::new(None),
            redis: redis::RedisCollectors::new(r)?,
            registry,
        };
        Ok(Metrics {
            inner: Arc::new(inner),
        })
    }

    /// The registry (to add collectors of one's own).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Every series in the Prometheus text format (the store's pool read now).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        self.refresh_pool();
        self.inner.redis.refresh();
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.inner.registry.gather(), &mut text)?;
        String::from_utf8(text).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }

    /// One HTTP request answered: `route` is the matched pattern (`unmatched` for none).
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.inner
            .http_duration
            .with_label_values(&[method, route, &status.to_string()])
            .observe(took.as_secs_f64());
    }

    /// A socket of `kind` (`thread`, `queue`) is open until the guard is dropped.
    pub fn socket_open(&self, kind: &'static str) -> OpenSocket {
        let gauge = self.inner.open_sockets.with_label_values(&[kind]);
        gauge.inc();
        OpenSocket { gauge }
    }

    /// A text frame of `frame_type` was written to a socket.
    pub fn frame_sent(&self, frame_type: &str) {
        self.inner
            .frames_sent
            .with_label_values(&[frame_type])
            .inc();
        if let Some(kind) = message_kind(frame_type) {
            self.inner
                .messages_delivered
                .with_label_values(&[kind])
                .inc();
        }
    }

    /// A claim (`claim`) or renewal (`renew`) was refused: another agent holds the thread.
    pub fn claim_conflict(&self, action: &'static str) {
        self.inner
            .claim_conflicts
            .with_label_values(&[action])
            .inc();
    }

    /// The router assigned a thread to an agent: `how` is `automatic` or `transfer`. The hook
    /// for the router's assign path (`chat_assignments_total`).
    pub fn assignment(&self, how: &'static str) {
        self.inner.assignments.with_label_values(&[how]).inc();
    }

    /// The webhook deliveries pending now.
    pub fn webhook_queue_depth(&self, pending: u64) {
        self.inner
            .webhook_queue_depth
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// A webhook delivery attempt ended: `delivered`, `retry` or `failed` (for good).
    pub fn webhook_attempt(&self, outcome: &'static str) {
        self.inner
            .webhook_attempts
            .with_label_values(&[outcome])
            .inc();
        if outcome == "failed" {
            self.inner.webhook_failures.inc();
        }
    }

    /// A password check was refused: `bad_credentials` or `locked_out`.
    pub fn login_failure(&self, reason: &'static str) {
        self.inner.login_failures.with_label_values(&[reason]).inc();
    }
}

/// The kind label of a stored or delivered message, from its event or frame type.
fn message_kind(event_type: &str) -> Option<&'static str> {
    match event_type {
        "message.created" => Some("message"),
        "note.created" => Some("note"),
        _ => None,
    }
}

/// Counts one open socket until dropped.
pub struct OpenSocket {
    gauge: IntGauge,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

fn register<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    label: &str,
) -> prometheus::Result<IntCounterVec> {
    register(
        registry,
        IntCounterVec::new(Opts::new(name, help), &[label])?,
    )
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    register(registry, IntGauge::new(name, help)?)
}

fn histogram(registry: &Registry, name: &str, help: &str) -> prometheus::Result<Histogram> {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    register(registry, Histogram::with_opts(opts)?)
}
