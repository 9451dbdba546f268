//! The support chat's domain: users and roles, threads and messages, the claim (one agent per
//! conversation, as a lease) and the urgency rules, written against ports (stores, event bus, clock,
//! password hasher) that adapters implement.
//!
//! This crate depends on no database, web or Redis crate, nor on an async runtime, so other
//! services can embed it; `chat-memory` has in-memory adapters of every port (and the bcrypt
//! hasher) to embed it with.

#![warn(missing_docs)]

pub mod attachment;
pub mod auth;
pub mod canned;
pub mod claim;
pub mod credentials;
pub mod error;
pub mod event;
pub mod ids;
pub mod inbox;
pub mod label;
pub mod message;
pub mod ports;
pub mod rating;
pub mod report;
pub mod routing;
pub mod search;
pub mod service;
pub mod session_cache;
pub mod sla;
pub mod text;
pub mod thread;
pub mod throttle;
pub mod time;
pub mod urgency;
pub mod user;
pub mod webhook;

pub use error::{Conflict, DomainError, DomainResult};
pub use ids::{CannedReplyId, LabelId, MessageId, RatingId, ThreadId, UserId, WebhookId};
pub use service::{Chat, ChatConfig, WebhookPolicy};
pub use time::{Clock, SystemClock, Timestamp};
