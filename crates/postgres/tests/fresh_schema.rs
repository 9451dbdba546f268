//! Test schemas do not pile up: a fresh schema is dropped, tables and all, with its guard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_postgres::testing::{base_url, FreshSchema};
use diesel::{Connection, PgConnection, RunQueryDsl};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn schemas_named(name: &str) -> i64 {
    let mut conn = PgConnection::establish(&base_url()).unwrap();
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_namespace WHERE nspname = '{name}'"
    ))
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n
}

#[test]
fn a_fresh_schema_is_dropped_with_its_tables_when_its_guard_goes() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = chat_postgres::connect(schema.url(), 2).unwrap();
    let name = schema
        .url()
        .rsplit("search_path%3D")
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(schemas_named(&name), 1);
    drop(store);
    drop(schema);
    assert_eq!(schemas_named(&name), 0);
}
