//! The bcrypt password hasher.

use chat_domain::ports::PasswordHasher;
use chat_domain::user::{Password, PasswordHash};
use chat_domain::{DomainError, DomainResult};

/// bcrypt, at a configurable cost.
#[derive(Debug, Clone, Copy)]
pub struct BcryptHasher {
    cost: u32,
}

impl BcryptHasher {
    /// Production default cost.
    pub const DEFAULT_COST: u32 = 12;
    /// Lowest cost allowed outside tests.
    pub const MIN_PRODUCTION_COST: u32 = 10;

    /// A hasher at `cost` (bcrypt accepts 4 to 31).
    pub fn new(cost: u32) -> DomainResult<Self> {
        if !(4..=31).contains(&cost) {
            return Err(DomainError::invalid(
                "bcrypt_cost",
                "must be between 4 and 31",
            ));
        }
        Ok(BcryptHasher { cost })
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

impl PasswordHasher for BcryptHasher {
    fn hash(&self, password: &Password) -> DomainResult<PasswordHash> {
        bcrypt::hash(password.expose(), self.cost)
            .map(PasswordHash)
            .map_err(DomainError::unavailable)
    }

    fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        // bcrypt reads at most 72 bytes; a longer candidate can never be a stored password.
        password.len() <= Password::MAX_BYTES && bcrypt::verify(password, &hash.0).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_verifies_and_refuses_over_long_candidates() {
        let hasher = BcryptHasher::new(4).unwrap();
        let pw = Password::parse("correct horse").unwrap();
        let hash = hasher.hash(&pw).unwrap();
        assert!(hasher.verify("correct horse", &hash));
        assert!(!hasher.verify("wrong horse", &hash));
        assert!(!hasher.verify(&"x".repeat(100), &hash));
    }
}
