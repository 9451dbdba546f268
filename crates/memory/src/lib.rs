//! In-memory and in-process adapters of `chat-domain`'s ports: a store, an in-process event bus,
//! an in-process log-in throttle, a manual clock and the bcrypt password hasher. The store is the
//! reference implementation of the store ports' contracts; the bus is also the embedded adapter's
//! production bus and the local half of the Redis bus; the throttle is the production throttle of
//! a single instance and the Redis throttle's fallback. With these, another service can embed
//! the chat with no database, web framework or Redis.

#![warn(missing_docs)]

mod blobs;
mod bus;
mod clock;
mod hasher;
mod presence;
mod reports;
mod routing_store;
mod sla;
mod store;
mod throttle;
mod webhooks;

pub use blobs::MemoryBlobs;
pub use bus::InProcessBus;
pub use clock::ManualClock;
pub use hasher::BcryptHasher;
pub use presence::InProcessPresence;
pub use store::MemoryStore;
pub use throttle::InProcessThrottle;
