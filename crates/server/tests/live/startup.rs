//! A server started while Postgres cannot be reached does not exit: it serves `/healthz`,
//! answers `/readyz` and the API with 503 at once, retries with backoff, and turns ready (and
//! serves sign-ups and log-ins) once Postgres answers. SIGTERM ends the wait promptly.
//!
//! "Postgres down" is a port nothing listens on yet; "Postgres up" is a small TCP proxy the test
//! starts on that port, forwarding to the test Postgres ([`Proxy`]).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

async fn readyz(server: &Instance) -> (StatusCode, Value) {
    let resp = server.http.get(server.url("/readyz")).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_server_started_before_postgres_waits_for_it_then_serves() {
    let shared = Shared::fresh();
    let port = free_port();
    let (through_proxy, upstream) = shared.through_port(port);
    let mut server = Instance::start(
        &through_proxy,
        &[("CHAT__DATABASE__CONNECT_RETRY_MAX_MS", "400")],
    )
    .await;
    // `start` waited for /healthz 200.

    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "starting", "{body}");

    let asked = Instant::now();
    let resp = server
        .http
        .post(server.url("/api/v1/users"))
        .json(&json!({"username": unique("early"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "a request while starting took {:?}",
        asked.elapsed()
    );
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    // A few attempts fail (and are logged) while nothing listens; the process stays up.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(server.is_running(), "exited: {}", server.log_text());
    assert_eq!(readyz(&server).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let _proxy = Proxy::start(port, upstream).await;
    let up = Instant::now();
    loop {
        let (status, body) = readyz(&server).await;
        if status == StatusCode::OK {
            assert_eq!(body["status"], "ready");
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(5),
            "not ready 5 s after Postgres came up: {body}; log: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let client = server.new_client().await;
    assert!(!client.token.is_empty());
    // Start-up created the bootstrap admin once the store answered.
    server.admin().await;

    let log = server.log_text();
    assert!(
        log.contains("store not reachable yet"),
        "no warning per failed attempt: {log}"
    );
    assert_eq!(
        log.matches("start-up done: ready").count(),
        1,
        "one info line when ready: {log}"
    );
}

#[tokio::test]
async fn sigterm_while_waiting_for_postgres_exits_promptly_and_cleanly() {
    let shared = Shared::fresh();
    let (unreachable, _) = shared.through_port(free_port());
    let mut server = Instance::start(&unreachable, &[]).await;
    assert_eq!(readyz(&server).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let asked = Instant::now();
    server.terminate();
    let status = server.exit_status().await;
    assert!(
        status.success(),
        "exit status {status}: {}",
        server.log_text()
    );
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        asked.elapsed()
    );
}

#[tokio::test]
async fn a_start_up_failure_retrying_cannot_mend_stops_the_server_once_postgres_answers() {
    let shared = Shared::fresh();
    let port = free_port();
    let (through_proxy, upstream) = shared.through_port(port);
    // A bootstrap admin password the domain refuses (too short): not an outage.
    let mut server = Instance::start(&through_proxy, &[("CHAT__ADMIN__PASSWORD", "short")]).await;
    assert_eq!(readyz(&server).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let _proxy = Proxy::start(port, upstream).await;
    let status = server.exit_status().await;
    assert!(
        !status.success(),
        "exit status {status}: {}",
        server.log_text()
    );
    assert!(
        server.log_text().contains("start-up failed"),
        "{}",
        server.log_text()
    );
}

/// Redis down at start: the server starts anyway (Postgres is up), serves, says `starting` on
/// `/readyz` until the bus first reaches Redis, then turns ready by itself, and events cross to
/// another instance from then on.
#[tokio::test]
async fn a_server_started_before_redis_serves_not_ready_then_connects_by_itself() {
    let shared = Shared::fresh();
    let port = free_port();
    let upstream = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let mut through_proxy = shared.clone();
    through_proxy.redis_url = format!("redis://127.0.0.1:{port}");
    let mut server = Instance::start(&through_proxy, &[]).await;

    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "starting", "{body}");
    // The store is up: the API serves meanwhile.
    let client = server.new_client().await;
    let thread = server
        .open_thread(&client, "written before Redis was up")
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(server.is_running(), "exited: {}", server.log_text());
    assert_eq!(readyz(&server).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let _proxy = Proxy::start(port, upstream).await;
    let up = Instant::now();
    loop {
        let (status, body) = readyz(&server).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(5),
            "not ready 5 s after Redis came up: {body}; log: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Events now cross instances: a second instance on the same Redis hears a message sent
    // through the first.
    let other = Instance::start(&shared, &[]).await;
    let agent = other.new_agent().await;
    other.claim(&agent, thread).await;
    let mut watching = other
        .socket(&format!("/ws/threads/{thread}"), &agent.token)
        .await;
    watching.next_of("ready").await;
    server
        .send_rest(&client, thread, "after Redis came up")
        .await;
    let created = watching.next_of("message.created").await;
    assert_eq!(
        created["message"]["body"], "after Redis came up",
        "{created}"
    );
}
