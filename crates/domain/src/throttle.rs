//! Log-in throttling: what failed password checks are counted against, the limits, and the
//! refusal. The port is [`crate::ports::LoginThrottle`].

use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// What failures are counted against.
///
/// A username's failures are counted per client address: a guesser at one address locks that
/// username only for that address, and its owner still logs in from another (no one can keep
/// an agent out of the console by failing their password on purpose). Each address also has
/// its own, higher, limit over every username it tries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The username as presented (trimmed, at most [`ThrottleKey::MAX_USERNAME_CHARS`] kept),
    /// whether or not such a user exists, from one client address (`None` when the address is
    /// not known).
    Username(String, Option<IpAddr>),
    /// The client's address.
    Ip(IpAddr),
}

impl ThrottleKey {
    /// Longer usernames cannot exist; keeping only this many characters bounds each entry.
    pub const MAX_USERNAME_CHARS: usize = 160;

    /// The key of a username presented from `from`.
    pub fn username(presented: &str, from: Option<IpAddr>) -> Self {
        ThrottleKey::Username(
            presented
                .trim()
                .chars()
                .take(Self::MAX_USERNAME_CHARS)
                .collect(),
            from,
        )
    }

    /// Which kind of key: `user` or `ip` (for logs and for shared stores' key names).
    pub fn kind(&self) -> &'static str {
        match self {
            ThrottleKey::Username(..) => "user",
            ThrottleKey::Ip(_) => "ip",
        }
    }

    /// `<kind>:<hex SHA-256 of the username (and address) or the address>`: a name for the key
    /// that a shared store may keep without keeping the username or address itself (both are
    /// personal data).
    pub fn fingerprint(&self) -> String {
        let digest = match self {
            ThrottleKey::Username(name, None) => Sha256::digest(name.as_bytes()),
            ThrottleKey::Username(name, Some(ip)) => {
                Sha256::digest(format!("{name}\n{ip}").as_bytes())
            }
            ThrottleKey::Ip(ip) => Sha256::digest(ip.to_string().as_bytes()),
        };
        format!("{}:{}", self.kind(), hex::encode(digest))
    }
}

/// The limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one username from one address, within one window, that lock it there.
    pub max_failures_per_username: u32,
    /// Failures from one IP, within one window, that lock it.
    pub max_failures_per_ip: u32,
    /// The window failures are counted in, from the first one, in milliseconds.
    pub window_ms: i64,
    /// How long a locked key stays locked, from the failure that locked it, in milliseconds.
    pub lockout_ms: i64,
}

impl ThrottlePolicy {
    /// The failures that lock this key.
    pub fn max_failures(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Username(..) => self.max_failures_per_username,
            ThrottleKey::Ip(_) => self.max_failures_per_ip,
        }
    }
}

/// A refusal: the caller may try again after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Seconds until the lockout ends, rounded up.
    pub retry_after_seconds: u64,
}

impl Locked {
    /// The refusal for a lockout ending at `until_ms`, seen at `now_ms` (`None` if it has ended).
    pub fn until(until_ms: i64, now_ms: i64) -> Option<Self> {
        (until_ms > now_ms).then(|| Locked {
            retry_after_seconds: u64::try_from((until_ms - now_ms).saturating_add(999) / 1000)
                .unwrap_or(1)
                .max(1),
        })
    }
}
