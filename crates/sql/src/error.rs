//! How database failures become domain errors.

use chat_domain::DomainError;
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
            StoreError::Db(err) if is_unique_violation(&err) => {
                DomainError::Conflict(err.to_string())
            }
            StoreError::Db(err) => DomainError::unavailable(err),
            StoreError::Domain(err) => err,
            StoreError::DuplicateClientMessage => {
                DomainError::Conflict("the client message id was used before".to_owned())
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

/// `err` as a [`DomainError::Conflict`] with `message` if it is a unique violation.
pub(crate) fn conflict_if_unique(err: DieselError, message: impl FnOnce() -> String) -> StoreError {
    if is_unique_violation(&err) {
        StoreError::Domain(DomainError::Conflict(message()))
    } else {
        StoreError::Db(err)
    }
}

/// A stored value the domain cannot read back.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Domain(DomainError::Unavailable(format!(
        "stored {what} is not valid: {err}"
    )))
}
