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

/// The read marks move from the messages' flags to one mark per thread
/// (`2026-12-05-000000_client_read_marks`) and back, keeping which client messages are read:
/// the thread's list and its unread count read the same before the migration is reverted, after,
/// and after it is applied again to the reverted data.
#[test]
fn the_client_read_marks_migrate_both_ways_keeping_what_is_read() {
    use std::sync::Arc;

    use chat_contract::fixtures::{
        agent, agent_replied, client, minutes, new_message, say, thread,
    };
    use chat_domain::claim::Claim;
    use chat_domain::message::Audience;
    use chat_domain::thread::ThreadType;
    use diesel::{Connection, PgConnection, RunQueryDsl};
    use diesel_migrations::MigrationHarness;

    let schema = FreshSchema::create().expect("Postgres must be running");
    let url = schema.url().to_owned();
    chat_postgres::migrate(&url).unwrap();
    let store: Arc<dyn Store> = Arc::new(chat_postgres::connect(&url, 2).unwrap());
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let answered = thread(&store, &ann, ThreadType::Loan);
    let waiting = thread(&store, &ann, ThreadType::Other);
    say(&store, answered.id, &ann, "one");
    say(&store, answered.id, &ann, "two");
    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    store
        .append_message(new_message(answered.id, &ag, "answer", minutes(1)), &|_| {
            Ok(agent_replied(claim))
        })
        .unwrap();
    say(&store, answered.id, &ann, "three");
    say(&store, waiting.id, &ann, "hello");
    let read = |store: &Arc<dyn Store>| {
        let flags: Vec<(i64, bool)> = store
            .messages_after(answered.id, 0, 10, Audience::Staff)
            .unwrap()
            .iter()
            .map(|m| (m.seq, m.is_read))
            .collect();
        let unread = store
            .unread_client_messages(&[answered.id, waiting.id])
            .unwrap();
        (
            flags,
            unread.get(&answered.id).copied(),
            unread.get(&waiting.id).copied(),
        )
    };
    let expected = (
        vec![(1, true), (2, true), (3, false), (4, false)],
        Some(1),
        Some(1),
    );
    assert_eq!(read(&store), expected);
    drop(store);

    let mut conn = PgConnection::establish(&url).unwrap();
    let reverted = conn
        .revert_last_migration(chat_postgres::MIGRATIONS)
        .unwrap();
    assert_eq!(reverted.to_string(), "20261205000000");
    #[derive(diesel::QueryableByName)]
    struct Flag {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let flagged: Vec<i64> = diesel::sql_query(
        "SELECT seq FROM messages WHERE is_read AND sender_role = 'client' ORDER BY seq",
    )
    .load::<Flag>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|f| f.seq)
    .collect();
    assert_eq!(flagged, vec![1, 2], "the mark went back into the flags");

    assert_eq!(chat_postgres::migrate(&url).unwrap().len(), 1);
    let store: Arc<dyn Store> = Arc::new(chat_postgres::connect(&url, 2).unwrap());
    assert_eq!(read(&store), expected);
}
