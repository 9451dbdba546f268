//! The log-in throttle of one process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chat_domain::ports::LoginThrottle;
use chat_domain::throttle::{Locked, ThrottleKey, ThrottlePolicy};
use chat_domain::Timestamp;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: i64,
    locked_until: Option<i64>,
}

impl Entry {
    fn new(now: i64) -> Self {
        Entry {
            failures: 0,
            window_start: now,
            locked_until: None,
        }
    }

    /// Whether this entry no longer affects anything at `now`.
    fn is_stale(&self, now: i64, policy: &ThrottlePolicy) -> bool {
        match self.locked_until {
            Some(until) => until <= now,
            None => self.window_start.saturating_add(policy.window_ms) <= now,
        }
    }
}

/// The log-in throttle of one process: a map of keys to counts behind a mutex. It is the
/// production throttle of a single instance (the embedded default) and the reference semantics
/// of [`LoginThrottle`]. With several instances each counts alone (a guesser gets N times the
/// limit): use a shared implementation there.
///
/// Memory is bounded: when it holds `max_entries` keys, stale ones are dropped first, then the
/// oldest tenth (so a flood of distinct usernames cannot exhaust memory; it can only make the
/// oldest counts forgotten).
#[derive(Debug)]
pub struct InProcessThrottle {
    policy: ThrottlePolicy,
    max_entries: usize,
    entries: Mutex<HashMap<ThrottleKey, Entry>>,
}

impl InProcessThrottle {
    /// An empty throttle with these limits, remembering at most `max_entries` keys (at least 1).
    pub fn new(policy: ThrottlePolicy, max_entries: usize) -> Self {
        InProcessThrottle {
            policy,
            max_entries: max_entries.max(1),
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

    fn lock(&self) -> MutexGuard<'_, HashMap<ThrottleKey, Entry>> {
        // A panic while holding the lock leaves consistent counts behind: keep using them.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn make_room(&self, entries: &mut HashMap<ThrottleKey, Entry>, now: i64) {
        if entries.len() < self.max_entries {
            return;
        }
        entries.retain(|_, e| !e.is_stale(now, &self.policy));
        if entries.len() < self.max_entries {
            return;
        }
        let mut starts: Vec<i64> = entries.values().map(|e| e.window_start).collect();
        let evict = (self.max_entries / 10).max(1).min(starts.len());
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
            .max();
        match until.and_then(|until| Locked::until(until, now)) {
            None => Ok(()),
            Some(locked) => Err(locked),
        }
    }

    fn record_failure(&self, keys: &[ThrottleKey], now: Timestamp) {
        let now = now.0;
        let mut entries = self.lock();
        for key in keys {
            if !entries.contains_key(key) {
                self.make_room(&mut entries, now);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry::new(now));
            if entry.is_stale(now, &self.policy) {
                *entry = Entry::new(now);
            }
            entry.failures = entry.failures.saturating_add(1);
            if entry.failures >= self.policy.max_failures(key) && entry.locked_until.is_none() {
                entry.locked_until = Some(now.saturating_add(self.policy.lockout_ms));
                tracing::warn!(key = key.kind(), "log-in locked after repeated failures");
            }
        }
    }

    fn record_success(&self, keys: &[ThrottleKey], _now: Timestamp) {
        let mut entries = self.lock();
        for key in keys {
            if matches!(key, ThrottleKey::Username(..)) {
                entries.remove(key);
            }
        }
    }

    fn backend_name(&self) -> &'static str {
        "in-process"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures_per_username: 3,
            max_failures_per_ip: 5,
            window_ms: 60_000,
            lockout_ms: 60_000,
        }
    }

    fn user(name: &str) -> Vec<ThrottleKey> {
        vec![ThrottleKey::username(name, None)]
    }

    #[test]
    fn memory_stays_bounded() {
        let t = InProcessThrottle::new(policy(), 50);
        for i in 0..1_000 {
            t.record_failure(&user(&format!("user{i}")), Timestamp(i));
            assert!(t.len() <= 50);
        }
        // The newest keys are still counted.
        t.record_failure(&user("user999"), Timestamp(1_000));
        t.record_failure(&user("user999"), Timestamp(1_001));
        assert!(t.check(&user("user999"), Timestamp(1_002)).is_err());
    }

    #[test]
    fn stale_entries_go_first() {
        let t = InProcessThrottle::new(policy(), 10);
        for i in 0..9 {
            t.record_failure(&user(&format!("old{i}")), Timestamp(0));
        }
        t.record_failure(&user("ann"), Timestamp(50_000));
        t.record_failure(&user("ann"), Timestamp(50_001));
        // At 70 000 the nine old windows have ended: they make room, ann's count stays.
        t.record_failure(&user("bob"), Timestamp(70_000));
        assert_eq!(t.len(), 2);
        t.record_failure(&user("ann"), Timestamp(70_001));
        assert!(t.check(&user("ann"), Timestamp(70_002)).is_err());
    }
}
