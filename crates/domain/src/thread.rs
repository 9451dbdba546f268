//! Conversation threads: one client, one topic, at most one agent holding it at a time.

use serde::{Deserialize, Serialize};

use crate::claim::Claim;
use crate::urgency::Urgency;
use crate::{DomainError, DomainResult, ThreadId, Timestamp, UserId};

/// The topic of a thread, numbered as the seed app numbered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadType {
    /// 1: loans.
    Loan,
    /// 2: payments.
    Payment,
    /// 3: anything else.
    Other,
}

impl ThreadType {
    /// All topics, in the seed's order.
    pub const ALL: [ThreadType; 3] = [ThreadType::Loan, ThreadType::Payment, ThreadType::Other];

    /// The seed's number for the topic.
    pub fn code(self) -> i16 {
        match self {
            ThreadType::Loan => 1,
            ThreadType::Payment => 2,
            ThreadType::Other => 3,
        }
    }

    /// The topic for a seed number.
    pub fn from_code(code: i64) -> DomainResult<Self> {
        match code {
            1 => Ok(ThreadType::Loan),
            2 => Ok(ThreadType::Payment),
            3 => Ok(ThreadType::Other),
            _ => Err(Self::unknown(&code.to_string())),
        }
    }

    /// Parses a number (`1`) or a name (`loan`).
    pub fn parse(text: &str) -> DomainResult<Self> {
        let text = text.trim();
        if let Ok(code) = text.parse::<i64>() {
            return Self::from_code(code);
        }
        match text.to_ascii_lowercase().as_str() {
            "loan" => Ok(ThreadType::Loan),
            "payment" => Ok(ThreadType::Payment),
            "other" => Ok(ThreadType::Other),
            _ => Err(Self::unknown(text)),
        }
    }

    /// The lowercase name of the topic.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadType::Loan => "loan",
            ThreadType::Payment => "payment",
            ThreadType::Other => "other",
        }
    }

    fn unknown(text: &str) -> DomainError {
        DomainError::invalid(
            "thread_type",
            format!("unknown thread type {text:?}; expected 1 (loan), 2 (payment) or 3 (other)"),
        )
    }
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadStatus {
    /// Waiting on the desk.
    Open,
    /// Answered; waiting on the client.
    Pending,
    /// Done. A client writing again reopens it.
    Resolved,
}

impl ThreadStatus {
    /// The stored name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadStatus::Open => "open",
            ThreadStatus::Pending => "pending",
            ThreadStatus::Resolved => "resolved",
        }
    }

    /// Parses a stored or requested status name.
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(ThreadStatus::Open),
            "pending" => Ok(ThreadStatus::Pending),
            "resolved" => Ok(ThreadStatus::Resolved),
            _ => Err(DomainError::invalid(
                "status",
                format!("unknown status {text:?}; expected open, pending or resolved"),
            )),
        }
    }
}

/// A stored conversation thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// Its identifier.
    pub id: ThreadId,
    /// The client who opened it.
    pub client_id: UserId,
    /// Its topic.
    pub thread_type: ThreadType,
    /// Where it stands.
    pub status: ThreadStatus,
    /// The agent's claim on it, if any (it may have expired: see [`Thread::live_claim`]).
    pub claim: Option<Claim>,
    /// The last agent who held it (kept after release: the seed's `thread.agent`).
    pub agent_id: Option<UserId>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When something last happened in it.
    pub last_activity_at: Timestamp,
    /// The sequence number of its latest message (0 when it has none).
    pub last_seq: i64,
    /// Since when the client has been waiting for an answer (its oldest unanswered message).
    pub waiting_since: Option<Timestamp>,
    /// How urgent its unanswered messages are, without the waiting time.
    pub urgency: Urgency,
}

impl Thread {
    /// The claim, if it is still live at `now`.
    pub fn live_claim(&self, now: Timestamp) -> Option<&Claim> {
        self.claim.as_ref().filter(|c| c.is_live(now))
    }

    /// Whether `agent` holds a live claim on the thread at `now`.
    pub fn is_held_by(&self, agent: UserId, now: Timestamp) -> bool {
        self.live_claim(now).is_some_and(|c| c.agent_id == agent)
    }
}

/// The state a store writes back onto a thread when a message is appended to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadPatch {
    /// The new status.
    pub status: ThreadStatus,
    /// The new claim.
    pub claim: Option<Claim>,
    /// The new last agent.
    pub agent_id: Option<UserId>,
    /// The new waiting start.
    pub waiting_since: Option<Timestamp>,
    /// The new urgency.
    pub urgency: Urgency,
    /// The queue's sort key for that urgency (see [`crate::urgency::UrgencyRules::rank_key`]).
    pub rank_key: i64,
    /// Mark the client's messages in the thread as read (an agent answered them).
    pub mark_client_messages_read: bool,
}
