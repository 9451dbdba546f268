//! The store contract suite against SQLite (a temporary file per test), and the bus contract
//! against the embedded adapter's in-process bus.

use std::sync::Arc;

use chat_embedded::InProcessBus;

fn store() -> chat_contract::TwoInstances<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("chat.db");
    let a = chat_embedded::open(&path, 8).unwrap_or_else(|e| panic!("{e}"));
    // A second pool on the same file: another process would have one.
    let b = chat_embedded::open(&path, 8).unwrap_or_else(|e| panic!("{e}"));
    chat_contract::TwoInstances {
        a: Arc::new(a),
        b: Arc::new(b),
        guard: dir,
    }
}

chat_contract::store_contract_tests!(store);

chat_contract::bus_contract_tests!(|| async {
    let bus = InProcessBus::default();
    (bus.clone(), bus)
});
