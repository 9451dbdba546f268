//! Start-up against the real Postgres: migrations are embedded, applied once, and safe when
//! several instances start together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::ports::{Store, UserStore};
use chat_domain::user::Role;
use chat_postgres::testing::FreshSchema;

#[test]
fn instances_starting_together_migrate_the_schema_once() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let url = schema.url().to_owned();
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

#[derive(diesel::QueryableByName)]
struct RelOptions {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    options: Option<String>,
}

/// Search's GIN index must take inserts directly: with a pending list, the send that finds it
/// full merges it first and stalls for hundreds of milliseconds.
#[test]
fn the_search_index_has_no_pending_list_to_stall_a_send() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let schema = FreshSchema::create().expect("Postgres must be running");
    let url = schema.url().to_owned();
    chat_postgres::migrate(&url).unwrap();
    let mut conn = PgConnection::establish(&url).unwrap();
    let row: RelOptions = diesel::sql_query(
        "SELECT array_to_string(c.reloptions, ',') AS options FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = 'messages_body_fts' AND n.nspname = current_schema()",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(row.options.as_deref(), Some("fastupdate=off"));
}
