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

#[derive(diesel::QueryableByName)]
struct Cleaned {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pages: i64,
}

/// Moves message search's pending list into its index now: the pages it moved.
fn clean_pending_list(conn: &mut diesel::PgConnection) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT gin_clean_pending_list('messages_body_fts'::regclass) AS pages")
        .get_result::<Cleaned>(conn)
        .unwrap()
        .pages
}

/// Search's GIN index takes a send's words through its pending list (the cheap insert), and the
/// store's upkeep moves the list into the index in the background, so that no send finds it full
/// and merges it itself: without the upkeep the sends leave pages pending; with it, the upkeep
/// moves them and none is left; search finds the messages either way.
#[test]
fn sends_go_through_the_search_pending_list_and_the_upkeep_empties_it() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use chat_contract::fixtures::{client, say, thread};
    use chat_domain::search::{SearchQuery, SearchScope};
    use chat_domain::thread::ThreadType;
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
    assert_eq!(row.options.as_deref(), Some("fastupdate=on"));

    let found = |store: &Arc<dyn Store>, word: &str| {
        let query = SearchQuery::new(word, SearchScope::All, 50).unwrap();
        store.search(&query).unwrap().len()
    };
    let quiet = chat_postgres::connect(&url, 2)
        .unwrap()
        .with_search_upkeep(None);
    let quiet: Arc<dyn Store> = Arc::new(quiet);
    let ann = client(&quiet, "ann");
    let loan = thread(&quiet, &ann, ThreadType::Loan);
    for _ in 0..20 {
        say(&quiet, loan.id, &ann, "pending parcel");
    }
    assert_eq!(
        found(&quiet, "parcel"),
        20,
        "search reads the pending list too"
    );
    assert!(
        clean_pending_list(&mut conn) > 0,
        "the sends left their words pending"
    );
    drop(quiet);

    let kept = chat_postgres::connect(&url, 2)
        .unwrap()
        .with_search_upkeep(Some(Duration::from_millis(20)));
    let kept = Arc::new(kept);
    let store: Arc<dyn Store> = kept.clone();
    for _ in 0..20 {
        say(&store, loan.id, &ann, "indexed invoice");
    }
    // The upkeep cleans every 20 ms. Wait for its next cleaning (the one that may have begun
    // before the last send was stored), then for one more: either finds the list empty (the
    // count stays) or empties it.
    for turns in [150, 50] {
        let cleaned = kept.search_pages_cleaned();
        let until = Instant::now() + Duration::from_millis(20) * turns;
        while kept.search_pages_cleaned() == cleaned && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(
        kept.search_pages_cleaned() > 0,
        "the upkeep never cleaned the list"
    );
    assert_eq!(
        clean_pending_list(&mut conn),
        0,
        "the upkeep left nothing pending"
    );
    assert_eq!(found(&store, "invoice"), 20);
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
    // Back to before the read marks (reverting whatever came after them first).
    let mut reverted = 0;
    while conn
        .revert_last_migration(chat_postgres::MIGRATIONS)
        .unwrap()
        .to_string()
        != "20261205000000"
    {
        reverted += 1;
        assert!(reverted < 10, "the read marks' migration was not found");
    }
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

    assert_eq!(chat_postgres::migrate(&url).unwrap().len(), reverted + 1);
    let store: Arc<dyn Store> = Arc::new(chat_postgres::connect(&url, 2).unwrap());
    assert_eq!(read(&store), expected);
}
