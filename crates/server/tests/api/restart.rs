//! The real binary, started twice on one SQLite file: users, threads and messages survive; and
//! it stops cleanly on SIGTERM and SIGINT, as the in-process app does on its shutdown signal.

use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_binary(db: &std::path::Path, port: u16) -> (Child, String) {
    let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("serve")
        .env("CHAT_CONFIG_DIR", config_dir)
        .env("CHAT__SERVER__PORT", port.to_string())
        .env("CHAT__SERVER__WORKERS", "1")
        .env("CHAT__DATABASE__URL", format!("sqlite://{}", db.display()))
        .env("CHAT__AUTH__BCRYPT_COST", "4")
        .env("CHAT__AUTH__ALLOW_INSECURE_COST", "true")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(resp) = http.get(format!("{base}/healthz")).send().await {
            if resp.status() == StatusCode::OK {
                return (child, base);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("chat-server did not start");
}

#[actix_web::test]
async fn users_threads_and_messages_survive_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/chat.db");
    let http = reqwest::Client::new();

    let (mut first, base) = start_binary(&db, free_port()).await;
    let health: Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"], "sqlite");
    let resp = http
        .post(format!("{base}/chat-app/user/"))
        .form(&[
            ("username", "ann"),
            ("password", "password-123"),
            ("role", "client"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sent: Value = http
        .post(format!("{base}/chat-app/send-message/"))
        .form(&[
            ("username", "ann"),
            ("password", "password-123"),
            ("message_body", "still here?"),
            ("thread_type", "1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    first.kill().await.unwrap();

    let (_second, base) = start_binary(&db, free_port()).await;
    let session: Value = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": "ann", "password": "password-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let threads: Value = http
        .get(format!("{base}/api/v1/threads"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(threads["items"][0]["id"], sent["thread_id"]);
    let msgs: Value = http
        .get(format!(
            "{base}/api/v1/threads/{}/messages",
            sent["thread_id"]
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(msgs["items"][0]["body"], "still here?");
    assert_eq!(msgs["items"][0]["id"], sent["message_id"]);
}

/// Sends a signal to the process with `kill(1)`.
async fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("the server is running").to_string();
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

async fn stops_cleanly_on(signal_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let port = free_port();
    let (mut child, base) = start_binary(&db, port).await;
    signal(&child, signal_name).await;
    // Bounded so a server that ignores the signal fails the test instead of hanging it.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("the server exits after the signal")
        .unwrap();
    assert!(status.success(), "{signal_name}: {status}");
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
    // The store was left usable: a new instance starts on it.
    let (_again, base) = start_binary(&db, free_port()).await;
    let resp = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[actix_web::test]
async fn the_binary_stops_cleanly_on_sigterm() {
    stops_cleanly_on("TERM").await;
}

#[actix_web::test]
async fn the_binary_stops_cleanly_on_sigint() {
    stops_cleanly_on("INT").await;
}

#[actix_web::test]
async fn the_shutdown_signal_stops_the_server_and_its_background_tasks() {
    let (url, dir) = crate::helpers::fresh_store(crate::helpers::Backend::Sqlite);
    let app = chat_server::Application::build(crate::helpers::test_settings(&url))
        .await
        .unwrap();
    let base = format!("http://{}", app.address());
    let shutdown = app.shutdown();
    let running = actix_web::rt::spawn(app.run_until_stopped());
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    shutdown.trigger();
    // run_until_stopped returns only once the server and the claim sweeper have both ended.
    running.await.unwrap().unwrap();
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
    drop(dir);
}
