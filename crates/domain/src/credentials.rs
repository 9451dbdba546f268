//! The verified-credential cache: after a successful bcrypt check of a username and password,
//! the same password for the same user *and the same stored hash* is accepted without bcrypt for
//! a short while. The seed's clients send username + password with every request; bcrypt at cost
//! 12 on each made them thirteen times slower than token clients.
//!
//! What is kept is an HMAC-SHA256, under a key drawn at random when the process starts, of the
//! user id, the stored hash and the password: never the password, and worthless outside this
//! process. A changed password (a new hash), a deleted user (not looked up) or a wrong password
//! never matches; failures are never remembered (and still count for the log-in throttle, which
//! runs before any check); the comparison is constant-time. Memory is bounded: at most
//! `max_entries` users, expired entries dropped first, then the ones closest to expiring.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::user::User;
use crate::{Timestamp, UserId};

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
    entries: Mutex<HashMap<UserId, Entry>>,
}

struct Entry {
    mac: [u8; 32],
    expires_at: Timestamp,
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
        }
    }

    /// Whether `password` was verified for this user, with this stored hash, and has not expired.
    pub fn matches(&self, user: &User, password: &str, now: Timestamp) -> bool {
        let stored = match self.lock().get(&user.id) {
            Some(entry) if entry.expires_at > now => entry.mac,
            _ => return false,
        };
        self.keyed(user, password)
            .is_some_and(|mac| mac.verify_slice(&stored).is_ok())
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
        if entries.len() >= self.policy.max_entries && !entries.contains_key(&user.id) {
            entries.retain(|_, e| e.expires_at > now);
            while entries.len() >= self.policy.max_entries.max(1) {
                let Some(soonest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(id, _)| *id)
                else {
                    break;
                };
                entries.remove(&soonest);
            }
        }
        entries.insert(
            user.id,
            Entry {
                mac: bytes,
                expires_at: now.plus_millis(self.policy.ttl_ms),
            },
        );
    }

    /// Forgets a user's entry (its password is no longer known to be right).
    pub fn forget(&self, user: UserId) {
        self.lock().remove(&user);
    }

    /// How many users are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no user is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, Entry>> {
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
            username: Username::parse("ann").unwrap(),
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
    fn two_caches_have_different_keys() {
        let (a, b) = (cache(1), cache(1));
        let ann = user(1, "h");
        a.remember(&ann, "p", T);
        assert!(a.matches(&ann, "p", T));
        assert!(!b.matches(&ann, "p", T));
        assert_ne!(a.key, b.key);
    }
}
