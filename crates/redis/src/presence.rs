//! Presence shared by every instance through Redis: who has a live socket somewhere.
//!
//! One sorted set per user, `<prefix>:presence:<user id>`, whose members are instance ids and
//! whose scores are the end (unix ms) of that instance's latest heartbeat for the user. A user
//! is present at `now` while some score is greater than `now` (`ZCOUNT key (now +inf`, one
//! pipelined round trip for any number of users). A heartbeat is `ZADD` (the score replaced)
//! plus `PEXPIRE` of the key past the heartbeat's end, so a user nobody beats for leaves no key
//! behind; an instance that dies simply stops beating and its entries lapse. Times are the
//! caller's (the [`chat_domain::Clock`]), so the contract is the in-process one.
//!
//! On a Redis Cluster the key is `<prefix>:presence:{<user id>}` (the user id its hash tag) and
//! the pipelines are cluster pipelines: each user's commands go to the master owning their slot.
//!
//! Synchronous like the other ports (the server calls it from its blocking pool), with the
//! blocking `redis` client: a few idle connections, each with timeouts. Redis unreachable: the
//! calls answer `Unavailable` (the router then leaves availability alone rather than marking
//! everyone offline).

use std::collections::HashSet;
use std::time::Duration;

use chat_domain::ports::Presence;
use chat_domain::{DomainError, DomainResult, Timestamp, UserId};
use redis::RedisResult;

use crate::link::{Batch, Conn, Link};
use crate::target::RedisTarget;

/// How long connecting, or one command, may take.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Idle connections kept.
const MAX_IDLE: usize = 4;

/// Presence in Redis (see the module docs).
pub struct RedisPresence {
    link: Link,
    prefix: String,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisPresence {
    /// Presence on Redis at `url`, keys under `<channel_prefix>:presence:`. Fails if the URL
    /// is invalid or Redis does not answer a `PING`. Blocking.
    pub fn connect(url: &str, channel_prefix: &str) -> DomainResult<Self> {
        Self::connect_to(&RedisTarget::Single(url.to_owned()), channel_prefix)
    }

    /// [`RedisPresence::connect`] on either kind of [`RedisTarget`].
    pub fn connect_to(target: &RedisTarget, channel_prefix: &str) -> DomainResult<Self> {
        let presence = Self::new_on(target, channel_prefix)?;
        presence.link.ping().map_err(DomainError::unavailable)?;
        Ok(presence)
    }

    /// [`RedisPresence::connect`] without the `PING`: Redis is first contacted on first use.
    /// Fails only on a bad URL.
    pub fn new(url: &str, channel_prefix: &str) -> DomainResult<Self> {
        Self::new_on(&RedisTarget::Single(url.to_owned()), channel_prefix)
    }

    /// [`RedisPresence::new`] on either kind of [`RedisTarget`].
    pub fn new_on(target: &RedisTarget, channel_prefix: &str) -> DomainResult<Self> {
        Ok(RedisPresence {
            link: Link::new(target, TIMEOUT, MAX_IDLE)?,
            prefix: format!("{channel_prefix}:presence"),
        })
    }

    fn key(&self, user: UserId) -> String {
        if self.link.is_cluster() {
            format!("{}:{{{}}}", self.prefix, user.0)
        } else {
            format!("{}:{}", self.prefix, user.0)
        }
    }

    fn with_connection<T>(&self, op: impl FnOnce(&mut Conn) -> RedisResult<T>) -> DomainResult<T> {
        self.link
            .with_connection(op)
            .map_err(DomainError::unavailable)
    }
}

impl Presence for RedisPresence {
    fn beat(
        &self,
        users: &[UserId],
        instance: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> DomainResult<()> {
        if users.is_empty() {
            return Ok(());
        }
        // The key outlives its latest entry a little; the scores decide, not the TTL.
        let ttl = until.millis_since(now).max(1).saturating_add(1000);
        self.with_connection(|conn| {
            let mut batch = Batch::new();
            for &user in users {
                let key = self.key(user);
                batch.add_ignored(
                    redis::cmd("ZADD")
                        .arg(&key)
                        .arg(until.millis())
                        .arg(instance)
                        .clone(),
                );
                // Drop entries that lapsed (other instances that stopped beating).
                batch.add_ignored(
                    redis::cmd("ZREMRANGEBYSCORE")
                        .arg(&key)
                        .arg("-inf")
                        .arg(now.millis())
                        .clone(),
                );
                batch.add_ignored(redis::cmd("PEXPIRE").arg(&key).arg(ttl).clone());
            }
            batch.query::<()>(conn)
        })
    }

    fn leave(&self, user: UserId, instance: &str) -> DomainResult<()> {
        let mut batch = Batch::new();
        batch.add(redis::cmd("ZREM").arg(self.key(user)).arg(instance).clone());
        self.with_connection(|conn| batch.query::<()>(conn))
    }

    fn present(&self, users: &[UserId], now: Timestamp) -> DomainResult<HashSet<UserId>> {
        if users.is_empty() {
            return Ok(HashSet::new());
        }
        let mut batch = Batch::new();
        for &user in users {
            batch.add(
                redis::cmd("ZCOUNT")
                    .arg(self.key(user))
                    .arg(format!("({}", now.millis()))
                    .arg("+inf")
                    .clone(),
            );
        }
        let counts: Vec<i64> = self.with_connection(|conn| batch.query(conn))?;
        Ok(users
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(u, _)| *u)
            .collect())
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }
}
