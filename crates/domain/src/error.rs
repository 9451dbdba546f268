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
    /// The request conflicts with the current state (a taken username, a missing claim, ...).
    #[error("conflict: {0}")]
    Conflict(String),
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
    /// A store or bus could not be reached or failed; nothing the caller did wrong.
    #[error("unavailable: {0}")]
    Unavailable(String),
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

    /// Shorthand for a [`DomainError::Unavailable`] error from any displayable failure.
    pub fn unavailable(err: impl std::fmt::Display) -> Self {
        DomainError::Unavailable(err.to_string())
    }
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;
