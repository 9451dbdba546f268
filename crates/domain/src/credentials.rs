//! The verified-credential cache: after a successful bcrypt check of a username and password,
//! the same password for the same user *and the same stored hash* is accepted without bcrypt for
//! a short while. The seed's clients send username + password with every request; bcrypt at cost
//! 12 on each made them thirteen times slower than token clients.
//!
//! What is kept is an HMAC-SHA256, under a key drawn at random when the process starts, of the
//! user id, the stored hash and the password: never the password, and worthless outside this
//! process. A changed password (a new hash), a deleted user or a wrong password never matches;
//! failures are never remembered (and still count for the log-in throttle, which runs before
//! any check); the comparison is constant-time. Memory is bounded: at most `max_entries` users,
//! expired entries dropped first, then the ones closest to expiring.
//!
//! Beside it, the user as read at the check and the open thread of each type it last wrote to:
//! a repeated send ([`VerifiedCredentials::recall`]) then needs no read at all, because the
//! append itself re-checks, in its own transaction, that the user is not deleted and still has
//! the remembered hash ([`crate::message::NewMessage::verified_hash`]) and that the thread is
//! still open.
//!
//! And the log-in throttle keys (their fingerprints) under which the password last passed the
//! throttle's check with nothing against it: a repeated request under those keys skips that
//! check (a round trip to Redis) for as long as no failure is heard of for any of them
//! ([`VerifiedCredentials::forget_keys`]: this instance's failures at once, the others' when the
//! bus brings their [`crate::event::Event::PasswordFailed`]), and only while this instance
//! listens to the bus ([`VerifiedCredentials::set_listening`]; a gap forgets every exemption).
//! A lock-out needs failures, so a key with a failure since never skips the check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::thread::ThreadType;
use crate::user::User;
use crate::{ThreadId, Timestamp, UserId};

/// How long and how many verified credentials are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialCachePolicy {
    /// How long a verified password is accepted without bcrypt, in milliseconds.
    pub ttl_ms: i64,
    /// Most users remembered at once.
    pub max_entries: usize,
}

/// The cache; cheap to share behind an `Arc`.
pub struct VerifiedCredentials {
    key: [u8; 32],
    policy: CredentialCachePolicy,
    /// By username (as stored: the presented one, trimmed, when the store found it).
    entries: Mutex<HashMap<String, Entry>>,
    /// Whether failures of other instances are heard (the bus is subscribed to).
    listening: AtomicBool,
    /// How many times keys were forgotten: a check that began before a forget clears no key.
    forgets: AtomicU64,
}

/// Taken before a throttle check; [`VerifiedCredentials::clear_keys`] with it does nothing if a
/// failure was heard of since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckTicket(u64);

/// Most throttle keys remembered as clear per user (one per address it writes from, and the
/// addresses' own keys).
const MAX_CLEARED_KEYS: usize = 8;

struct Entry {
    user: User,
    mac: [u8; 32],
    expires_at: Timestamp,
    /// The open thread of each type the user last wrote to.
    open_threads: Vec<(ThreadType, ThreadId)>,
    /// Fingerprints of the throttle keys under which the password passed the throttle's check
    /// with no failure heard of since.
    cleared_keys: Vec<String>,
}

impl std::fmt::Debug for VerifiedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCredentials")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl VerifiedCredentials {
    /// An empty cache with a fresh random key.
    pub fn new(policy: CredentialCachePolicy) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        VerifiedCredentials {
            key,
            policy,
            entries: Mutex::new(HashMap::new()),
            listening: AtomicBool::new(false),
            forgets: AtomicU64::new(0),
        }
    }

    /// Whether `password` was verified for this user, with this stored hash, and has not expired.
    pub fn matches(&self, user: &User, password: &str, now: Timestamp) -> bool {
        let stored = match self.lock().get(user.username.as_str()) {
            Some(entry) if entry.expires_at > now && entry.user.id == user.id => entry.mac,
            _ => return false,
        };
        self.verifies(user, password, &stored)
    }

    /// The user `username` (as presented) names and the open thread of `thread_type` it last
    /// wrote to, when `password` was verified for that user and its hash as then stored, and
    /// has not expired. Whether the user still has that hash, and the thread is still open, is
    /// for the append to check.
    pub fn recall(
        &self,
        username: &str,
        password: &str,
        thread_type: ThreadType,
        now: Timestamp,
    ) -> Option<(User, ThreadId)> {
        self.verified(username, password, now, |entry| {
            entry
                .open_threads
                .iter()
                .find(|(t, _)| *t == thread_type)
                .map(|(_, id)| *id)
        })
    }

    /// The user `username` (as presented) names and what `pick` takes of its entry, when the
    /// entry has not expired, `pick` finds something, and `password` is the one verified.
    fn verified<T>(
        &self,
        username: &str,
        password: &str,
        now: Timestamp,
        pick: impl FnOnce(&Entry) -> Option<T>,
    ) -> Option<(User, T)> {
        let (user, mac, picked) = {
            let entries = self.lock();
            let entry = entries
                .get(username.trim())
                .filter(|e| e.expires_at > now)?;
            let picked = pick(entry)?;
            (entry.user.clone(), entry.mac, picked)
        };
        self.verifies(&user, password, &mac)
            .then_some((user, picked))
    }

    /// Remembers that `password` is right for this user and its stored hash, until `now` plus
    /// the policy's time to live.
    pub fn remember(&self, user: &User, password: &str, now: Timestamp) {
        let Some(mac) = self.keyed(user, password) else {
            return;
        };
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&mac.finalize().into_bytes());
        let mut entries = self.lock();
        let name = user.username.as_str();
        if entries.len() >= self.policy.max_entries && !entries.contains_key(name) {
            entries.retain(|_, e| e.expires_at > now);
            while entries.len() >= self.policy.max_entries.max(1) {
                let Some(soonest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(name, _)| name.clone())
                else {
                    break;
                };
                entries.remove(&soonest);
            }
        }
        entries.insert(
            name.to_owned(),
            Entry {
                user: user.clone(),
                mac: bytes,
                expires_at: now.plus_millis(self.policy.ttl_ms),
                open_threads: Vec::new(),
                cleared_keys: Vec::new(),
            },
        );
    }

    /// Whether a request for `username` with `password` under these throttle keys may skip the
    /// throttle's check: the password is remembered (right, unexpired) and every key passed the
    /// check since with no failure heard of, and this instance hears the others' failures.
    pub fn exempts(&self, username: &str, password: &str, keys: &[String], now: Timestamp) -> bool {
        if !self.listening.load(Ordering::Acquire) || keys.is_empty() {
            return false;
        }
        self.verified(username, password, now, |entry| {
            keys.iter()
                .all(|k| entry.cleared_keys.contains(k))
                .then_some(())
        })
        .is_some()
    }

    /// A ticket to take before a throttle check whose keys may then be cleared.
    pub fn ticket(&self) -> CheckTicket {
        CheckTicket(self.forgets.load(Ordering::Acquire))
    }

    /// Remembers that `username`'s password (remembered already) passed the throttle's check
    /// under these keys, unless a failure was heard of since `ticket` was taken.
    pub fn clear_keys(&self, ticket: CheckTicket, username: &str, keys: &[String]) {
        let mut entries = self.lock();
        if self.forgets.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        let Some(entry) = entries.get_mut(username.trim()) else {
            return;
        };
        for key in keys {
            if !entry.cleared_keys.contains(key) {
                entry.cleared_keys.push(key.clone());
            }
        }
        let over = entry.cleared_keys.len().saturating_sub(MAX_CLEARED_KEYS);
        entry.cleared_keys.drain(..over);
    }

    /// A password check failed under these keys: no request under any of them skips the
    /// throttle's check until it passes it again.
    pub fn forget_keys(&self, keys: &[String]) {
        self.retain_keys(|k| !keys.contains(k));
    }

    /// Whether the other instances' failures are heard (the bus is subscribed). The caller
    /// forgets every exemption as well ([`VerifiedCredentials::forget_all_keys`]): failures
    /// may have been missed.
    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
    }

    /// Forgets every exemption (a gap: failures may have been missed).
    pub fn forget_all_keys(&self) {
        self.retain_keys(|_| false);
    }

    /// Keeps only the exemptions `keep` accepts; checks begun before grant nothing.
    fn retain_keys(&self, keep: impl Fn(&String) -> bool) {
        let mut entries = self.lock();
        self.forgets.fetch_add(1, Ordering::AcqRel);
        for entry in entries.values_mut() {
            entry.cleared_keys.retain(|k| keep(k));
        }
    }

    /// Remembers the open thread of `thread_type` that this user (remembered already) just
    /// wrote to.
    pub fn remember_open_thread(&self, user: &User, thread_type: ThreadType, thread: ThreadId) {
        let mut entries = self.lock();
        let Some(entry) = entries
            .get_mut(user.username.as_str())
            .filter(|e| e.user.id == user.id)
        else {
            return;
        };
        entry.open_threads.retain(|(t, _)| *t != thread_type);
        entry.open_threads.push((thread_type, thread));
    }

    /// Forgets the open thread of `thread_type` remembered for this user (it was resolved).
    pub fn forget_open_thread(&self, user: &User, thread_type: ThreadType) {
        if let Some(entry) = self.lock().get_mut(user.username.as_str()) {
            entry.open_threads.retain(|(t, _)| *t != thread_type);
        }
    }

    /// Forgets a user's entry (its password is no longer known to be right).
    pub fn forget(&self, user: UserId) {
        self.lock().retain(|_, e| e.user.id != user);
    }

    /// How many users are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no user is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn verifies(&self, user: &User, password: &str, stored: &[u8; 32]) -> bool {
        self.keyed(user, password)
            .is_some_and(|mac| mac.verify_slice(stored).is_ok())
    }

    fn keyed(&self, user: &User, password: &str) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(&user.id.0.to_be_bytes());
        let hash = user.password_hash.0.as_bytes();
        mac.update(&(hash.len() as u64).to_be_bytes());
        mac.update(hash);
        mac.update(password.as_bytes());
        Some(mac)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{PasswordHash, Role, Username};

    fn user(id: i64, hash: &str) -> User {
        User {
            id: UserId(id),
            username: Username::parse(&format!("user{id}")).unwrap(),
            password_hash: PasswordHash(hash.to_owned()),
            role: Role::Client,
            created_at: Timestamp(0),
            deleted_at: None,
        }
    }

    const T: Timestamp = Timestamp(1_000_000);

    fn cache(max_entries: usize) -> VerifiedCredentials {
        VerifiedCredentials::new(CredentialCachePolicy {
            ttl_ms: 60_000,
            max_entries,
        })
    }

    #[test]
    fn a_remembered_password_matches_until_it_expires() {
        let c = cache(10);
        let ann = user(1, "$2b$12$hash-one");
        assert!(!c.matches(&ann, "password-123", T));
        c.remember(&ann, "password-123", T);
        assert!(c.matches(&ann, "password-123", T.plus_millis(59_999)));
        assert!(!c.matches(&ann, "password-123", T.plus_millis(60_000)));
    }

    #[test]
    fn another_password_another_hash_or_another_user_never_matches() {
        let c = cache(10);
        let ann = user(1, "$2b$12$hash-one");
        c.remember(&ann, "password-123", T);
        assert!(!c.matches(&ann, "password-124", T));
        assert!(!c.matches(&user(1, "$2b$12$hash-two"), "password-123", T));
        assert!(!c.matches(&user(2, "$2b$12$hash-one"), "password-123", T));
        c.forget(ann.id);
        assert!(!c.matches(&ann, "password-123", T));
    }

    #[test]
    fn memory_is_bounded_expired_first_then_soonest_to_expire() {
        let c = cache(2);
        c.remember(&user(1, "h"), "p", T);
        c.remember(&user(2, "h"), "p", T.plus_millis(10));
        c.remember(&user(3, "h"), "p", T.plus_millis(20));
        assert_eq!(c.len(), 2);
        assert!(!c.matches(&user(1, "h"), "p", T.plus_millis(20)));
        assert!(c.matches(&user(3, "h"), "p", T.plus_millis(20)));
        // Once all have expired, a new one evicts them rather than the newest.
        c.remember(&user(4, "h"), "p", T.plus_millis(120_000));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_recall_needs_the_right_password_and_a_remembered_open_thread_of_the_type() {
        let c = cache(10);
        let ann = user(1, "$2b$12$hash-one");
        c.remember(&ann, "password-123", T);
        let general = ThreadType::Loan;
        let other = ThreadType::Payment;
        assert!(c.recall(" user1 ", "password-123", general, T).is_none());
        c.remember_open_thread(&ann, general, ThreadId(7));
        let (found, thread) = c.recall(" user1 ", "password-123", general, T).unwrap();
        assert_eq!((found.id, thread), (ann.id, ThreadId(7)));
        assert!(c.recall("user1", "password-124", general, T).is_none());
        assert!(c.recall("user1", "password-123", other, T).is_none());
        assert!(c.recall("user2", "password-123", general, T).is_none());
        assert!(c
            .recall("user1", "password-123", general, T.plus_millis(60_000))
            .is_none());
        c.forget_open_thread(&ann, general);
        assert!(c.recall("user1", "password-123", general, T).is_none());
        // A thread is remembered only for a user remembered with the same id.
        c.remember_open_thread(&user(2, "h"), general, ThreadId(8));
        c.remember_open_thread(&user(1, "h"), general, ThreadId(9));
        c.forget(ann.id);
        assert!(c.is_empty());
    }

    #[test]
    fn a_password_skips_the_throttle_only_under_keys_it_passed_with_no_failure_heard_since() {
        let c = cache(10);
        let ann = user(1, "h");
        let keys = ["user:a".to_owned(), "ip:a".to_owned()];
        c.remember(&ann, "pw-12345", T);
        c.set_listening(true);
        c.clear_keys(c.ticket(), "user1", &keys);
        assert!(c.exempts(" user1 ", "pw-12345", &keys, T));
        assert!(
            !c.exempts("user1", "pw-99999", &keys, T),
            "a wrong password"
        );
        assert!(
            !c.exempts(
                "user1",
                "pw-12345",
                &["user:a".to_owned(), "ip:b".to_owned()],
                T
            ),
            "another address"
        );
        assert!(!c.exempts("user1", "pw-12345", &keys, T.plus_millis(60_000)));
        // A failure under any of the keys ends it, until the keys pass the check again.
        c.forget_keys(&["ip:a".to_owned()]);
        assert!(!c.exempts("user1", "pw-12345", &keys, T));
        c.clear_keys(c.ticket(), "user1", &keys);
        assert!(c.exempts("user1", "pw-12345", &keys, T));
        // A check that began before a failure was heard of clears nothing.
        let before = c.ticket();
        c.forget_keys(&["user:zzz".to_owned()]);
        c.forget_keys(&keys);
        c.clear_keys(before, "user1", &keys);
        assert!(!c.exempts("user1", "pw-12345", &keys, T));
        // Not listening to the other instances (or a gap): nothing is exempt.
        c.clear_keys(c.ticket(), "user1", &keys);
        c.forget_all_keys();
        assert!(!c.exempts("user1", "pw-12345", &keys, T));
        c.clear_keys(c.ticket(), "user1", &keys);
        c.set_listening(false);
        c.clear_keys(c.ticket(), "user1", &keys);
        assert!(!c.exempts("user1", "pw-12345", &keys, T));
    }

    #[test]
    fn two_caches_have_different_keys() {
        let (a, b) = (cache(1), cache(1));
        let ann = user(1, "h");
        a.remember(&ann, "p", T);
        assert!(a.matches(&ann, "p", T));
        assert!(!b.matches(&ann, "p", T));
        assert_ne!(a.key, b.key);
    }
}
