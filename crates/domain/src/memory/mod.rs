//! In-memory adapters: a store, an in-process event bus, an in-process log-in throttle and a
//! manual clock. The store is the reference implementation of the store ports' contracts; the
//! bus is also the embedded adapter's production bus and the local half of the Redis bus; the
//! throttle is the production throttle of a single instance and the Redis throttle's fallback.

mod bus;
mod clock;
mod store;
mod throttle;

pub use bus::InProcessBus;
pub use clock::ManualClock;
pub use store::MemoryStore;
pub use throttle::InProcessThrottle;
