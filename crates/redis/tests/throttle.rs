//! The log-in throttle on the real Redis (REDIS_URL): the shared contract on two
//! `RedisThrottle` instances sharing a fresh prefix, what is stored, and the fallback to the
//! local counts when Redis cannot be reached.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_contract::throttle::{POLICY, T0};
use chat_domain::ports::LoginThrottle;
use chat_domain::throttle::{ThrottleKey, ThrottlePolicy};
use chat_domain::Timestamp;
use chat_redis::throttle::{RedisThrottle, RedisThrottleOptions};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn fresh_prefix() -> String {
    format!("throttle-test-{}", uuid::Uuid::new_v4())
}

fn connect(prefix: &str, policy: ThrottlePolicy) -> RedisThrottle {
    RedisThrottle::connect(
        &redis_url(),
        prefix,
        policy,
        RedisThrottleOptions::default(),
    )
    .expect("Redis must be running for the tests")
}

fn two_instances(policy: ThrottlePolicy) -> (Arc<RedisThrottle>, Arc<RedisThrottle>) {
    let prefix = fresh_prefix();
    (
        Arc::new(connect(&prefix, policy)),
        Arc::new(connect(&prefix, policy)),
    )
}

chat_contract::throttle_contract_tests!(two_instances);

fn keys_under(prefix: &str) -> Vec<String> {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut conn)
        .unwrap();
    keys.sort();
    keys
}

#[test]
fn keys_live_under_the_prefix_and_never_name_the_user_or_address() {
    let prefix = fresh_prefix();
    let throttle = connect(&prefix, POLICY);
    let keys = [
        ThrottleKey::username("ann.secret", Some("192.0.2.55".parse().unwrap())),
        ThrottleKey::Ip("192.0.2.55".parse().unwrap()),
    ];
    throttle.record_failure(&keys, Timestamp(T0));
    let stored = keys_under(&prefix);
    assert_eq!(stored.len(), 2, "{stored:?}");
    for key in &stored {
        assert!(key.starts_with(&format!("{prefix}:throttle:")), "{key}");
        assert!(!key.contains("ann") && !key.contains("192.0.2"), "{key}");
    }
    assert!(stored.contains(&format!(
        "{prefix}:throttle:{}:failures",
        keys[0].fingerprint()
    )));
    // Locking replaces the count by the lock; a success removes the username's keys.
    throttle.record_failure(&keys[..1], Timestamp(T0));
    throttle.record_failure(&keys[..1], Timestamp(T0));
    assert!(
        keys_under(&prefix).contains(&format!("{prefix}:throttle:{}:lock", keys[0].fingerprint()))
    );
    throttle.record_success(&keys, Timestamp(T0 + 1));
    let left = keys_under(&prefix);
    assert_eq!(
        left,
        vec![format!(
            "{prefix}:throttle:{}:failures",
            keys[1].fingerprint()
        )]
    );
}

#[test]
fn unreachable_redis_falls_back_to_this_instances_counts() {
    // Nothing listens on port 1: every contact fails at once (connection refused).
    let throttle = RedisThrottle::new(
        "redis://127.0.0.1:1",
        &fresh_prefix(),
        POLICY,
        RedisThrottleOptions::default(),
    )
    .unwrap();
    let ann = [ThrottleKey::username("ann", None)];
    assert!(throttle.check(&ann, Timestamp(T0)).is_ok());
    assert!(!throttle.is_reachable());
    for _ in 0..3 {
        throttle.record_failure(&ann, Timestamp(T0));
    }
    // Neither open (the limit still holds here) nor closed (others still log in).
    let locked = throttle.check(&ann, Timestamp(T0 + 1)).unwrap_err();
    assert_eq!(locked.retry_after_seconds, 120);
    assert!(throttle
        .check(&[ThrottleKey::username("bob", None)], Timestamp(T0 + 1))
        .is_ok());
}

#[test]
fn connect_fails_when_redis_cannot_be_reached() {
    let err = RedisThrottle::connect(
        "redis://127.0.0.1:1",
        &fresh_prefix(),
        POLICY,
        RedisThrottleOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("redis"), "{err}");
}
