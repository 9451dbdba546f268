//! Live chat end to end: real `chat-server` processes sharing Postgres and Redis, driven over
//! REST and WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod chat;
mod close;
mod expiry;
mod frames;
mod notes;
mod outage;
mod redis_restart;
mod refusals;
mod resume;
mod routing;
mod sessions;
mod shutdown;
mod slow_consumer;
mod startup;
mod transport;
