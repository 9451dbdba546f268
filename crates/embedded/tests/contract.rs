//! The store contract suite against SQLite (a temporary file per test), and the bus contract
//! against the embedded adapter's in-process bus.

use std::sync::Arc;

use chat_embedded::InProcessBus;

fn store() -> (Arc<chat_sql::SqlStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store =
        chat_embedded::open(&dir.path().join("chat.db"), 8).unwrap_or_else(|e| panic!("{e}"));
    (Arc::new(store), dir)
}

chat_contract::store_contract_tests!(store);

chat_contract::bus_contract_tests!(|| async {
    let bus = InProcessBus::default();
    (bus.clone(), bus)
});
