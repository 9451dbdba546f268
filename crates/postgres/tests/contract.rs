//! The store contract suite against the real Postgres, each test on a fresh schema, with a
//! second pool on the same schema as a second instance.

use std::sync::Arc;

use chat_contract::TwoInstances;
use chat_postgres::testing::FreshSchema;

fn store() -> TwoInstances<FreshSchema> {
    let schema = FreshSchema::create().unwrap_or_else(|e| panic!("Postgres must be running: {e}"));
    let a = chat_postgres::connect(schema.url(), 8).unwrap_or_else(|e| panic!("{e}"));
    let b = chat_postgres::connect(schema.url(), 8).unwrap_or_else(|e| panic!("{e}"));
    TwoInstances {
        a: Arc::new(a),
        b: Arc::new(b),
        guard: schema,
    }
}

chat_contract::store_contract_tests!(store);
