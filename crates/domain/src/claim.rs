//! The claim: one agent per conversation, as a lease that expires unless renewed.

use serde::{Deserialize, Serialize};

use crate::{Timestamp, UserId};

/// An agent's hold on a thread, valid until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The agent holding the thread.
    pub agent_id: UserId,
    /// When the lease ends unless renewed.
    pub until: Timestamp,
}

impl Claim {
    /// Whether the lease still holds at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.until > now
    }
}

/// How long a claim lasts without renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPolicy {
    /// Lease length, in milliseconds.
    pub lease_ms: i64,
}

impl Default for ClaimPolicy {
    fn default() -> Self {
        ClaimPolicy {
            lease_ms: 5 * 60 * 1000,
        }
    }
}

impl ClaimPolicy {
    /// The end of a lease taken or renewed at `now`.
    pub fn lease_end(&self, now: Timestamp) -> Timestamp {
        now.plus_millis(self.lease_ms)
    }
}

/// Whose claim an agent may take (see [`crate::thread::Thread::on_claim`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMode {
    /// A free thread, one whose lease ran out, or the agent's own (a renewal); another agent's
    /// live claim refuses it.
    Take,
    /// Whoever holds it: an admin's take-over.
    TakeOver,
}

/// What a store answers to an attempt to take a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAttempt {
    /// The claim is the caller's (newly taken, or renewed if it already held it).
    Won(Claim),
    /// Another agent holds a live claim.
    Held(Claim),
}

/// A claim that ended because its lease ran out, as reported by the store's sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredClaim {
    /// The thread that is free again.
    pub thread_id: crate::ThreadId,
    /// The agent whose lease ran out.
    pub agent_id: UserId,
}
