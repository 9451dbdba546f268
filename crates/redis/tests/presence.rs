//! Presence on the real Redis (REDIS_URL): the shared contract on two `RedisPresence`
//! instances sharing a fresh prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_contract::presence::PresencePair;
use chat_redis::presence::RedisPresence;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn two_instances() -> PresencePair {
    let prefix = format!("presence-test-{}", uuid::Uuid::new_v4());
    let connect =
        || Arc::new(RedisPresence::connect(&redis_url(), &prefix).expect("Redis must be running"));
    (connect(), connect(), Box::new(()))
}

chat_contract::presence_contract_tests!(two_instances);
