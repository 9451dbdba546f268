//! Users and their roles, with validated usernames and passwords.

use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult, Timestamp, UserId};

/// What a user is to the support desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A customer who writes in.
    Client,
    /// Support staff who answer clients.
    Agent,
    /// Staff who also manage users, canned replies and claims.
    Admin,
}

impl Role {
    /// The stored, lowercase name of the role.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name, case-insensitively (the seed app used both `client` and `AGENT`).
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "client" => Ok(Role::Client),
            "agent" => Ok(Role::Agent),
            "admin" => Ok(Role::Admin),
            _ => Err(DomainError::invalid(
                "role",
                format!("unknown role {text:?}; expected client, agent or admin"),
            )),
        }
    }

    /// Whether the role answers clients (agents and admins).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A username: 1 to 150 characters of letters, digits and `@.+-_` (as Django allows).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Longest accepted username, in characters.
    pub const MAX_CHARS: usize = 150;

    /// Validates a username.
    pub fn parse(text: &str) -> DomainResult<Self> {
        crate::text::check("username", text)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::invalid("username", "must not be empty"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "username",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(DomainError::invalid(
                "username",
                "may contain only letters, digits and @ . + - _",
            ));
        }
        Ok(Username(text.to_owned()))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two usernames are compared in for uniqueness: ASCII letters lowercased, every
    /// other character as is (`Maria_New` and `maria_new` are one name; `É` and `é` are two, as
    /// on every store: SQLite's `lower()` folds ASCII only). Log-in still matches exactly.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A plain-text password on its way to the hasher: at least 8 characters (as the sign-up page
/// says) and at most 72 bytes of UTF-8 (bcrypt reads no more than 72, so longer ones are
/// refused rather than silently cut). Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters (a character is at least one byte, so this
    /// is at least 8 bytes too).
    pub const MIN_CHARS: usize = 8;
    /// Longest accepted password, in bytes (bcrypt's limit).
    pub const MAX_BYTES: usize = 72;

    /// Validates a new password (control characters are refused, as in every text).
    pub fn parse(text: &str) -> DomainResult<Self> {
        crate::text::check("password", text)?;
        if text.chars().count() < Self::MIN_CHARS {
            return Err(DomainError::invalid(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if text.len() > Self::MAX_BYTES {
            return Err(DomainError::invalid(
                "password",
                format!("must be at most {} bytes (bcrypt's limit)", Self::MAX_BYTES),
            ));
        }
        Ok(Password(text.to_owned()))
    }

    /// The password text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password hash (bcrypt's modular crypt format). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its identifier.
    pub id: UserId,
    /// Its unique username.
    pub username: Username,
    /// The bcrypt hash of its password.
    pub password_hash: PasswordHash,
    /// What it is to the desk.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was (softly) deleted, if it was.
    pub deleted_at: Option<Timestamp>,
}

impl User {
    /// Whether the user is deleted (it then can neither log in nor act).
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A user about to be stored.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its username, unique among all users, deleted ones included.
    pub username: Username,
    /// The hash of its password.
    pub password_hash: PasswordHash,
    /// Its role.
    pub role: Role,
    /// The creation time.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(Role::parse("AGENT"), Ok(Role::Agent));
        assert_eq!(Role::parse("client"), Ok(Role::Client));
        assert!(Role::parse("boss").is_err());
    }

    #[test]
    fn passwords_over_72_bytes_are_refused_not_cut() {
        assert!(Password::parse(&"a".repeat(72)).is_ok());
        assert!(Password::parse(&"a".repeat(73)).is_err());
        assert!(Password::parse("short").is_err());
        // At least 8 characters, not 8 bytes: two 4-byte characters are too short.
        assert!(Password::parse("😀😀").is_err());
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse("éééééééé").is_ok());
        // At most 72 bytes, not characters: 37 two-byte characters are 74 bytes.
        assert!(Password::parse(&"é".repeat(36)).is_ok());
        assert!(Password::parse(&"é".repeat(37)).is_err());
    }

    #[test]
    fn usernames_are_validated() {
        assert!(Username::parse("alice.b+c@x").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
    }
}
