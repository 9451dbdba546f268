//! The store contract suite against the real Postgres, each test on a fresh schema.

use std::sync::Arc;

fn store() -> Arc<chat_sql::SqlStore> {
    let url = chat_postgres::testing::fresh_schema_url()
        .unwrap_or_else(|e| panic!("Postgres must be running: {e}"));
    Arc::new(chat_postgres::connect(&url, 8).unwrap_or_else(|e| panic!("{e}")))
}

chat_contract::store_contract_tests!(store);
