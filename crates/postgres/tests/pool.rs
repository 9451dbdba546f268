//! The connection pool against the real Postgres: a pooled connection that died while idle
//! (a restart, an idle timeout, an administrator's kill) is replaced before a call gets it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::ports::UserStore;
use chat_domain::user::Role;
use chat_postgres::testing::{base_url, FreshSchema};
use chat_sql::connection::PING_AFTER;
use diesel::sql_types::Integer;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

fn backend_pid(store: &chat_sql::SqlStore) -> i32 {
    let mut conn = store
        .pool()
        .expect("an open store has its pool")
        .get()
        .unwrap();
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<BackendPid>(&mut **conn)
        .unwrap()
        .pid
}

#[test]
fn a_connection_killed_while_idle_is_replaced_before_use() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let url = schema.url().to_owned();
    let store = chat_postgres::connect(&url, 1).unwrap();
    let before = backend_pid(&store);

    let mut admin = PgConnection::establish(&base_url()).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({before})"))
        .execute(&mut admin)
        .unwrap();
    // Past the window in which a connection is trusted without a ping.
    std::thread::sleep(PING_AFTER + std::time::Duration::from_millis(200));

    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 0);
    assert_ne!(
        backend_pid(&store),
        before,
        "the dead connection was replaced"
    );
}

#[test]
fn a_pending_store_answers_unavailable_at_once_until_it_is_opened() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = chat_postgres::pending();
    let clone = store.clone();

    let started = std::time::Instant::now();
    let err = store.count_active_with_role(Role::Client).unwrap_err();
    assert!(
        matches!(err, chat_domain::DomainError::Unavailable(_)),
        "{err:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // Nothing listens on port 1: the attempt fails and leaves the store pending.
    let unreachable = "postgres://postgres@127.0.0.1:1/postgres";
    assert!(chat_postgres::open_pending(&store, unreachable, 2).is_err());
    assert!(store.pool().is_none());

    chat_postgres::open_pending(&store, schema.url(), 2).unwrap();
    // Migrated, and every clone shares the pool.
    assert_eq!(clone.count_active_with_role(Role::Client).unwrap(), 0);
    // A second call is a no-op.
    chat_postgres::open_pending(&store, unreachable, 2).unwrap();
}

#[test]
fn a_connection_that_died_under_a_statement_is_replaced_at_once() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = chat_postgres::connect(schema.url(), 1).unwrap();
    let before = backend_pid(&store);

    let mut admin = PgConnection::establish(&base_url()).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({before})"))
        .execute(&mut admin)
        .unwrap();
    // Within the window in which the pool trusts it without a ping: the call finds it dead.
    let err = store.count_active_with_role(Role::Client).unwrap_err();
    assert!(
        matches!(err, chat_domain::DomainError::Unavailable(_)),
        "{err:?}"
    );
    // Not handed out again: the next call gets a new connection.
    let started = std::time::Instant::now();
    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 0);
    assert!(started.elapsed() < PING_AFTER, "{:?}", started.elapsed());
    assert_ne!(backend_pid(&store), before);
}

#[test]
fn a_call_waits_at_most_the_checkout_timeout_for_a_connection() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let timeout = std::time::Duration::from_millis(300);
    let store = chat_postgres::connect(schema.url(), 1)
        .unwrap()
        .with_checkout_timeout(timeout);
    assert_eq!(store.checkout_timeout(), timeout);
    let held = store.pool().unwrap().get().unwrap();

    let started = std::time::Instant::now();
    let err = store.count_active_with_role(Role::Client).unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, chat_domain::DomainError::Unavailable(_)),
        "{err:?}"
    );
    assert!(
        waited >= timeout && waited < timeout * 3,
        "waited {waited:?}"
    );
    drop(held);
    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 0);
}
