//! Postgres going away under a running server (issue 17): requests are answered 503
//! `unavailable` with `Retry-After` within about `database.checkout_timeout_ms` (never a hang,
//! never a 500), and served again within about a second of Postgres coming back.
//!
//! The server reaches Postgres through a [`Proxy`]; cutting it refuses new connections and
//! closes the live ones, as a database restart or a network cut would.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// The checkout wait the server runs with here (the default).
const CHECKOUT_TIMEOUT_MS: u64 = 1000;

/// A POST, its status, `Retry-After` header, body and how long the answer took.
async fn timed_post(
    server: &Instance,
    path: &str,
    body: Value,
    token: Option<&str>,
) -> (StatusCode, Option<String>, Value, Duration) {
    let mut req = server
        .http
        .post(server.url(path))
        .timeout(Duration::from_secs(15))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let asked = Instant::now();
    let resp = req.send().await.expect("the server answers");
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, retry_after, body, asked.elapsed())
}

/// The answer a request gets while Postgres is away: 503 `unavailable`, `Retry-After: 1`, fast.
fn assert_fails_fast(what: &str, answer: &(StatusCode, Option<String>, Value, Duration)) {
    let (status, retry_after, body, took) = answer;
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{what}: {body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "{what}: Retry-After");
    assert!(
        *took < Duration::from_millis(2000),
        "{what} took {took:?} to fail"
    );
}

#[tokio::test]
async fn during_a_postgres_outage_requests_fail_fast_and_serve_again_promptly_after_it() {
    let shared = Shared::fresh();
    let port = free_port();
    let (through_proxy, upstream) = shared.through_port(port);
    let mut proxy = Proxy::start(port, upstream).await;
    let timeout = CHECKOUT_TIMEOUT_MS.to_string();
    let server = Instance::start(
        &through_proxy,
        &[("CHAT__DATABASE__CHECKOUT_TIMEOUT_MS", timeout.as_str())],
    )
    .await;
    let ready = Instant::now();
    while server
        .http
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        != StatusCode::OK
    {
        assert!(
            ready.elapsed() < PATIENCE,
            "never ready: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = server.new_client().await;
    let thread = server.open_thread(&client, "before the outage").await;
    server.send_rest(&client, thread, "still before").await;

    proxy.cut().await;

    let sign_up = timed_post(
        &server,
        "/api/v1/users",
        json!({"username": unique("outage"), "password": PASSWORD}),
        None,
    )
    .await;
    assert_fails_fast("a sign-up during the outage", &sign_up);
    let send_path = format!("/api/v1/threads/{thread}/messages");
    let send = timed_post(
        &server,
        &send_path,
        json!({"body": "during"}),
        Some(&client.token),
    )
    .await;
    assert_fails_fast("a send during the outage", &send);
    // Past the window in which pooled connections are handed out without a ping: the dead
    // ones are dropped at check-out, and requests wait for a new one (the checkout timeout).
    let outage = Instant::now();
    let mut waits = Vec::new();
    while outage.elapsed() < Duration::from_millis(2500) {
        let answer = timed_post(
            &server,
            &send_path,
            json!({"body": "during, again"}),
            Some(&client.token),
        )
        .await;
        assert_fails_fast("a send during the outage", &answer);
        waits.push(answer.3);
    }
    let longest = waits.iter().max().copied().unwrap_or_default();
    assert!(
        longest >= Duration::from_millis(CHECKOUT_TIMEOUT_MS * 8 / 10),
        "no request waited for the checkout timeout: {waits:?}"
    );
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    eprintln!(
        "outage: sign-up failed in {:?}, first send in {:?}, then {waits:?}",
        sign_up.3, send.3
    );

    proxy.restore().await;
    let restored = Instant::now();
    let mut failures = 0;
    let recovered = loop {
        let answer = timed_post(
            &server,
            &send_path,
            json!({"body": format!("after the outage {failures}")}),
            Some(&client.token),
        )
        .await;
        if answer.0 == StatusCode::CREATED {
            break restored.elapsed();
        }
        assert_fails_fast("a send before the pool reconnected", &answer);
        failures += 1;
        assert!(
            restored.elapsed() < Duration::from_secs(5),
            "still failing 5 s after Postgres came back: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("recovery: first success {recovered:?} after Postgres came back ({failures} failed)");
    assert!(
        recovered <= Duration::from_millis(1500),
        "the first success came {recovered:?} after Postgres came back"
    );

    // Everything serves again, sign-ups included.
    server.new_client().await;
    let (status, body) = server
        .get(&format!("/api/v1/threads/{thread}/messages"), &client.token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The pool's retries are not logged as errors (r2d2's default would log each one).
    let log = server.log_text();
    assert!(
        !log.lines()
            .any(|l| l.contains("ERROR") && l.contains("r2d2")),
        "{log}"
    );
}
