//! Sessions: bearer tokens and what the store keeps of them.

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Timestamp, UserId};

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

/// A live session as the store answers it: its user, and until when it is accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionUser {
    /// The session's user (not deleted).
    pub user: crate::user::User,
    /// When the session stops being accepted.
    pub expires_at: Timestamp,
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
}
