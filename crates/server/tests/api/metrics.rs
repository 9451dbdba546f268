//! `GET /metrics`, scraped and parsed as Prometheus text (`prometheus-parse`): the named series
//! move when traffic moves, routes are labelled by pattern, and `metrics.token` guards it.

use std::io::BufRead;

use futures_util::SinkExt;
use prometheus_parse::{Scrape, Value as Metric};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{
    assert_error, fresh_store, next_of, spawn_app_with, spawn_app_with_settings, test_settings,
    Backend, TestApp,
};

on_every_store!(the_series_move_with_the_traffic);

/// Scrapes `/metrics` (with `token` as bearer when given) and parses it.
async fn scrape(app: &TestApp, token: Option<&str>) -> Scrape {
    let resp = app.get("/metrics", token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.unwrap();
    // prometheus-parse 0.2 reads a sample's labels up to the first `}`, so it would drop every
    // series whose route pattern has a `{id}` (valid Prometheus text): the test writes
    // placeholders as `<id>` before parsing.
    let placeholder = regex::Regex::new(r"\{(\w+)(:[^}]*)?\}").unwrap();
    let text = placeholder.replace_all(&text, "<$1>");
    Scrape::parse(text.as_bytes().lines()).unwrap()
}

/// The sum of the samples of `name` whose labels include `labels` (a histogram counts its
/// observations).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
            Metric::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Metric::Summary(_) => 0.0,
        })
        .sum()
}

/// How much `name` (with `labels`) grew from `before` to `after`.
fn grew(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(after, name, labels) - value(before, name, labels)
}

async fn the_series_move_with_the_traffic(app: TestApp) {
    let ann = app.client("ann").await;
    let maria = app.agent("maria").await;
    let omar = app.agent("omar").await;
    let thread_id = app.write(&ann, json!(1), "my card payment failed").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let before = scrape(&app, None).await;

    // A client's socket on the thread: open, then an agent's reply arrives on it.
    let url = format!(
        "{}/ws/threads/{thread_id}?token={}",
        app.address.replacen("http", "ws", 1),
        ann.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_of(&mut ws, "ready").await;
    let queue_url = format!(
        "{}/ws/queue?token={}",
        app.address.replacen("http", "ws", 1),
        maria.token
    );
    let (mut queue, _) = tokio_tungstenite::connect_async(queue_url).await.unwrap();
    next_of(&mut queue, "ready").await;
    assert_eq!(app.claim(thread_id, &maria).await.status(), StatusCode::OK);
    assert_error(
        app.claim(thread_id, &omar).await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
    assert_eq!(
        app.reply(thread_id, &maria, "looking into it")
            .await
            .status(),
        StatusCode::CREATED
    );
    let delivered = next_of(&mut ws, "message.created").await;
    assert_eq!(delivered["message"]["body"], "looking into it");
    ws.send(WsMessage::Text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    next_of(&mut ws, "pong").await;
    let wrong = app.log_in("ann", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/no/such/path/42", None).await.status(),
        StatusCode::NOT_FOUND
    );

    // A socket counts a frame once its write has returned, so the client can read the pong
    // before the server counted it: scrape until it is counted (at most 5 s).
    let pong = [("type", "pong")];
    let mut during = scrape(&app, None).await;
    for _ in 0..100 {
        if grew(&before, &during, "chat_ws_frames_sent_total", &pong) >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        during = scrape(&app, None).await;
    }
    assert_eq!(
        value(&during, "chat_ws_open_sockets", &[("kind", "thread")]),
        1.0
    );
    assert_eq!(
        value(&during, "chat_ws_open_sockets", &[("kind", "queue")]),
        1.0
    );
    let message = [("kind", "message")];
    assert_eq!(
        grew(&before, &during, "chat_messages_stored_total", &message),
        1.0
    );
    assert!(grew(&before, &during, "chat_messages_delivered_total", &message) >= 1.0);
    for frame in ["ready", "message.created", "pong"] {
        assert!(
            grew(
                &before,
                &during,
                "chat_ws_frames_sent_total",
                &[("type", frame)]
            ) >= 1.0,
            "{frame}"
        );
    }
    let created = [("type", "message.created")];
    assert_eq!(
        grew(&before, &during, "chat_bus_published_total", &created),
        1.0
    );
    assert!(grew(&before, &during, "chat_bus_deliveries_total", &[]) >= 1.0);
    assert!(grew(&before, &during, "chat_bus_delivery_lag_seconds", &[]) >= 1.0);
    assert_eq!(
        grew(
            &before,
            &during,
            "chat_login_failures_total",
            &[("reason", "bad_credentials")]
        ),
        1.0
    );
    assert_eq!(
        grew(
            &before,
            &during,
            "chat_claim_conflicts_total",
            &[("action", "claim")]
        ),
        1.0
    );

    // Requests by route pattern and status, never by raw path.
    let claims = |status| {
        [
            ("method", "POST"),
            ("route", "/api/v1/threads/<id>/claim"),
            ("status", status),
        ]
    };
    let durations = "chat_http_request_duration_seconds";
    assert_eq!(grew(&before, &during, durations, &claims("200")), 1.0);
    assert_eq!(grew(&before, &during, durations, &claims("409")), 1.0);
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert!(grew(&before, &during, durations, &unmatched) >= 1.0);
    for sample in during.samples.iter().filter(|s| s.metric == durations) {
        let route = sample.labels.get("route").unwrap();
        assert!(
            route.starts_with('/')
                && !route
                    .split('/')
                    .any(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
                || route == "unmatched",
            "a raw path as a label: {route}"
        );
    }

    // The store's pool (an SQL store on both backends).
    assert_eq!(value(&during, "chat_store_pool_max_connections", &[]), 8.0);
    assert!(value(&during, "chat_store_pool_connections", &[]) >= 1.0);
    assert!(grew(&before, &during, "chat_store_checkout_wait_seconds", &[]) >= 1.0);

    // The sockets close: the gauges go back down.
    ws.close(None).await.unwrap();
    queue.close(None).await.unwrap();
    let mut open = 2.0;
    for _ in 0..100 {
        open = value(&scrape(&app, None).await, "chat_ws_open_sockets", &[]);
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0.0, "a closed socket is still counted");
}

#[actix_web::test]
async fn a_token_guards_the_metrics() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.metrics.token = chat_server::settings::Secret::new("scrape-me");
    })
    .await;
    assert_error(
        app.get("/metrics", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/metrics", Some("scrape-you")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let scraped = scrape(&app, Some("scrape-me")).await;
    assert!(scraped
        .samples
        .iter()
        .any(|s| s.metric == "chat_http_request_duration_seconds"));
}

/// Two instances on one Postgres store and one Redis: a message stored on A reaches a socket
/// on B through Redis, and each counts its side.
#[actix_web::test]
async fn instances_count_what_crosses_redis() {
    let (url, guard) = fresh_store(Backend::Postgres);
    let mut settings = test_settings(&url);
    settings.redis.url = chat_server::settings::Secret::new(
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    );
    settings.redis.channel_prefix = format!("metrics-{}", uuid::Uuid::new_v4());
    let a = spawn_app_with_settings(settings.clone(), guard, None).await;
    let b = spawn_app_with_settings(settings, None, None).await;
    let ann = a.client("ann").await;
    let thread_id = a.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let (a_before, b_before) = (scrape(&a, None).await, scrape(&b, None).await);

    let url = format!(
        "{}/ws/threads/{thread_id}?token={}",
        b.address.replacen("http", "ws", 1),
        ann.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_of(&mut ws, "ready").await;
    let sent = a
        .post_json(
            &format!("/api/v1/threads/{thread_id}/messages"),
            json!({"body": "are you there?"}),
            Some(&ann.token),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    next_of(&mut ws, "message.created").await;

    let (a_after, b_after) = (scrape(&a, None).await, scrape(&b, None).await);
    let created = [("type", "message.created")];
    assert_eq!(
        grew(&a_before, &a_after, "chat_bus_published_total", &created),
        1.0
    );
    assert!(grew(&a_before, &a_after, "chat_redis_published_total", &[]) >= 1.0);
    assert_eq!(
        grew(&b_before, &b_after, "chat_bus_published_total", &created),
        0.0
    );
    assert!(grew(&b_before, &b_after, "chat_redis_received_total", &[]) >= 1.0);
    assert!(grew(&b_before, &b_after, "chat_bus_delivery_lag_seconds", &[]) >= 1.0);
    let message = [("kind", "message")];
    assert!(
        grew(
            &b_before,
            &b_after,
            "chat_messages_delivered_total",
            &message
        ) >= 1.0
    );
    assert_eq!(
        value(&b_after, "chat_ws_open_sockets", &[("kind", "thread")]),
        1.0
    );
    assert!(a_after
        .samples
        .iter()
        .any(|s| s.metric == "chat_redis_outbox_bytes"));
}
