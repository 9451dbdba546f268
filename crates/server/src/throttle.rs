//! Log-in throttling: failed password checks are counted per username and per client IP, and a
//! key that failed too often is refused (429) until its lockout ends, before any bcrypt work.
//!
//! [`LoginThrottle`] is the port; [`InProcessThrottle`] keeps counts in this process (bounded
//! memory). A shared implementation (Redis: `INCR` + `PEXPIRE` per key) slots in behind the same
//! trait when several instances must share the counts. Methods are synchronous, like the domain's
//! ports: call them off the async workers (they run beside the bcrypt check).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chat_domain::Timestamp;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The username as presented (trimmed, at most [`ThrottleKey::MAX_USERNAME_CHARS`] kept),
    /// whether or not such a user exists.
    Username(String),
    /// The client's address.
    Ip(IpAddr),
}

impl ThrottleKey {
    /// Longer usernames cannot exist; keeping only this many characters bounds each entry.
    pub const MAX_USERNAME_CHARS: usize = 160;

    /// The key of a presented username.
    pub fn username(presented: &str) -> Self {
        ThrottleKey::Username(
            presented
                .trim()
                .chars()
                .take(Self::MAX_USERNAME_CHARS)
                .collect(),
        )
    }
}

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one username, within one window, that lock it.
    pub max_failures_per_username: u32,
    /// Failures from one IP, within one window, that lock it.
    pub max_failures_per_ip: u32,
    /// The window failures are counted in, from the first one, in milliseconds.
    pub window_ms: i64,
    /// How long a locked key stays locked, from the failure that locked it, in milliseconds.
    pub lockout_ms: i64,
    /// Most keys remembered at once (memory bound of the in-process throttle).
    pub max_entries: usize,
}

impl ThrottlePolicy {
    fn max_failures(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Username(_) => self.max_failures_per_username,
            ThrottleKey::Ip(_) => self.max_failures_per_ip,
        }
    }
}

/// A refusal: the caller may try again after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Seconds until the lockout ends, rounded up.
    pub retry_after_seconds: u64,
}

/// Counts failed password checks and refuses keys that failed too often.
///
/// Contract: `check` MUST refuse while any of the keys is locked, and MUST NOT reveal more than
/// the lockout's end; `record_failure` counts one failure against every key (locking the ones
/// that reach their limit); `record_success` forgets the username keys' failures (an IP key
/// keeps its count: one good log-in must not reset a guesser's budget across usernames).
pub trait LoginThrottle: Send + Sync {
    /// Whether a password check may run now for these keys.
    fn check(&self, keys: &[ThrottleKey], now: Timestamp) -> Result<(), Locked>;
    /// A password check failed.
    fn record_failure(&self, keys: &[ThrottleKey], now: Timestamp);
    /// A password check succeeded.
    fn record_success(&self, keys: &[ThrottleKey], now: Timestamp);
    /// A short name for logs, e.g. `in-process`.
    fn backend_name(&self) -> &'static str;
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: i64,
    locked_until: Option<i64>,
}

impl Entry {
    /// Whether this entry no longer affects anything at `now`.
    fn is_stale(&self, now: i64, policy: &ThrottlePolicy) -> bool {
        match self.locked_until {
            Some(until) => until <= now,
            None => self.window_start.saturating_add(policy.window_ms) <= now,
        }
    }
}

/// The throttle of one process: a map of keys to counts behind a mutex. When it holds
/// `max_entries` keys, stale ones are dropped first, then the oldest tenth (so a flood of
/// distinct usernames cannot exhaust memory; it can only make the oldest counts forgotten).
#[derive(Debug)]
pub struct InProcessThrottle {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<ThrottleKey, Entry>>,
}

impl InProcessThrottle {
    /// An empty throttle with these limits.
    pub fn new(policy: ThrottlePolicy) -> Self {
        InProcessThrottle {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How many keys it remembers now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it remembers no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Entry>> {
        // A panic while holding the lock leaves consistent counts behind: keep using them.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn make_room(&self, entries: &mut HashMap<ThrottleKey, Entry>, now: i64) {
        if entries.len() < self.policy.max_entries {
            return;
        }
        entries.retain(|_, e| !e.is_stale(now, &self.policy));
        if entries.len() < self.policy.max_entries {
            return;
        }
        let mut starts: Vec<i64> = entries.values().map(|e| e.window_start).collect();
        let evict = (self.policy.max_entries / 10).max(1).min(starts.len());
        let (_, cutoff, _) = starts.select_nth_unstable(evict - 1);
        let cutoff = *cutoff;
        let mut left = evict;
        entries.retain(|_, e| {
            if left > 0 && e.window_start <= cutoff {
                left -= 1;
                false
            } else {
                true
            }
        });
    }
}

impl LoginThrottle for InProcessThrottle {
    fn check(&self, keys: &[ThrottleKey], now: Timestamp) -> Result<(), Locked> {
        let now = now.0;
        let entries = self.lock();
        let until = keys
            .iter()
            .filter_map(|k| entries.get(k)?.locked_until)
            .filter(|until| *until > now)
            .max();
        match until {
            None => Ok(()),
            Some(until) => Err(Locked {
                retry_after_seconds: u64::try_from((until - now + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            }),
        }
    }

    fn record_failure(&self, keys: &[ThrottleKey], now: Timestamp) {
        let now = now.0;
        let mut entries = self.lock();
        for key in keys {
            if !entries.contains_key(key) {
                self.make_room(&mut entries, now);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
            if entry.is_stale(now, &self.policy) {
                *entry = Entry {
                    failures: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            entry.failures = entry.failures.saturating_add(1);
            if entry.failures >= self.policy.max_failures(key) && entry.locked_until.is_none() {
                entry.locked_until = Some(now.saturating_add(self.policy.lockout_ms));
                tracing::warn!(key = ?key_kind(key), "log-in locked after repeated failures");
            }
        }
    }

    fn record_success(&self, keys: &[ThrottleKey], _now: Timestamp) {
        let mut entries = self.lock();
        for key in keys {
            if matches!(key, ThrottleKey::Username(_)) {
                entries.remove(key);
            }
        }
    }

    fn backend_name(&self) -> &'static str {
        "in-process"
    }
}

/// Which kind of key, for logs (usernames and addresses are personal data).
fn key_kind(key: &ThrottleKey) -> &'static str {
    match key {
        ThrottleKey::Username(_) => "username",
        ThrottleKey::Ip(_) => "ip",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_entries: usize) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures_per_username: 3,
            max_failures_per_ip: 5,
            window_ms: 60_000,
            lockout_ms: 60_000,
            max_entries,
        }
    }

    fn user(name: &str) -> Vec<ThrottleKey> {
        vec![ThrottleKey::username(name)]
    }

    #[test]
    fn locks_at_the_limit_and_unlocks_after_the_lockout() {
        let t = InProcessThrottle::new(policy(100));
        for i in 0..3 {
            assert!(t.check(&user("ann"), Timestamp(i)).is_ok());
            t.record_failure(&user("ann"), Timestamp(i));
        }
        let locked = t.check(&user("ann"), Timestamp(2)).unwrap_err();
        assert_eq!(locked.retry_after_seconds, 60);
        assert!(t.check(&user("bob"), Timestamp(2)).is_ok());
        assert!(t.check(&user("ann"), Timestamp(60_001)).is_err());
        assert!(t.check(&user("ann"), Timestamp(60_002)).is_ok());
    }

    #[test]
    fn failures_outside_the_window_start_over() {
        let t = InProcessThrottle::new(policy(100));
        t.record_failure(&user("ann"), Timestamp(0));
        t.record_failure(&user("ann"), Timestamp(1));
        t.record_failure(&user("ann"), Timestamp(60_000));
        assert!(t.check(&user("ann"), Timestamp(60_000)).is_ok());
    }

    #[test]
    fn success_forgets_the_username_but_not_the_ip() {
        let t = InProcessThrottle::new(policy(100));
        let ip = ThrottleKey::Ip("10.0.0.1".parse().unwrap());
        let keys = vec![ThrottleKey::username("ann"), ip.clone()];
        for i in 0..2 {
            t.record_failure(&keys, Timestamp(i));
        }
        t.record_success(&keys, Timestamp(3));
        for i in 0..3 {
            t.record_failure(&keys, Timestamp(4 + i));
        }
        // ann: 3 since the success (locked); ip: 5 in all (locked).
        assert!(t.check(&user("ann"), Timestamp(10)).is_err());
        assert!(t.check(std::slice::from_ref(&ip), Timestamp(10)).is_err());
    }

    #[test]
    fn memory_stays_bounded() {
        let t = InProcessThrottle::new(policy(50));
        for i in 0..1_000 {
            t.record_failure(&user(&format!("user{i}")), Timestamp(i));
            assert!(t.len() <= 50);
        }
        // The newest keys are still counted.
        t.record_failure(&user("user999"), Timestamp(1_000));
        t.record_failure(&user("user999"), Timestamp(1_001));
        assert!(t.check(&user("user999"), Timestamp(1_002)).is_err());
    }
}
