//! The reports' rollup on Postgres: its buckets are the domain's, and rebuilding it from the
//! stored rows (the migration's backfill) gives what its triggers and the inbox's folds kept
//! while the desk worked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_domain::ports::Store;
use chat_postgres::testing::FreshSchema;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, RunQueryDsl};

const UP: &str =
    include_str!("../../../migrations/postgres/2026-12-01-000002_report_rollup/up.sql");
const DOWN: &str =
    include_str!("../../../migrations/postgres/2026-12-01-000002_report_rollup/down.sql");

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
fn rollup(conn: &mut PgConnection) -> Vec<Line> {
    diesel::sql_query(
        "SELECT concat_ws(' ', day, fact, thread_type, agent_id, n, answered, total, measured, met) \
         AS line FROM report_daily WHERE n <> 0 \
         UNION ALL SELECT concat_ws(' ', dim, kind, day, key, bucket, n) FROM report_hist \
         ORDER BY 1",
    )
    .load(conn)
    .unwrap()
}

#[test]
fn the_rollup_rebuilt_from_stored_rows_equals_the_one_the_triggers_kept() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store: Arc<dyn Store> = Arc::new(chat_postgres::connect(schema.url(), 2).unwrap());
    chat_contract::store::desk(&store);
    // Ended clocks wait in the inbox until folded (the sweep's step).
    assert!(store.fold_reports(10_000).unwrap() > 0);
    assert_eq!(store.fold_reports(10_000).unwrap(), 0);
    let mut conn = PgConnection::establish(schema.url()).unwrap();
    let kept = rollup(&mut conn);
    assert!(kept.len() > 40, "{kept:?}");
    conn.batch_execute(DOWN).unwrap();
    conn.batch_execute(UP).unwrap();
    assert_eq!(rollup(&mut conn), kept);
}

#[test]
fn the_rollup_buckets_are_the_domains() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    chat_postgres::migrate(schema.url()).unwrap();
    let mut conn = PgConnection::establish(schema.url()).unwrap();
    let bounds: Vec<i64> = diesel::sql_query("SELECT lo FROM report_buckets ORDER BY bucket")
        .load::<Bound>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|b| b.lo)
        .collect();
    assert_eq!(bounds, chat_domain::report::lower_bounds());
}
