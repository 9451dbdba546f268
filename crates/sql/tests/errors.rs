//! How database failures reach the domain: a statement the database refuses on a live connection
//! is our bug (`Internal`, answered 500), never an outage (`Unavailable`, 503, is for an unreachable
//! database or a lost connection). The domain's types refuse such input before a store sees it; these build
//! the store's input by hand, as a forgotten validation would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::canned::NewCannedReply;
use chat_domain::ports::Store;
use chat_domain::{DomainError, Timestamp, UserId};

fn reply_by(created_by: UserId, title: &str) -> NewCannedReply {
    NewCannedReply {
        title: title.to_owned(),
        body: "Hello".to_owned(),
        created_by,
        created_at: Timestamp(1_764_064_800_000),
    }
}

fn assert_internal_and_store_still_serves(store: &dyn Store) {
    // No such user: the foreign key refuses the row.
    match store.insert_canned(reply_by(UserId(999), "Greeting")) {
        Err(DomainError::Internal(_)) => {}
        other => panic!("expected Internal, got {other:?}"),
    }
    // The connection is fine afterwards.
    assert_eq!(store.user_by_username("ann").unwrap(), None);
}

#[test]
fn a_row_postgres_refuses_on_a_live_connection_is_internal_not_unavailable() {
    let schema = chat_postgres::testing::FreshSchema::create().expect("Postgres must be running");
    let store = chat_postgres::connect(schema.url(), 2).unwrap();
    assert_internal_and_store_still_serves(&store);
}

#[test]
fn a_row_sqlite_refuses_is_internal_not_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let store = chat_embedded::open(&dir.path().join("chat.db"), 2).unwrap();
    assert_internal_and_store_still_serves(&store);
}
