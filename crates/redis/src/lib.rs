//! Redis adapter of the event bus: live events fan out between server instances over Redis
//! pub/sub.
//!
//! A [`RedisBus`] wraps an [`InProcessBus`] for local delivery. Publishing delivers to this
//! instance's subscribers at once and hands the event, stamped with this instance's id, to a
//! background publisher that `PUBLISH`es it (through a deadpool-redis pool) on the channel
//! `<prefix>:events`. A background subscriber, on a dedicated connection, delivers what other
//! instances published to the local bus.
//!
//! Redis pub/sub is at most once, and so is this bus: the store is the source of truth. Whenever
//! events may have been lost (the subscriber reconnected after a drop, the publisher could not
//! reach Redis, the outbox overflowed) every local subscriber receives a
//! [`Delivery::Gap`](chat_domain::event::Delivery::Gap) and resynchronises from the store.
//! Neither a Redis outage nor a slow Redis ever blocks [`EventBus::publish`].
//!
//! **Redis Cluster** ([`RedisTarget::Cluster`], [`RedisBus::connect_cluster`]): events travel on
//! sharded pub/sub instead, `SPUBLISH` on one of [`RedisBusOptions::cluster_channels`] shard
//! channels (`<prefix>:events:{<prefix>:<i>:<n>}`, [`target::shard_channels`], channel `i` in the
//! `i`-th part of the slot space), chosen by the
//! event's thread ([`target::shard_of`]), so a thread's events keep their order on one channel
//! of one master and the channels spread over the masters. Every instance `SSUBSCRIBE`s to all
//! of them, each on the master owning its slot (`shard_subscriber`). Each event carries its
//! publisher's sequence number there, and receivers restore each publisher's order across the
//! channels (`reorder`), as the port promises.
//!
//! Half-open connections (the peer vanished without a FIN or RST, or Redis hangs) are found by
//! round trips with a deadline: the subscriber re-issues its `SUBSCRIBE` every
//! [`RedisBusOptions::probe_interval`] and reconnects when no answer comes; a publishing
//! connection through which a publish failed or timed out is taken out of the pool, and pooled
//! connections are checked with `PING` before reuse.

mod envelope;
mod link;
pub mod presence;
mod publisher;
mod reorder;
mod shard_subscriber;
mod subscriber;
pub mod target;
pub mod throttle;

pub use target::RedisTarget;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_domain::event::{Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{DomainError, DomainResult};
use chat_memory::InProcessBus;
use deadpool_redis::{PoolConfig, Runtime, Timeouts};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::envelope::Envelope;

/// How long connecting, or one round trip to Redis, may take before it counts as a failure.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Tuning of a [`RedisBus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisBusOptions {
    /// Deliveries each local subscription buffers before it is told of a gap.
    pub subscriber_buffer: usize,
    /// Bytes of events waiting to be published to Redis before new ones are dropped (and a gap
    /// is announced to the other instances).
    pub outbox_max_bytes: usize,
    /// Connections in the publishing pool.
    pub pool_size: usize,
    /// How often the subscriber connection is checked with a round trip to Redis. A connection
    /// that does not answer within 2 s (a half-open TCP connection, a hung Redis) is replaced,
    /// and local subscribers are told of a gap.
    pub probe_interval: Duration,
    /// Shard channels on a Redis Cluster (ignored on one server): a thread's events travel on
    /// channel `thread id mod cluster_channels`. More channels spread the load over more masters
    /// more evenly.
    pub cluster_channels: usize,
}

impl Default for RedisBusOptions {
    fn default() -> Self {
        RedisBusOptions {
            subscriber_buffer: 256,
            outbox_max_bytes: 16 * 1024 * 1024,
            pool_size: 4,
            probe_interval: Duration::from_secs(5),
            cluster_channels: 16,
        }
    }
}

/// Counters of a [`RedisBus`], for health checks and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RedisBusStats {
    /// Events published to Redis.
    pub published: u64,
    /// Events that could not be published (Redis unreachable or too slow).
    pub publish_failures: u64,
    /// Events dropped because the outbox was full.
    pub dropped: u64,
    /// Events from other instances delivered locally.
    pub received: u64,
    /// Times the subscriber connection was re-established after a drop (or after it stopped
    /// answering).
    pub reconnects: u64,
    /// Publishing connections discarded because a publish through them failed or timed out.
    pub discarded_connections: u64,
    /// Bytes of events waiting in the outbox to be published to Redis now.
    pub outbox_bytes: u64,
}

/// Shared state of the bus and its background tasks.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    pub dropped: AtomicU64,
    pub received: AtomicU64,
    pub reconnects: AtomicU64,
    pub discarded_connections: AtomicU64,
    /// Whether the subscriber is currently subscribed.
    pub subscribed: AtomicBool,
    /// Whether the subscriber has been subscribed at least once.
    pub connected_once: AtomicBool,
    /// Events were lost on the way out; the next successful publish announces a gap.
    pub owe_gap: AtomicBool,
    /// Bytes waiting in the outbox.
    pub queued_bytes: AtomicUsize,
}

/// The event bus of a deployment with several instances: local delivery plus Redis pub/sub.
pub struct RedisBus {
    local: InProcessBus,
    origin: Uuid,
    channel: String,
    /// The shard channels on a cluster; one server's single channel otherwise.
    channels: Vec<String>,
    outbox: mpsc::UnboundedSender<publisher::Outgoing>,
    outbox_max_bytes: usize,
    shared: Arc<Shared>,
    subscriber: JoinHandle<()>,
    /// On a cluster, the sequence number of the next event published (see `reorder`).
    next_seq: Option<AtomicU64>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("origin", &self.origin)
            .field("channel", &self.channel)
            .field("stats", &self.stats())
            .finish()
    }
}

impl RedisBus {
    /// Connects to Redis at `url` and fans events out on the channel `<channel_prefix>:events`
    /// (instances sharing a prefix see each other's events). Fails if Redis cannot be reached or
    /// the subscription cannot be made. Must be called within a Tokio runtime, which then runs
    /// the bus's background tasks.
    pub async fn connect(url: &str, channel_prefix: &str) -> DomainResult<Self> {
        Self::connect_with(url, channel_prefix, RedisBusOptions::default()).await
    }

    /// [`RedisBus::connect`] with explicit tuning.
    pub async fn connect_with(
        url: &str,
        channel_prefix: &str,
        options: RedisBusOptions,
    ) -> DomainResult<Self> {
        Self::open(
            &RedisTarget::Single(url.to_owned()),
            channel_prefix,
            options,
            false,
        )
        .await
    }

    /// [`RedisBus::connect_with`] that does not need Redis now: when Redis cannot be reached,
    /// the bus starts anyway and its subscriber connects by itself (backing off up to 200 ms
    /// between attempts); until then [`EventBus::has_connected`] is false and events reach only
    /// this instance. Fails only on a bad URL.
    pub async fn start(
        url: &str,
        channel_prefix: &str,
        options: RedisBusOptions,
    ) -> DomainResult<Self> {
        Self::open(
            &RedisTarget::Single(url.to_owned()),
            channel_prefix,
            options,
            true,
        )
        .await
    }

    /// [`RedisBus::connect`] on a Redis Cluster, given the URLs of some of its nodes: events
    /// on sharded pub/sub (see the crate docs). Fails if the cluster cannot be reached or the
    /// subscriptions cannot be made.
    pub async fn connect_cluster(nodes: &[String], channel_prefix: &str) -> DomainResult<Self> {
        let target = RedisTarget::Cluster(nodes.to_vec());
        Self::open(&target, channel_prefix, RedisBusOptions::default(), false).await
    }

    /// [`RedisBus::start`] (or [`RedisBus::connect_with`] when `wait_for_redis` is false) on
    /// either kind of [`RedisTarget`].
    pub async fn open(
        target: &RedisTarget,
        channel_prefix: &str,
        options: RedisBusOptions,
        wait_for_redis: bool,
    ) -> DomainResult<Self> {
        let channel = format!("{channel_prefix}:events");
        let origin = Uuid::new_v4();
        let local = InProcessBus::new(options.subscriber_buffer);
        let shared = Arc::new(Shared::default());
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let (channels, subscriber) = match target {
            RedisTarget::Single(url) => {
                let channels = vec![channel.clone()];
                let (outlet, pubsub) =
                    Self::open_single(url, &channel, options, wait_for_redis).await?;
                if pubsub.is_some() {
                    shared.subscribed.store(true, Ordering::SeqCst);
                    shared.connected_once.store(true, Ordering::SeqCst);
                }
                let client = redis::Client::open(url.as_str()).map_err(unavailable)?;
                tokio::spawn(publisher::run(
                    outlet,
                    channels.clone(),
                    origin,
                    outbox_rx,
                    Arc::clone(&shared),
                ));
                let subscriber = tokio::spawn(subscriber::run(
                    client,
                    channel.clone(),
                    origin,
                    pubsub,
                    local.clone(),
                    Arc::clone(&shared),
                    options.probe_interval,
                ));
                (channels, subscriber)
            }
            RedisTarget::Cluster(nodes) => {
                let channels = target::shard_channels(channel_prefix, options.cluster_channels);
                let client = target::cluster_client(nodes, REDIS_TIMEOUT)?;
                let subscription = match shard_subscriber::subscribe_all(nodes, &channels).await {
                    Ok(subscription) => Some(subscription),
                    Err(err) if wait_for_redis => {
                        tracing::warn!(%channel, error = %err, "redis cluster not reachable yet; the bus connects by itself when it is");
                        None
                    }
                    Err(err) => return Err(err),
                };
                if let Some(subscription) = &subscription {
                    shared.subscribed.store(true, Ordering::SeqCst);
                    shared.connected_once.store(true, Ordering::SeqCst);
                    tracing::info!(%channel, masters = subscription.masters(), shards = channels.len(), "subscribed to the cluster's shard channels");
                }
                let outlet = publisher::Outlet::Cluster { client, conn: None };
                tokio::spawn(publisher::run(
                    outlet,
                    channels.clone(),
                    origin,
                    outbox_rx,
                    Arc::clone(&shared),
                ));
                let subscriber = tokio::spawn(shard_subscriber::run(
                    nodes.clone(),
                    channels.clone(),
                    origin,
                    subscription,
                    local.clone(),
                    Arc::clone(&shared),
                    options.probe_interval,
                ));
                (channels, subscriber)
            }
        };
        tracing::info!(%channel, %origin, cluster = target.is_cluster(), "redis event bus connected");
        Ok(RedisBus {
            local,
            origin,
            channel,
            channels,
            outbox,
            outbox_max_bytes: options.outbox_max_bytes,
            shared,
            subscriber,
            next_seq: target.is_cluster().then(|| AtomicU64::new(0)),
        })
    }

    /// One server: the publishing pool and, unless Redis may come later, the subscription.
    async fn open_single(
        url: &str,
        channel: &str,
        options: RedisBusOptions,
        wait_for_redis: bool,
    ) -> DomainResult<(publisher::Outlet, Option<redis::aio::PubSub>)> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let mut config = deadpool_redis::Config::from_url(url);
        config.pool = Some(PoolConfig {
            max_size: options.pool_size.max(1),
            timeouts: Timeouts {
                wait: Some(REDIS_TIMEOUT),
                create: Some(REDIS_TIMEOUT),
                recycle: Some(REDIS_TIMEOUT),
            },
            ..PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(unavailable)?;
        let pubsub = if wait_for_redis {
            match subscriber::subscribe(&client, channel).await {
                Ok(pubsub) => Some(pubsub),
                Err(err) => {
                    tracing::warn!(%channel, error = %err, "redis not reachable yet; the bus connects by itself when it is");
                    None
                }
            }
        } else {
            publisher::ping(&pool).await?;
            Some(subscriber::subscribe(&client, channel).await?)
        };
        Ok((publisher::Outlet::Single { pool, held: None }, pubsub))
    }

    /// Whether the subscriber connection is up right now (for health checks).
    pub fn is_subscribed(&self) -> bool {
        self.shared.subscribed.load(Ordering::SeqCst)
    }

    /// This instance's id, stamped on everything it publishes.
    pub fn origin(&self) -> Uuid {
        self.origin
    }

    /// The Redis channel the bus uses (on a cluster, the stem of its shard channels).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The channels events travel on: the one channel, or the shard channels on a cluster.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The bus's counters.
    pub fn stats(&self) -> RedisBusStats {
        let s = &self.shared;
        RedisBusStats {
            published: s.published.load(Ordering::Relaxed),
            publish_failures: s.publish_failures.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
            reconnects: s.reconnects.load(Ordering::Relaxed),
            discarded_connections: s.discarded_connections.load(Ordering::Relaxed),
            outbox_bytes: u64::try_from(s.queued_bytes.load(Ordering::Relaxed)).unwrap_or(u64::MAX),
        }
    }

    /// How many local subscriptions are open.
    pub fn subscriptions(&self) -> usize {
        self.local.subscriptions()
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: Event) -> DomainResult<()> {
        let seq = self
            .next_seq
            .as_ref()
            .map(|next| next.fetch_add(1, Ordering::SeqCst));
        let payload =
            serde_json::to_string(&Envelope::event(self.origin, event.clone()).numbered(seq));
        let shard = target::shard_of(&event, self.channels.len());
        self.local.deliver(event);
        let payload = match payload {
            Ok(p) => p,
            Err(err) => {
                // Cannot happen for the domain's events; never fail the use case over it.
                tracing::error!(error = %err, "event not serialisable; not sent to other instances");
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.owe_gap.store(true, Ordering::SeqCst);
                return Ok(());
            }
        };
        // The outbox is bounded by bytes: a Redis outage or a slow Redis never makes publish
        // wait, nor the process buffer without bound.
        let len = payload.len();
        let queued = self.shared.queued_bytes.fetch_add(len, Ordering::SeqCst) + len;
        let refused = if queued > self.outbox_max_bytes {
            Some("outbox full")
        } else if self.outbox.send((shard, payload)).is_err() {
            Some("publisher stopped")
        } else {
            None
        };
        if let Some(reason) = refused {
            self.shared.queued_bytes.fetch_sub(len, Ordering::SeqCst);
            let dropped = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.shared.owe_gap.store(true, Ordering::SeqCst);
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, reason, "event not sent to other instances");
            }
        }
        Ok(())
    }

    fn subscribe(&self, topics: &[Topic]) -> DomainResult<EventStream> {
        self.local.subscribe(topics)
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }

    fn has_connected(&self) -> bool {
        self.shared.connected_once.load(Ordering::SeqCst)
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        // The publisher ends by itself once the outbox sender is gone; the subscriber would
        // reconnect forever.
        self.subscriber.abort();
    }
}

fn unavailable(err: impl std::fmt::Display) -> DomainError {
    DomainError::unavailable(format!("redis: {err}"))
}
