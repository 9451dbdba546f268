//! The store ports over diesel, written once for Postgres and SQLite.
//!
//! [`DbConnection`] is a diesel `MultiConnection`: an enum of a `PgConnection` and a
//! `SqliteConnection` with a backend of its own, so every query in [`store`] is written once with
//! diesel's DSL and runs on either database. Only what truly differs is matched on the variant:
//! full-text search (see `store::search`) and how a write transaction begins
//! ([`connection::write_transaction`]). The `chat-postgres` and `chat-embedded` crates build the
//! pool (with their migrations and connection settings) and hand it to [`SqlStore::new`].

pub mod connection;
mod error;
mod rows;
pub mod schema;
pub mod setup;
pub mod store;

pub use connection::{Backend, CheckedConnection, DbConnection, DbConnectionManager, DbPool};
pub use setup::SetupError;
pub use store::{AppendBatching, CheckoutObserver, SqlStore};
