//! End-to-end tests of the HTTP API: each test starts the real app on a free port over a fresh
//! store (its own Postgres schema, or its own SQLite file) and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod accounts;
mod agent_workflow;
mod attachments;
mod bad_input;
mod clients;
mod credential_cache;
mod documented_bounds;
mod health_and_openapi;
mod hostile_text;
mod inbox;
mod labels;
mod methods;
mod metrics;
mod notes;
mod ratings;
mod readiness;
mod reports;
mod restart;
mod routing;
mod security_headers;
mod seed;
mod threads;
mod throttle;
mod webhooks;
