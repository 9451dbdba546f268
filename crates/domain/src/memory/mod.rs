//! In-memory adapters: a store, an in-process event bus and a manual clock. The store is the
//! reference implementation of the store ports' contracts; the bus is also the embedded
//! adapter's production bus and the local half of the Redis bus.

mod bus;
mod clock;
mod store;

pub use bus::InProcessBus;
pub use clock::ManualClock;
pub use store::MemoryStore;
