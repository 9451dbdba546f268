//! The blob contract: every [`BlobStore`] adapter answers exactly the bytes put under a key.

use chat_domain::ports::BlobStore;

/// Every blob check, in order, on one store (keys are made unique per run with `prefix`).
pub fn blob_store_contract(store: &dyn BlobStore, prefix: &str) {
    round_trip_replace_and_delete(store, prefix);
    binary_and_large_bytes_come_back_exactly(store, prefix);
}

/// A put is read back; a second put replaces it; a delete removes it (twice is fine); a key
/// never put is `None`; keys are distinct.
pub fn round_trip_replace_and_delete(store: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/attachments/one");
    let other = format!("{prefix}/attachments/two");
    assert_eq!(store.get_blob(&key).unwrap(), None);
    store.put_blob(&key, b"first".to_vec()).unwrap();
    store.put_blob(&other, b"other".to_vec()).unwrap();
    assert_eq!(
        store.get_blob(&key).unwrap().as_deref(),
        Some(&b"first"[..])
    );
    store.put_blob(&key, b"second".to_vec()).unwrap();
    assert_eq!(
        store.get_blob(&key).unwrap().as_deref(),
        Some(&b"second"[..])
    );
    store.delete_blob(&key).unwrap();
    assert_eq!(store.get_blob(&key).unwrap(), None);
    store.delete_blob(&key).unwrap();
    assert_eq!(
        store.get_blob(&other).unwrap().as_deref(),
        Some(&b"other"[..])
    );
    store.delete_blob(&other).unwrap();
}

/// Every byte value, and a few megabytes, come back exactly.
pub fn binary_and_large_bytes_come_back_exactly(store: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/attachments/big");
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i: u32| (i * 31 % 256) as u8)
        .collect();
    store.put_blob(&key, bytes.clone()).unwrap();
    assert_eq!(store.get_blob(&key).unwrap(), Some(bytes));
    store.delete_blob(&key).unwrap();
}
