//! How many sockets each user has open on this instance, to cap them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chat_domain::UserId;

/// Open sockets per user on this instance.
#[derive(Debug, Default, Clone)]
pub struct SocketRegistry {
    open: Arc<Mutex<HashMap<UserId, usize>>>,
}

/// One open socket; the count goes down when it is dropped.
#[derive(Debug)]
pub struct SocketPermit {
    registry: SocketRegistry,
    user: UserId,
}

impl SocketRegistry {
    /// Counts a new socket for `user`, unless it already has `max` open.
    pub fn try_open(&self, user: UserId, max: usize) -> Option<SocketPermit> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(SocketPermit {
            registry: self.clone(),
            user,
        })
    }

    /// How many sockets `user` has open.
    pub fn open_for(&self, user: UserId) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&user).copied().unwrap_or(0)
    }

    /// The users with at least one socket open.
    pub fn users(&self) -> Vec<UserId> {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.keys().copied().collect()
    }

    /// How many sockets are open in all.
    pub fn total(&self) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.values().sum()
    }
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut open = self
            .registry
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_capped_per_user_and_returned_on_drop() {
        let reg = SocketRegistry::default();
        let a = reg.try_open(UserId(1), 2);
        let b = reg.try_open(UserId(1), 2);
        assert!(a.is_some() && b.is_some());
        assert!(reg.try_open(UserId(1), 2).is_none());
        assert!(reg.try_open(UserId(2), 2).is_some());
        drop(a);
        assert_eq!(reg.open_for(UserId(1)), 1);
        assert!(reg.try_open(UserId(1), 2).is_some());
        drop(b);
        assert_eq!(reg.total(), 0);
    }
}
