//! The blob contract on both adapters: the filesystem (a fresh directory) and S3 against a real
//! S3-compatible server, moto, that this test starts (`tests/s3/moto.sh` installs it from PyPI,
//! pinned) on a free port and stops at the end. The S3 test fails, never skips, when moto
//! cannot be installed or started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_blobs::{ObjectBlobStore, S3Config};
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

/// moto on a free port, stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_moto() -> Moto {
    let script = repo_root().join("tests/s3/moto.sh");
    let out = Command::new(&script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()
        .expect("tests/s3/moto.sh must run");
    assert!(out.status.success(), "installing moto failed");
    let server = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server must start");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not listen within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// Creates a bucket with a plain `PUT /<bucket>` (moto does not check signatures).
fn create_bucket(endpoint: &str, bucket: &str) {
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn s3_config(endpoint: &str, bucket: &str) -> S3Config {
    S3Config {
        bucket: bucket.to_owned(),
        region: "us-east-1".to_owned(),
        endpoint: endpoint.to_owned(),
        access_key_id: "test".to_owned(),
        secret_access_key: "test".to_owned(),
        allow_http: true,
    }
}

#[test]
fn the_s3_adapter_keeps_the_blob_contract_against_a_real_s3_server() {
    let moto = start_moto();
    create_bucket(&moto.endpoint, "chat-attachments");
    let store = ObjectBlobStore::s3(&s3_config(&moto.endpoint, "chat-attachments")).unwrap();
    assert_eq!(store.backend_name(), "s3");
    blob_store_contract(&store, "s3");

    // A bucket that does not exist, and a server that is gone, are failures, never "no blob".
    let missing = ObjectBlobStore::s3(&s3_config(&moto.endpoint, "no-such-bucket")).unwrap();
    assert!(missing.put_blob("attachments/x", b"x".to_vec()).is_err());
    let endpoint = moto.endpoint.clone();
    drop(moto);
    let gone = ObjectBlobStore::s3(&s3_config(&endpoint, "chat-attachments")).unwrap();
    assert!(matches!(
        gone.get_blob("attachments/x"),
        Err(DomainError::Unavailable(_))
    ));
}
