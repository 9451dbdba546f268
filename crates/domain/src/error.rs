//! The one error type of the domain, in domain words.

use crate::{ThreadId, Timestamp, UserId};

/// What went wrong, as the domain sees it. Adapters map their failures onto these cases and the
/// HTTP layer maps these cases onto status codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The named thing does not exist (or the actor may not know that it does).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// No valid credentials were given.
    #[error("invalid credentials")]
    Unauthenticated,
    /// The actor is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An input failed validation; `field` names it.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The input field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The request conflicts with the current state, for a reason clients can branch on.
    #[error("{0}")]
    Conflict(Conflict),
    /// The thread is claimed by another agent until the given time.
    #[error("thread {thread} is claimed by agent {holder} until {until}")]
    Claimed {
        /// The thread at stake.
        thread: ThreadId,
        /// The agent holding the claim.
        holder: UserId,
        /// When the holder's lease ends unless renewed.
        until: Timestamp,
    },
    /// A store or bus could not be reached (a lost connection, an exhausted pool); nothing the
    /// caller did wrong, and worth retrying.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug: a store refused what the domain let through, or stored data it cannot read. The
    /// cause is for the log, never for the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a request conflicts with the current state: each case is one a client may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another user (deleted ones included) has this username.
    #[error("the username is taken")]
    UsernameTaken,
    /// The thread is resolved: it cannot be claimed until the client writes again.
    #[error("the thread is resolved")]
    ThreadResolved,
    /// The actor holds no claim on the thread (claim it before replying, renewing or releasing).
    #[error("you do not hold a claim on this thread; claim it first")]
    NotClaimHolder,
    /// The client already has an unresolved thread of this type.
    #[error("the client has another open thread of this type")]
    OpenThreadExists,
    /// The `client_message_id` names a message the sender already sent in another thread.
    #[error("this client_message_id names a message already sent in another thread")]
    ClientMessageIdReused,
    /// The agent a conversation was to go to is not online, or holds as many as their capacity.
    #[error("that agent is not online with room for another conversation")]
    AgentUnavailable,
    /// Another label has this name (ignoring the case of ASCII letters).
    #[error("a label with this name exists")]
    LabelTaken,
    /// Only a resolved thread can be rated.
    #[error("the thread is not resolved")]
    ThreadNotResolved,
    /// The client already rated this resolution of the thread.
    #[error("this resolution is already rated")]
    AlreadyRated,
}

impl Conflict {
    /// The stable snake_case code clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::UsernameTaken => "username_taken",
            Conflict::ThreadResolved => "thread_resolved",
            Conflict::NotClaimHolder => "not_claim_holder",
            Conflict::OpenThreadExists => "open_thread_exists",
            Conflict::ClientMessageIdReused => "client_message_id_reused",
            Conflict::AgentUnavailable => "agent_unavailable",
            Conflict::LabelTaken => "label_taken",
            Conflict::ThreadNotResolved => "thread_not_resolved",
            Conflict::AlreadyRated => "already_rated",
        }
    }
}

impl DomainError {
    /// Shorthand for an [`DomainError::Invalid`] error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Shorthand for a [`DomainError::Forbidden`] error.
    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }

    /// Shorthand for a [`DomainError::Internal`] error from any displayable failure.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        DomainError::Internal(err.to_string())
    }

    /// Shorthand for a [`DomainError::Unavailable`] error from any displayable failure.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        DomainError::Unavailable(err.to_string())
    }
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;
