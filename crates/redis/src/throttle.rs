//! The log-in throttle shared by every instance through Redis, so that N instances behind a
//! balancer give a guesser the limit once, not N times.
//!
//! Keys (under the configured prefix, never the raw username or address: see
//! [`ThrottleKey::fingerprint`]):
//! - `<prefix>:throttle:<user|ip>:<sha256>:failures`: a hash `{start, n}`, the fixed window of
//!   failures (from the first one), `HINCRBY`'d and `PEXPIRE`d to the window's length;
//! - `<prefix>:throttle:<user|ip>:<sha256>:lock`: the lockout's end (ms), `SET ... PX lockout`.
//!
//! On a Redis Cluster the fingerprint is the key's hash tag,
//! `<prefix>:throttle:{<user|ip>:<sha256>}:failures` and `...:lock`: a key's count and lock
//! share a slot, so the script runs once per throttle key (each on its master, in one cluster
//! pipeline), and a check's `GET`s and `EXISTS`es are routed the same way.
//!
//! A failure is one Lua script over every key of the attempt (atomic, one round trip: concurrent
//! failures on any number of instances are all counted, and exactly one of them locks). A check
//! is one `MGET` of the lock keys; it runs before the bcrypt work. Time is the caller's `now`
//! (the [`chat_domain::Clock`]), stored in the values, so the port's contract is the same as
//! in-process and tests can move time; the Redis TTLs only reclaim memory.
//!
//! The port is synchronous and the server calls it from its blocking pool (beside bcrypt), so
//! this uses the blocking `redis` client: a few idle connections kept in a mutexed list, each
//! with connect, read and write timeouts. No async runtime is entered.
//!
//! **Redis unreachable**: neither fail open nor closed. Failing closed would lock every user out
//! during a Redis outage; failing open would drop the protection entirely. Instead every failure
//! is also counted in an [`InProcessThrottle`] of this instance, and while Redis cannot be
//! reached (or for [`RedisThrottleOptions::retry_pause`] after it failed) checks and counts use
//! that one: each instance then enforces the limits alone (at worst N times the limit, as before
//! Redis), log-ins keep working, and the outage is logged as an error once.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chat_domain::ports::LoginThrottle;
use chat_domain::throttle::{Locked, ThrottleKey, ThrottlePolicy};
use chat_domain::{DomainError, DomainResult, Timestamp};
use chat_memory::InProcessThrottle;
use redis::{RedisResult, Value};

use crate::link::{Batch, Conn, Link};
use crate::target::RedisTarget;

/// Counts one failure against every `(failures, lock)` key pair; returns how many it locked.
/// ARGV: now, window_ms, lockout_ms, then each pair's limit.
const RECORD_FAILURE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local lockout = tonumber(ARGV[3])
local locked = 0
for i = 1, #KEYS / 2 do
  local failures, lock = KEYS[2 * i - 1], KEYS[2 * i]
  local max = tonumber(ARGV[3 + i])
  local until_ms = tonumber(redis.call('GET', lock))
  if not (until_ms and until_ms > now) then
    if until_ms then redis.call('DEL', lock) end
    local start = tonumber(redis.call('HGET', failures, 'start'))
    if not start or start + window <= now then
      redis.call('DEL', failures)
      redis.call('HSET', failures, 'start', ARGV[1])
      redis.call('PEXPIRE', failures, window)
    end
    local n = redis.call('HINCRBY', failures, 'n', 1)
    if n >= max then
      redis.call('DEL', failures)
      redis.call('SET', lock, string.format('%.0f', now + lockout), 'PX', lockout)
      locked = locked + 1
    end
  end
end
return locked
";

/// Tuning of a [`RedisThrottle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisThrottleOptions {
    /// How long connecting, or one command, may take before Redis counts as unreachable.
    pub timeout: Duration,
    /// After a failure, how long the local counts are used before Redis is tried again (so an
    /// outage does not add a timeout to every log-in).
    pub retry_pause: Duration,
    /// Idle connections kept for reuse.
    pub max_idle_connections: usize,
    /// Most keys the local fallback remembers (see [`InProcessThrottle::new`]).
    pub fallback_max_entries: usize,
}

impl Default for RedisThrottleOptions {
    fn default() -> Self {
        RedisThrottleOptions {
            timeout: Duration::from_millis(500),
            retry_pause: Duration::from_secs(1),
            max_idle_connections: 8,
            fallback_max_entries: 100_000,
        }
    }
}

/// The log-in throttle of a deployment with several instances (see the module docs).
pub struct RedisThrottle {
    link: Link,
    prefix: String,
    policy: ThrottlePolicy,
    options: RedisThrottleOptions,
    /// When Redis last failed, while it has not answered since.
    down_since: Mutex<Option<Instant>>,
    local: InProcessThrottle,
    /// Username keys a check just found with no failures and no lock, by failures key, with
    /// that check's `now`: the success of the same attempt then has nothing to forget and
    /// skips its round trip (see [`LoginThrottle::record_success`] below).
    seen_clean: Mutex<HashMap<String, i64>>,
}

/// Most entries `seen_clean` holds before it is emptied (each is one attempt in flight).
const SEEN_CLEAN_MAX: usize = 10_000;

impl std::fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("prefix", &self.prefix)
            .field("policy", &self.policy)
            .field("reachable", &self.is_reachable())
            .finish_non_exhaustive()
    }
}

impl RedisThrottle {
    /// A throttle on Redis at `url`, with keys under `<channel_prefix>:throttle:` (instances
    /// sharing a prefix share the counts). Fails if the URL is invalid or Redis does not answer
    /// a `PING` (a misconfiguration should stop the start-up). Blocking.
    pub fn connect(
        url: &str,
        channel_prefix: &str,
        policy: ThrottlePolicy,
        options: RedisThrottleOptions,
    ) -> DomainResult<Self> {
        Self::connect_to(
            &RedisTarget::Single(url.to_owned()),
            channel_prefix,
            policy,
            options,
        )
    }

    /// [`RedisThrottle::connect`] on either kind of [`RedisTarget`] (on a cluster, every master
    /// must answer the `PING`).
    pub fn connect_to(
        target: &RedisTarget,
        channel_prefix: &str,
        policy: ThrottlePolicy,
        options: RedisThrottleOptions,
    ) -> DomainResult<Self> {
        let throttle = Self::new_on(target, channel_prefix, policy, options)?;
        throttle.link.ping().map_err(unavailable)?;
        tracing::info!(prefix = %throttle.prefix, cluster = target.is_cluster(), "redis log-in throttle connected");
        Ok(throttle)
    }

    /// [`RedisThrottle::connect`] without the `PING`: Redis is first contacted on first use
    /// (and the local counts are used while it cannot be reached). Fails only on a bad URL.
    pub fn new(
        url: &str,
        channel_prefix: &str,
        policy: ThrottlePolicy,
        options: RedisThrottleOptions,
    ) -> DomainResult<Self> {
        Self::new_on(
            &RedisTarget::Single(url.to_owned()),
            channel_prefix,
            policy,
            options,
        )
    }

    /// [`RedisThrottle::new`] on either kind of [`RedisTarget`].
    pub fn new_on(
        target: &RedisTarget,
        channel_prefix: &str,
        policy: ThrottlePolicy,
        options: RedisThrottleOptions,
    ) -> DomainResult<Self> {
        Ok(RedisThrottle {
            link: Link::new(target, options.timeout, options.max_idle_connections)?,
            prefix: format!("{channel_prefix}:throttle"),
            policy,
            options,
            down_since: Mutex::new(None),
            local: InProcessThrottle::new(policy, options.fallback_max_entries),
            seen_clean: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the last contact with Redis succeeded (for health checks).
    pub fn is_reachable(&self) -> bool {
        lock(&self.down_since).is_none()
    }

    /// The key's fingerprint, as its hash tag on a cluster.
    fn stem(&self, key: &ThrottleKey) -> String {
        if self.link.is_cluster() {
            format!("{}:{{{}}}", self.prefix, key.fingerprint())
        } else {
            format!("{}:{}", self.prefix, key.fingerprint())
        }
    }

    fn failures_key(&self, key: &ThrottleKey) -> String {
        format!("{}:failures", self.stem(key))
    }

    fn lock_key(&self, key: &ThrottleKey) -> String {
        format!("{}:lock", self.stem(key))
    }

    /// Runs `op` on a pooled connection, unless Redis failed within the retry pause. `None`
    /// means Redis could not be used: the caller falls back to the local counts.
    fn on_redis<T>(
        &self,
        what: &'static str,
        op: impl FnOnce(&mut Conn) -> RedisResult<T>,
    ) -> Option<T> {
        if let Some(since) = *lock(&self.down_since) {
            if since.elapsed() < self.options.retry_pause {
                return None;
            }
        }
        match self.link.with_connection(op) {
            Ok(value) => {
                if lock(&self.down_since).take().is_some() {
                    tracing::info!("redis reachable again: log-in throttle shared again");
                }
                Some(value)
            }
            Err(err) => {
                let was_up = lock(&self.down_since).replace(Instant::now()).is_none();
                if was_up {
                    tracing::error!(
                        error = %err,
                        operation = what,
                        "redis unreachable: log-in throttle falls back to this instance's counts"
                    );
                } else {
                    tracing::warn!(error = %err, operation = what, "redis still unreachable");
                }
                None
            }
        }
    }
}

impl LoginThrottle for RedisThrottle {
    fn check(&self, keys: &[ThrottleKey], now: Timestamp) -> Result<(), Locked> {
        if keys.is_empty() {
            return Ok(());
        }
        let lock_keys: Vec<String> = keys.iter().map(|k| self.lock_key(k)).collect();
        let user_failures: Vec<String> = keys
            .iter()
            .filter(|k| matches!(k, ThrottleKey::Username(..)))
            .map(|k| self.failures_key(k))
            .collect();
        // One round trip: the lock ends, and whether the usernames have failures to forget.
        let cluster = self.link.is_cluster();
        let answer = self.on_redis("check", |conn| {
            let mut batch = Batch::new();
            if cluster {
                // Each key on its own slot's master.
                for key in &lock_keys {
                    batch.add(redis::cmd("GET").arg(key).clone());
                }
                for key in &user_failures {
                    batch.add(redis::cmd("EXISTS").arg(key).clone());
                }
                let mut answers: Vec<Value> = batch.query(conn)?;
                let exists = answers.split_off(lock_keys.len());
                let ends: Vec<Option<i64>> = redis::from_owned_redis_value(Value::Array(answers))?;
                let exists: Vec<i64> = redis::from_owned_redis_value(Value::Array(exists))?;
                Ok((ends, exists.iter().sum::<i64>()))
            } else if user_failures.is_empty() {
                batch.add(redis::cmd("MGET").arg(&lock_keys).clone());
                batch.add(redis::cmd("PING"));
                let (ends, _): (Vec<Option<i64>>, String) = batch.query(conn)?;
                Ok((ends, 0))
            } else {
                batch.add(redis::cmd("MGET").arg(&lock_keys).clone());
                batch.add(redis::cmd("EXISTS").arg(&user_failures).clone());
                batch.query::<(Vec<Option<i64>>, i64)>(conn)
            }
        });
        match answer {
            Some((ends, failures)) => {
                let users_locked = keys
                    .iter()
                    .zip(&ends)
                    .any(|(k, end)| matches!(k, ThrottleKey::Username(..)) && end.is_some());
                if failures == 0 && !users_locked {
                    let mut seen = lock(&self.seen_clean);
                    if seen.len() >= SEEN_CLEAN_MAX {
                        seen.clear();
                    }
                    for key in user_failures {
                        seen.insert(key, now.0);
                    }
                }
                match ends
                    .into_iter()
                    .flatten()
                    .max()
                    .and_then(|until| Locked::until(until, now.0))
                {
                    None => Ok(()),
                    Some(locked) => Err(locked),
                }
            }
            None => self.local.check(keys, now),
        }
    }

    fn record_failure(&self, keys: &[ThrottleKey], now: Timestamp) {
        // Counted here too, for the checks made while Redis cannot be reached.
        self.local.record_failure(keys, now);
        if keys.is_empty() {
            return;
        }
        // One script over every key on one server; on a cluster one per key (its count and
        // lock share a slot), all in one cluster pipeline.
        let groups: Vec<&[ThrottleKey]> = if self.link.is_cluster() {
            keys.chunks(1).collect()
        } else {
            vec![keys]
        };
        let mut batch = Batch::new();
        for group in groups {
            let mut script = redis::cmd("EVAL");
            script.arg(RECORD_FAILURE).arg(group.len() * 2);
            for key in group {
                script.arg(self.failures_key(key)).arg(self.lock_key(key));
            }
            script
                .arg(now.0)
                .arg(self.policy.window_ms.max(1))
                .arg(self.policy.lockout_ms.max(1));
            for key in group {
                script.arg(self.policy.max_failures(key));
            }
            batch.add(script);
        }
        let locked = self.on_redis("record_failure", |conn| batch.query::<Vec<i64>>(conn));
        if locked.unwrap_or_default().iter().sum::<i64>() > 0 {
            tracing::warn!("log-in locked after repeated failures (shared by every instance)");
        }
    }

    fn record_success(&self, keys: &[ThrottleKey], now: Timestamp) {
        self.local.record_success(keys, now);
        let users: Vec<&ThrottleKey> = keys
            .iter()
            .filter(|k| matches!(k, ThrottleKey::Username(..)))
            .collect();
        // The check of this same attempt (same `now`) found nothing to forget: no round trip.
        // A failure another attempt recorded in between stays counted (the safe side).
        let clean = {
            let mut seen = lock(&self.seen_clean);
            users.iter().fold(!users.is_empty(), |clean, k| {
                seen.remove(&self.failures_key(k)) == Some(now.0) && clean
            })
        };
        if clean {
            return;
        }
        if users.is_empty() {
            return;
        }
        // One DEL on one server; on a cluster one per username (its two keys share a slot).
        let mut batch = Batch::new();
        if self.link.is_cluster() {
            for k in &users {
                batch.add(
                    redis::cmd("DEL")
                        .arg(self.failures_key(k))
                        .arg(self.lock_key(k))
                        .clone(),
                );
            }
        } else {
            let forget: Vec<String> = users
                .iter()
                .flat_map(|k| [self.failures_key(k), self.lock_key(k)])
                .collect();
            batch.add(redis::cmd("DEL").arg(&forget).clone());
        }
        self.on_redis("record_success", |conn| batch.query::<Vec<i64>>(conn));
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing is left half-done under these locks: keep using them after a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(err: impl std::fmt::Display) -> DomainError {
    DomainError::unavailable(format!("redis: {err}"))
}
