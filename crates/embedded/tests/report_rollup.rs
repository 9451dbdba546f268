//! The reports' rollup on SQLite: its buckets are the domain's, and rebuilding it from the
//! stored rows (the migration's backfill) gives what its triggers kept while the desk worked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_domain::ports::Store;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, RunQueryDsl, SqliteConnection};

const UP: &str = include_str!("../../../migrations/sqlite/2026-12-01-000002_report_rollup/up.sql");
const DOWN: &str =
    include_str!("../../../migrations/sqlite/2026-12-01-000002_report_rollup/down.sql");

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(diesel::QueryableByName)]
struct Bound {
    #[diesel(sql_type = BigInt)]
    lo: i64,
}

/// Both rollup tables, one text line per row, in order (openings moved to zero left out: the
/// backfill never writes them).
fn rollup(conn: &mut SqliteConnection) -> Vec<Line> {
    diesel::sql_query(
        "SELECT day || ' ' || fact || ' ' || thread_type || ' ' || agent_id || ' ' || n || ' ' \
         || answered || ' ' || total || ' ' || measured || ' ' || met AS line \
         FROM report_daily WHERE n <> 0 \
         UNION ALL SELECT dim || ' ' || kind || ' ' || day || ' ' || key || ' ' || bucket || ' ' || n \
         FROM report_hist ORDER BY 1",
    )
    .load(conn)
    .unwrap()
}

/// A connection of the test's own beside the store's pool, waiting (as the pool's do) while
/// one of the pool's connections holds the file's lock: the pool opens its connections in the
/// background, and each sets up the file as it opens.
fn beside_the_store(path: &std::path::Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(&path.display().to_string()).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000").unwrap();
    conn
}

#[test]
fn the_rollup_rebuilt_from_stored_rows_equals_the_one_the_triggers_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let store: Arc<dyn Store> = Arc::new(chat_embedded::open(&path, 2).unwrap());
    chat_contract::store::desk(&store);
    let mut conn = beside_the_store(&path);
    let kept = rollup(&mut conn);
    assert!(kept.len() > 40, "{kept:?}");
    conn.batch_execute(DOWN).unwrap();
    conn.batch_execute(UP).unwrap();
    assert_eq!(rollup(&mut conn), kept);
}

#[test]
fn the_rollup_buckets_are_the_domains() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    chat_embedded::open(&path, 1).unwrap();
    let mut conn = beside_the_store(&path);
    let bounds: Vec<i64> = diesel::sql_query("SELECT lo FROM report_buckets ORDER BY bucket")
        .load::<Bound>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|b| b.lo)
        .collect();
    assert_eq!(bounds, chat_domain::report::lower_bounds());
}
