//! The shared event-bus contract, on two `RedisBus` instances sharing a fresh channel prefix on
//! the real Redis (REDIS_URL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_redis::RedisBus;

async fn two_instances() -> (RedisBus, RedisBus) {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("contract-{}", uuid::Uuid::new_v4());
    let a = RedisBus::connect(&url, &prefix)
        .await
        .expect("Redis must be running for the tests");
    let b = RedisBus::connect(&url, &prefix)
        .await
        .expect("Redis must be running for the tests");
    (a, b)
}

chat_contract::bus_contract_tests!(two_instances);
