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
//! Synchronous like the other ports (the server calls it from its blocking pool), with the
//! blocking `redis` client: a few idle connections, each with timeouts. Redis unreachable: the
//! calls answer `Unavailable` (the router then leaves availability alone rather than marking
//! everyone offline).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chat_domain::ports::Presence;
use chat_domain::{DomainError, DomainResult, Timestamp, UserId};
use redis::{Client, Connection, RedisResult};

/// How long connecting, or one command, may take.
const TIMEOUT: Duration = Duration::from_millis(500);
/// Idle connections kept.
const MAX_IDLE: usize = 4;

/// Presence in Redis (see the module docs).
pub struct RedisPresence {
    client: Client,
    prefix: String,
    idle: Mutex<Vec<Connection>>,
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
        let presence = Self::new(url, channel_prefix)?;
        presence.with_connection(|conn| redis::cmd("PING").query::<String>(conn))?;
        Ok(presence)
    }

    /// [`RedisPresence::connect`] without the `PING`: Redis is first contacted on first use.
    /// Fails only on a bad URL.
    pub fn new(url: &str, channel_prefix: &str) -> DomainResult<Self> {
        let client = Client::open(url).map_err(DomainError::unavailable)?;
        Ok(RedisPresence {
            client,
            prefix: format!("{channel_prefix}:presence"),
            idle: Mutex::new(Vec::new()),
        })
    }

    fn key(&self, user: UserId) -> String {
        format!("{}:{}", self.prefix, user.0)
    }

    fn with_connection<T>(
        &self,
        op: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> DomainResult<T> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(TIMEOUT)
                    .map_err(DomainError::unavailable)?;
                conn.set_read_timeout(Some(TIMEOUT))
                    .map_err(DomainError::unavailable)?;
                conn.set_write_timeout(Some(TIMEOUT))
                    .map_err(DomainError::unavailable)?;
                conn
            }
        };
        // On an error the connection is dropped: its state is unknown.
        let value = op(&mut conn).map_err(DomainError::unavailable)?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(value)
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
            let mut pipe = redis::pipe();
            for &user in users {
                let key = self.key(user);
                pipe.cmd("ZADD")
                    .arg(&key)
                    .arg(until.millis())
                    .arg(instance)
                    .ignore();
                // Drop entries that lapsed (other instances that stopped beating).
                pipe.cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(now.millis())
                    .ignore();
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl).ignore();
            }
            pipe.query::<()>(conn)
        })
    }

    fn leave(&self, user: UserId, instance: &str) -> DomainResult<()> {
        self.with_connection(|conn| {
            redis::cmd("ZREM")
                .arg(self.key(user))
                .arg(instance)
                .query::<()>(conn)
        })
    }

    fn present(&self, users: &[UserId], now: Timestamp) -> DomainResult<HashSet<UserId>> {
        if users.is_empty() {
            return Ok(HashSet::new());
        }
        let counts: Vec<i64> = self.with_connection(|conn| {
            let mut pipe = redis::pipe();
            for &user in users {
                pipe.cmd("ZCOUNT")
                    .arg(self.key(user))
                    .arg(format!("({}", now.millis()))
                    .arg("+inf");
            }
            pipe.query(conn)
        })?;
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
