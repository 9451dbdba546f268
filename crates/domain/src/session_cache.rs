//! The session cache: the user behind a bearer token, remembered for a short while so that a
//! request with a token costs no store read. Every token request read its session from the
//! store; at 5,000 requests a second that read was the largest cost left on the send path.
//!
//! What is kept is the token's hash (never the token), its user and until when the entry may be
//! used: the earlier of the session's own expiry and the cache's time to live. A session ended
//! on this instance (a log-out, a deleted user) is forgotten at once; one ended on another
//! instance is forgotten when that instance's [`crate::event::Event::SessionsEnded`] arrives
//! over the bus, and at the latest when the entry's time to live runs out (the bus is
//! at-most-once). A read that started before something was forgotten does not put its answer
//! in the cache (a generation count), so a race cannot bring back an ended session. Memory is
//! bounded: at most `max_entries` tokens, expired entries dropped first, then arbitrary ones.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::user::User;
use crate::{Timestamp, UserId};

/// How long and how many sessions are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCachePolicy {
    /// How long a session read from the store is used without reading it again, in
    /// milliseconds.
    pub ttl_ms: i64,
    /// Most tokens remembered at once.
    pub max_entries: usize,
}

/// The cache; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct SessionCache {
    policy: SessionCachePolicy,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bumped whenever something is forgotten: a read older than this does not fill the cache.
    generation: u64,
    /// When expired entries were last swept (a full cache sweeps at most once a second).
    swept_at: Option<Timestamp>,
}

#[derive(Debug)]
struct Entry {
    user: User,
    until: Timestamp,
}

/// A ticket taken before reading a session from the store: [`SessionCache::remember`] keeps the
/// answer only if nothing was forgotten since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTicket(u64);

impl SessionCache {
    /// An empty cache.
    pub fn new(policy: SessionCachePolicy) -> Self {
        SessionCache {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    /// The user of the token with this hash, if it is remembered and still usable at `now`.
    pub fn get(&self, token_hash: &str, now: Timestamp) -> Option<User> {
        self.lock()
            .entries
            .get(token_hash)
            .filter(|entry| entry.until > now)
            .map(|entry| entry.user.clone())
    }

    /// Taken before reading a session from the store.
    pub fn ticket(&self) -> ReadTicket {
        ReadTicket(self.lock().generation)
    }

    /// Remembers the session read with `ticket`: usable until its own expiry or the time to
    /// live, whichever comes first. Nothing is kept if something was forgotten since the ticket.
    pub fn remember(
        &self,
        ticket: ReadTicket,
        token_hash: &str,
        user: &User,
        session_expires_at: Timestamp,
        now: Timestamp,
    ) {
        let until = session_expires_at.min(now.plus_millis(self.policy.ttl_ms));
        if until <= now {
            return;
        }
        let mut state = self.lock();
        if state.generation != ticket.0 {
            return;
        }
        if state.entries.len() >= self.policy.max_entries && !state.entries.contains_key(token_hash)
        {
            make_room(&mut state, self.policy.max_entries, now);
        }
        state.entries.insert(
            token_hash.to_owned(),
            Entry {
                user: user.clone(),
                until,
            },
        );
    }

    /// Forgets one session (a log-out).
    pub fn forget_token(&self, token_hash: &str) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.remove(token_hash);
    }

    /// Forgets every session of a user (a deleted user).
    pub fn forget_user(&self, user: UserId) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.retain(|_, entry| entry.user.id != user);
    }

    /// Forgets everything (events about ended sessions may have been missed).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
    }

    /// How many tokens are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops expired entries (at most once a second), then arbitrary ones, until one more fits.
fn make_room(state: &mut State, max_entries: usize, now: Timestamp) {
    let sweep_due = state
        .swept_at
        .is_none_or(|at| now.millis() - at.millis() >= 1_000);
    if sweep_due {
        state.entries.retain(|_, entry| entry.until > now);
        state.swept_at = Some(now);
    }
    while state.entries.len() >= max_entries.max(1) {
        let Some(any) = state.entries.keys().next().cloned() else {
            break;
        };
        state.entries.remove(&any);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{PasswordHash, Role, Username};

    fn user(id: i64) -> User {
        User {
            id: UserId(id),
            username: Username::parse(&format!("user{id}")).unwrap(),
            password_hash: PasswordHash("$2b$12$hash".to_owned()),
            role: Role::Client,
            created_at: Timestamp(0),
            deleted_at: None,
        }
    }

    const T: Timestamp = Timestamp(1_000_000);
    const LATER: Timestamp = Timestamp(1_000_000 + 86_400_000);

    fn cache(max_entries: usize) -> SessionCache {
        SessionCache::new(SessionCachePolicy {
            ttl_ms: 30_000,
            max_entries,
        })
    }

    #[test]
    fn a_session_is_used_until_its_time_to_live_runs_out() {
        let c = cache(10);
        assert_eq!(c.get("h1", T), None);
        c.remember(c.ticket(), "h1", &user(1), LATER, T);
        assert_eq!(
            c.get("h1", T.plus_millis(29_999)).map(|u| u.id),
            Some(UserId(1))
        );
        assert_eq!(c.get("h1", T.plus_millis(30_000)), None);
        assert_eq!(c.get("h2", T), None);
    }

    #[test]
    fn a_session_expiring_sooner_than_the_time_to_live_ends_with_it() {
        let c = cache(10);
        c.remember(c.ticket(), "h1", &user(1), T.plus_millis(500), T);
        assert!(c.get("h1", T.plus_millis(499)).is_some());
        assert_eq!(c.get("h1", T.plus_millis(500)), None);
        // An already expired session is not kept at all.
        c.remember(c.ticket(), "h2", &user(2), T, T);
        assert_eq!(c.get("h2", T.plus_millis(-1)), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_log_out_forgets_its_token_and_a_deletion_every_token_of_the_user() {
        let c = cache(10);
        c.remember(c.ticket(), "ann-1", &user(1), LATER, T);
        c.remember(c.ticket(), "ann-2", &user(1), LATER, T);
        c.remember(c.ticket(), "bob-1", &user(2), LATER, T);
        c.forget_token("ann-1");
        assert_eq!(c.get("ann-1", T), None);
        assert!(c.get("ann-2", T).is_some());
        c.forget_user(UserId(1));
        assert_eq!(c.get("ann-2", T), None);
        assert!(c.get("bob-1", T).is_some());
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn a_read_that_started_before_a_forget_is_not_kept() {
        let c = cache(10);
        let ticket = c.ticket();
        // The session ends while the read is under way...
        c.forget_user(UserId(1));
        // ...so what the read found must not come back.
        c.remember(ticket, "ann-1", &user(1), LATER, T);
        assert_eq!(c.get("ann-1", T), None);
        // A read after the forget is kept.
        c.remember(c.ticket(), "ann-1", &user(1), LATER, T);
        assert!(c.get("ann-1", T).is_some());
    }

    #[test]
    fn memory_is_bounded_expired_entries_first() {
        let c = cache(2);
        c.remember(c.ticket(), "h1", &user(1), T.plus_millis(10), T);
        c.remember(c.ticket(), "h2", &user(2), LATER, T);
        // h1 has expired by now: it makes room.
        c.remember(c.ticket(), "h3", &user(3), LATER, T.plus_millis(20));
        assert_eq!(c.len(), 2);
        assert!(c.get("h2", T.plus_millis(20)).is_some());
        assert!(c.get("h3", T.plus_millis(20)).is_some());
        // Nothing expired: one arbitrary entry goes, the new one is kept.
        c.remember(c.ticket(), "h4", &user(4), LATER, T.plus_millis(30));
        assert_eq!(c.len(), 2);
        assert!(c.get("h4", T.plus_millis(30)).is_some());
    }
}
