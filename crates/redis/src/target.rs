//! Where the Redis adapters connect: one Redis server, or a Redis Cluster.
//!
//! On a cluster every name carries a hash tag (`{...}`), so what must stay together stays on one
//! slot: a throttle key's failure count and its lock (one Lua script touches both), and each of
//! the bus's shard channels (see [`shard_channels`]). On one server the names are those of
//! single-node deployments before cluster mode, unchanged.

use std::time::Duration;

use chat_domain::event::Event;
use chat_domain::{DomainError, DomainResult};
use redis::cluster::{ClusterClient, ClusterClientBuilder};

/// The Redis the adapters use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One Redis server, `redis://host:port`: the bus on one `PUBLISH`/`SUBSCRIBE` channel.
    Single(String),
    /// A Redis Cluster, by the URLs of some of its masters (any reachable one is enough to find
    /// the others): the bus on sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`), hash-tagged keys.
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// The cluster when `cluster_urls` has a non-empty entry, else the single server at `url`
    /// when it is non-empty, else `None` (no Redis: in-process adapters).
    pub fn from_settings(url: &str, cluster_urls: &[String]) -> Option<Self> {
        let nodes: Vec<String> = cluster_urls
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if !nodes.is_empty() {
            return Some(RedisTarget::Cluster(nodes));
        }
        let url = url.trim();
        (!url.is_empty()).then(|| RedisTarget::Single(url.to_owned()))
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisTarget::Cluster(_))
    }
}

/// A cluster client with the adapters' timeouts: connecting and each command bounded by
/// `timeout`, a few quick retries (a `MOVED` after a failover, a master restarting) before a
/// command fails.
pub(crate) fn cluster_client(nodes: &[String], timeout: Duration) -> DomainResult<ClusterClient> {
    ClusterClientBuilder::new(nodes.to_vec())
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(2)
        .min_retry_wait(10)
        .max_retry_wait(100)
        .build()
        .map_err(|e| DomainError::unavailable(format!("redis cluster: {e}")))
}

/// Shard channels of the bus on a cluster: `<prefix>:events:{<prefix>:<i>:<n>}` for `i` in
/// `0..count`. Each name is hash-tagged on its own, and `n` (the first that fits, found the same
/// way by every instance) puts channel `i` in the `i`-th of `count` equal parts of the slot
/// space. Masters own contiguous slot ranges, so the channels, and the threads' events with
/// them, spread over the masters in proportion to the slots each owns (plain `{<prefix>:<i>}`
/// tags put 6, 3 and 7 of 16 channels on three equal masters for the prefix `chat`).
pub fn shard_channels(prefix: &str, count: usize) -> Vec<String> {
    let count = count.clamp(1, usize::from(SLOTS));
    let part = |name: &str| usize::from(slot_of(name)) * count / usize::from(SLOTS);
    (0..count)
        .map(|i| {
            (0..MAX_TAG_TRIES)
                .map(|n| format!("{prefix}:events:{{{prefix}:{i}:{n}}}"))
                .find(|name| part(name) == i)
                .unwrap_or_else(|| format!("{prefix}:events:{{{prefix}:{i}}}"))
        })
        .collect()
}

/// Hash slots of a Redis Cluster.
const SLOTS: u16 = 16384;
/// Tags tried per shard channel before settling for any slot (a part is found after about
/// `count` tries on average).
const MAX_TAG_TRIES: u32 = 1_000_000;

/// The shard (index into [`shard_channels`]) an event travels on: its thread's, so a thread's
/// events stay in order on one channel of one master; events about no thread (availability,
/// routing mode) on shard 0.
pub fn shard_of(event: &Event, count: usize) -> usize {
    let count = count.max(1) as i64;
    match event.thread_id() {
        Some(thread) => usize::try_from(thread.0.rem_euclid(count)).unwrap_or(0),
        None => 0,
    }
}

/// The hash slot of a key or channel (CRC16 of its hash tag, as Redis Cluster computes it).
pub fn slot_of(name: &str) -> u16 {
    redis::cluster_routing::get_slot(name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{ThreadId, UserId};

    #[test]
    fn settings_choose_the_cluster_first() {
        assert_eq!(RedisTarget::from_settings(" ", &[]), None);
        assert_eq!(
            RedisTarget::from_settings("redis://a", &[" ".to_owned()]),
            Some(RedisTarget::Single("redis://a".to_owned()))
        );
        assert_eq!(
            RedisTarget::from_settings("redis://a", &["redis://b".to_owned()]),
            Some(RedisTarget::Cluster(vec!["redis://b".to_owned()]))
        );
    }

    #[test]
    fn a_threads_events_share_one_channel_on_one_slot() {
        let channels = shard_channels("chat", 16);
        assert_eq!(channels.len(), 16);
        assert!(
            channels[3].starts_with("chat:events:{chat:3:"),
            "{}",
            channels[3]
        );
        // Channel i in the i-th sixteenth of the slots: each of three equal masters gets 5 or 6.
        for (i, channel) in channels.iter().enumerate() {
            assert_eq!(usize::from(slot_of(channel)) * 16 / 16384, i, "{channel}");
        }
        let thirds = [0, 5461, 10923, 16384];
        for w in thirds.windows(2) {
            let on_master = channels
                .iter()
                .filter(|c| (w[0]..w[1]).contains(&slot_of(c)))
                .count();
            assert!(
                (5..=6).contains(&on_master),
                "{on_master} channels on one master"
            );
        }
        // Every instance computes the same names.
        assert_eq!(channels, shard_channels("chat", 16));
        let typing = |t| Event::Typing {
            thread_id: ThreadId(t),
            user_id: UserId(1),
        };
        assert_eq!(shard_of(&typing(19), 16), 3);
        assert_eq!(shard_of(&typing(3), 16), 3);
        assert_ne!(shard_of(&typing(4), 16), 3);
        // The 16 channels land on many slots, not one.
        let mut slots: Vec<u16> = channels.iter().map(|c| slot_of(c)).collect();
        slots.sort_unstable();
        slots.dedup();
        assert!(slots.len() > 8, "{slots:?}");
    }
}
