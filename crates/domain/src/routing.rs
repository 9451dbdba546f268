//! Routing: who is available, how much each agent may hold, and which conversation goes to whom
//! when the desk assigns automatically.

use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult, ThreadId, Timestamp, UserId};

/// Whether an agent (or admin) takes conversations now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// At the desk: the router may assign conversations.
    Online,
    /// Connected but not taking new conversations.
    Away,
    /// Gone: set by the agent, or by presence when no socket of theirs is live.
    Offline,
}

impl Availability {
    /// The stored, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Online => "online",
            Availability::Away => "away",
            Availability::Offline => "offline",
        }
    }

    /// Parses `online`, `away` or `offline` (ASCII case-insensitive, surrounding whitespace
    /// ignored; anything else, control characters included, is refused).
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "online" => Ok(Availability::Online),
            "away" => Ok(Availability::Away),
            "offline" => Ok(Availability::Offline),
            _ => Err(DomainError::invalid(
                "availability",
                format!("unknown availability {text:?}; expected online, away or offline"),
            )),
        }
    }
}

/// How conversations reach agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingMode {
    /// The router assigns waiting conversations to online agents with room.
    Auto,
    /// Agents pull from the queue (claim).
    Manual,
}

impl RoutingMode {
    /// The stored, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingMode::Auto => "auto",
            RoutingMode::Manual => "manual",
        }
    }

    /// Parses `auto` or `manual` (ASCII case-insensitive, surrounding whitespace ignored;
    /// anything else is refused).
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(RoutingMode::Auto),
            "manual" => Ok(RoutingMode::Manual),
            _ => Err(DomainError::invalid(
                "mode",
                format!("unknown routing mode {text:?}; expected auto or manual"),
            )),
        }
    }
}

/// The most conversations an agent may be given at once.
pub const MAX_CAPACITY: u32 = 100;

/// Checks a capacity: 0 to [`MAX_CAPACITY`].
pub fn check_capacity(capacity: i64) -> DomainResult<u32> {
    u32::try_from(capacity)
        .ok()
        .filter(|c| *c <= MAX_CAPACITY)
        .ok_or_else(|| DomainError::invalid("capacity", format!("must be 0 to {MAX_CAPACITY}")))
}

/// Routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingPolicy {
    /// The mode until an admin sets one (stored, it then wins).
    pub default_mode: RoutingMode,
    /// The capacity of an agent without one of their own.
    pub default_capacity: u32,
    /// An agent with no live socket for this long becomes offline.
    pub offline_after_ms: i64,
    /// An offline agent's conversations go back to the router after this long.
    pub reassign_after_ms: i64,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            default_mode: RoutingMode::Manual,
            default_capacity: 5,
            offline_after_ms: 60_000,
            reassign_after_ms: 120_000,
        }
    }
}

/// An agent (or admin) as the router sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// The agent.
    pub agent_id: UserId,
    /// Their username.
    pub username: String,
    /// Whether they take conversations.
    pub availability: Availability,
    /// Their own capacity, or `None` for the default.
    pub capacity: Option<u32>,
    /// Conversations they hold (live claims) now.
    pub held: u32,
    /// When their availability last changed.
    pub availability_changed_at: Option<Timestamp>,
}

/// A conversation the router gave to an agent (a claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The conversation.
    pub thread_id: ThreadId,
    /// The agent who holds it now.
    pub agent_id: UserId,
    /// Their username.
    pub agent_username: String,
    /// When the lease ends unless renewed.
    pub until: Timestamp,
}

/// How a transfer may treat the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCheck {
    /// The receiver must be online with room (the holder's transfer).
    OnlineWithRoom,
    /// Whatever the receiver's availability and load (an admin's forced transfer).
    Force,
}

/// A transfer's optional note: the message-body rule (no control characters, not blank), at
/// most [`TransferNote::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferNote(String);

impl TransferNote {
    /// Longest accepted note, in characters.
    pub const MAX_CHARS: usize = 2000;

    /// Validates a note.
    pub fn parse(text: &str) -> DomainResult<Self> {
        crate::text::check("note", text)?;
        if text.trim().is_empty() {
            return Err(DomainError::invalid("note", "must not be blank"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "note",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(TransferNote(text.to_owned()))
    }

    /// The note as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transferred {
    /// The conversation.
    pub thread_id: ThreadId,
    /// Who held it before.
    pub from: Option<UserId>,
    /// Who holds it now (`None`: back to the queue).
    pub to: Option<UserId>,
    /// The receiver's lease end.
    pub until: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_parse() {
        assert_eq!(Availability::parse("Online"), Ok(Availability::Online));
        assert!(Availability::parse("busy").is_err());
        assert_eq!(RoutingMode::parse("auto"), Ok(RoutingMode::Auto));
        assert!(RoutingMode::parse("robin").is_err());
    }

    #[test]
    fn capacity_and_note_bounds() {
        assert_eq!(check_capacity(0), Ok(0));
        assert_eq!(check_capacity(100), Ok(100));
        assert!(check_capacity(101).is_err());
        assert!(check_capacity(-1).is_err());
        assert!(TransferNote::parse("over to you").is_ok());
        assert!(TransferNote::parse("  ").is_err());
        assert!(TransferNote::parse("a\u{0}").is_err());
        assert!(TransferNote::parse(&"x".repeat(2001)).is_err());
    }
}
