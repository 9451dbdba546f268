//! The blob contract on both adapters: the filesystem (a fresh directory) and S3 against a real
//! S3-compatible server, moto, that the test starts (`chat_blobs::testing::Moto`: installed from
//! PyPI, pinned, by `tests/s3/moto.sh`) on a free port and stops at the end. The S3 test fails,
//! never skips, when moto cannot be installed or started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_blobs::testing::Moto;
use chat_blobs::ObjectBlobStore;
use chat_contract::blobs::blob_store_contract;
use chat_domain::ports::BlobStore;
use chat_domain::DomainError;

#[test]
fn the_filesystem_adapter_keeps_the_blob_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::filesystem(&dir.path().join("blobs")).unwrap();
    assert_eq!(store.backend_name(), "filesystem");
    blob_store_contract(&store, "fs");
    store
        .put_blob("attachments/abc", b"kept on disk".to_vec())
        .unwrap();
    let on_disk = std::fs::read(dir.path().join("blobs/attachments/abc")).unwrap();
    assert_eq!(on_disk, b"kept on disk");
}

#[test]
fn the_s3_adapter_keeps_the_blob_contract_against_a_real_s3_server() {
    let moto = Moto::start().unwrap();
    moto.create_bucket("chat-attachments").unwrap();
    let store = ObjectBlobStore::s3(&moto.config("chat-attachments")).unwrap();
    assert_eq!(store.backend_name(), "s3");
    blob_store_contract(&store, "s3");

    // A bucket that does not exist, and a server that is gone, are failures, never "no blob".
    let missing = ObjectBlobStore::s3(&moto.config("no-such-bucket")).unwrap();
    assert!(missing.put_blob("attachments/x", b"x".to_vec()).is_err());
    let config = moto.config("chat-attachments");
    drop(moto);
    let gone = ObjectBlobStore::s3(&config).unwrap();
    assert!(matches!(
        gone.get_blob("attachments/x"),
        Err(DomainError::Unavailable(_))
    ));
}
