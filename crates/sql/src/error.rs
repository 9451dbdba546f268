//! How database failures become domain errors.

use chat_domain::{Conflict, DomainError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a query or transaction can fail with inside this crate.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// The database refused or could not run a statement.
    Db(DieselError),
    /// A domain rule (or the caller's patch) refused.
    Domain(DomainError),
    /// The sender already stored a message with this client message id (the append rolled back).
    DuplicateClientMessage,
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        StoreError::Db(err)
    }
}

impl From<DomainError> for StoreError {
    fn from(err: DomainError) -> Self {
        StoreError::Domain(err)
    }
}

impl From<StoreError> for DomainError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Db(err) if is_connection_loss(&err) => DomainError::unavailable(err),
            // Anything else the database refuses is input the domain should have refused, or
            // a query of ours that is wrong: a bug, not an outage.
            StoreError::Db(err) => DomainError::internal(err),
            StoreError::Domain(err) => err,
            StoreError::DuplicateClientMessage => {
                DomainError::Conflict(Conflict::ClientMessageIdReused)
            }
        }
    }
}

/// Whether the database refused a write because of a unique constraint or index.
pub(crate) fn is_unique_violation(err: &DieselError) -> bool {
    matches!(
        err,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether `err` says the connection (or the database behind it) went away or is busy: an
/// outage the caller may retry, not a bug.
pub(crate) fn is_connection_loss(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::SerializationFailure => true,
            // SQLite's busy_timeout ran out: another writer held the lock too long.
            _ => info.message().contains("database is locked"),
        },
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// `err` as `conflict` if it is a unique violation.
pub(crate) fn conflict_if_unique(err: DieselError, conflict: Conflict) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Domain(DomainError::Conflict(conflict))
    } else {
        StoreError::Db(err)
    }
}

/// A stored value the domain cannot read back.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Domain(DomainError::Internal(format!(
        "stored {what} is not valid: {err}"
    )))
}
