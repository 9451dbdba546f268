//! The store contract suite against the real Postgres, each test on a fresh schema.

use std::sync::Arc;

fn store() -> (Arc<chat_sql::SqlStore>, chat_postgres::testing::FreshSchema) {
    let schema = chat_postgres::testing::FreshSchema::create()
        .unwrap_or_else(|e| panic!("Postgres must be running: {e}"));
    let store = chat_postgres::connect(schema.url(), 8).unwrap_or_else(|e| panic!("{e}"));
    (Arc::new(store), schema)
}

chat_contract::store_contract_tests!(store);
