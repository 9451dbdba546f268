//! Presence in one process: the embedded default's, where there is one instance.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use chat_domain::ports::Presence;
use chat_domain::{DomainResult, Timestamp, UserId};

/// Who has a live socket, per (user, instance), until when; entries lapse by themselves.
#[derive(Debug, Default)]
pub struct InProcessPresence {
    until: Mutex<HashMap<(UserId, String), Timestamp>>,
}

impl InProcessPresence {
    /// Nobody present.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Presence for InProcessPresence {
    fn beat(
        &self,
        users: &[UserId],
        instance: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> DomainResult<()> {
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        // Lapsed entries go, so the map holds only who is present.
        map.retain(|_, t| *t > now);
        for &user in users {
            map.insert((user, instance.to_owned()), until);
        }
        Ok(())
    }

    fn leave(&self, user: UserId, instance: &str) -> DomainResult<()> {
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&(user, instance.to_owned()));
        Ok(())
    }

    fn present(&self, users: &[UserId], now: Timestamp) -> DomainResult<HashSet<UserId>> {
        let map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .iter()
            .filter(|((user, _), until)| **until > now && users.contains(user))
            .map(|((user, _), _)| *user)
            .collect())
    }

    fn backend_name(&self) -> &'static str {
        "in-process"
    }
}
