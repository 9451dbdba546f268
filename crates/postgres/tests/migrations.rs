//! Start-up against the real Postgres: migrations are embedded, applied once, and safe when
//! several instances start together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::ports::{Store, UserStore};
use chat_domain::user::Role;
use chat_postgres::testing::fresh_schema_url;

#[test]
fn instances_starting_together_migrate_the_schema_once() {
    let url = fresh_schema_url().expect("Postgres must be running");
    let applied: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| chat_postgres::migrate(&url).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(applied.iter().filter(|v| !v.is_empty()).count(), 1);
    assert!(chat_postgres::migrate(&url).unwrap().is_empty());
    let store = chat_postgres::connect(&url, 2).unwrap();
    assert_eq!(store.backend_name(), "postgres");
    assert_eq!(store.count_active_with_role(Role::Admin).unwrap(), 0);
}

#[test]
fn an_unreachable_database_is_an_error_not_a_panic() {
    let err = chat_postgres::connect("postgres://postgres@127.0.0.1:1/none", 1).unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}
