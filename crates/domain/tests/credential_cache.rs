//! The verified-credential cache through `Chat`: a password verified once for a user is accepted
//! again without bcrypt until it expires, and only on the repeated-credentials path (the seed's
//! endpoints); log-in always checks bcrypt.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chat_domain::credentials::CredentialCachePolicy;
use chat_domain::ports::PasswordHasher;
use chat_domain::user::{Password, PasswordHash, Role};
use chat_domain::{Chat, ChatConfig, DomainError, DomainResult, Timestamp};
use chat_memory::{BcryptHasher, InProcessBus, ManualClock, MemoryStore};

/// bcrypt at cost 4, counting its verifications.
struct CountingHasher {
    inner: BcryptHasher,
    verifications: AtomicUsize,
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &Password) -> DomainResult<PasswordHash> {
        self.inner.hash(password)
    }

    fn verify(&self, password: &str, hash: &PasswordHash) -> bool {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, hash)
    }
}

#[test]
fn a_verified_password_skips_bcrypt_until_it_expires_and_only_for_repeated_credentials() {
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let hasher = Arc::new(CountingHasher {
        inner: BcryptHasher::new(4).unwrap(),
        verifications: AtomicUsize::new(0),
    });
    let config = ChatConfig {
        credential_cache: Some(CredentialCachePolicy {
            ttl_ms: 60_000,
            max_entries: 100,
        }),
        ..ChatConfig::default()
    };
    let chat = Chat::new(
        Arc::new(MemoryStore::new()),
        Arc::new(InProcessBus::default()),
        clock.clone(),
        hasher.clone(),
        config,
    )
    .unwrap();
    chat.sign_up(None, "ann", "password-123", Role::Client)
        .unwrap();
    let checks = || hasher.verifications.load(Ordering::SeqCst);

    let before = checks();
    chat.authenticate_password_repeatedly("ann", "password-123")
        .unwrap();
    assert_eq!(checks(), before + 1, "the first check runs bcrypt");
    for _ in 0..5 {
        chat.authenticate_password_repeatedly("ann", "password-123")
            .unwrap();
    }
    assert_eq!(checks(), before + 1, "later ones are remembered");

    // A wrong password runs bcrypt and fails, every time.
    assert_eq!(
        chat.authenticate_password_repeatedly("ann", "password-999")
            .err(),
        Some(DomainError::Unauthenticated)
    );
    assert_eq!(checks(), before + 2);

    // Log-in is not the repeated-credentials path: bcrypt every time.
    chat.log_in("ann", "password-123").unwrap();
    assert_eq!(checks(), before + 3);

    // After the time to live, bcrypt again (then remembered again).
    clock.advance_millis(60_000);
    chat.authenticate_password_repeatedly("ann", "password-123")
        .unwrap();
    chat.authenticate_password_repeatedly("ann", "password-123")
        .unwrap();
    assert_eq!(checks(), before + 4);
}
