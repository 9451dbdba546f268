//! Sessions and password hashing.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::ports::PasswordHasher;
use crate::user::{Password, PasswordHash};
use crate::{DomainError, DomainResult, Timestamp, UserId};

/// An opaque bearer token, as handed to the user once. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh random token (256 bits, hex).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        SessionToken(hex::encode(bytes))
    }

    /// Wraps a token presented by a caller.
    pub fn from_presented(text: &str) -> Self {
        SessionToken(text.trim().to_owned())
    }

    /// The token text, to hand to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token, which is all the store keeps.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// A session about to be stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Its user.
    pub user_id: UserId,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

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
    fn tokens_are_random_and_hashed() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.hash(), a.expose());
        assert_eq!(SessionToken::from_presented(a.expose()).hash(), a.hash());
    }

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
