//! Webhooks end to end: a real HTTP receiver in the test gets signed deliveries, in order per
//! thread, through an outage; two instances deliver each event once; private targets and
//! non-admins are refused.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chat_domain::webhook::{NewWebhook, WebhookEventType};
use chat_server::Settings;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{
    assert_error, fresh_store, spawn_app_with_settings, test_settings, Actor, Backend, TestApp,
};

on_every_store!(
    with crate::webhooks::spawn_webhook_app;
    deliveries_are_signed_complete_in_order_and_survive_an_outage,
    admins_list_disable_replay_and_delete_endpoints,
);

/// On the default config (private targets refused).
mod refusals {
    #[actix_web::test]
    async fn postgres() {
        let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await;
        super::private_targets_bad_input_and_non_admins_are_refused(app).await;
    }

    #[actix_web::test]
    async fn sqlite() {
        let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await;
        super::private_targets_bad_input_and_non_admins_are_refused(app).await;
    }
}

mod two_instances {
    #[actix_web::test]
    async fn postgres() {
        super::two_instances_deliver_each_event_once(crate::helpers::Backend::Postgres).await;
    }

    #[actix_web::test]
    async fn sqlite() {
        super::two_instances_deliver_each_event_once(crate::helpers::Backend::Sqlite).await;
    }
}

mod resolved_to_a_private_address {
    #[actix_web::test]
    async fn postgres() {
        super::a_name_resolving_to_a_private_address_is_refused_when_delivering(
            crate::helpers::Backend::Postgres,
        )
        .await;
    }

    #[actix_web::test]
    async fn sqlite() {
        super::a_name_resolving_to_a_private_address_is_refused_when_delivering(
            crate::helpers::Backend::Sqlite,
        )
        .await;
    }
}

const SECRET: &str = "whsec-test-0123456789";

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    webhook_id: String,
    signature: String,
    body: Vec<u8>,
    answered: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A real HTTP server on a free port answering every POST with the status it is set to.
struct Receiver {
    url: String,
    log: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let log = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(status));
        let state = (Arc::clone(&log), Arc::clone(&answer));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(hook))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/chat"),
            log,
            status: answer,
        }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

type ReceiverState = (Arc<Mutex<Vec<Received>>>, Arc<AtomicU16>);

async fn hook(req: HttpRequest, body: web::Bytes, state: web::Data<ReceiverState>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let answered = state.1.load(Ordering::SeqCst);
    state.0.lock().unwrap().push(Received {
        webhook_id: header("Webhook-Id"),
        signature: header("Webhook-Signature"),
        body: body.to_vec(),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

/// Checks `t=<secs>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` as a receiver would.
fn signature_is_valid(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(expected) = hex::decode(v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Test settings with webhooks fast and allowed to reach the test's own receiver.
fn webhook_settings(database_url: &str) -> Settings {
    let mut settings = test_settings(database_url);
    settings.webhooks.allow_private_targets = true;
    settings.webhooks.poll_interval_ms = 50;
    settings.webhooks.initial_backoff_ms = 100;
    settings.webhooks.max_backoff_ms = 400;
    settings.webhooks.timeout_ms = 2_000;
    settings
}

async fn spawn_webhook_app(backend: Backend) -> TestApp {
    let (url, guard) = fresh_store(backend);
    spawn_app_with_settings(webhook_settings(&url), guard, None).await
}

async fn register(app: &TestApp, admin: &Actor, url: &str, events: &[&str]) -> Value {
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            json!({"url": url, "events": events, "secret": SECRET}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.json().await.unwrap()
}

async fn deliveries(app: &TestApp, admin: &Actor, webhook: i64) -> Vec<Value> {
    let resp = app
        .get(
            &format!("/api/v1/webhooks/{webhook}/deliveries"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// Waits until every delivery of the endpoint is in `state` (and there are `count`).
async fn wait_for_deliveries(
    app: &TestApp,
    admin: &Actor,
    webhook: i64,
    count: usize,
    state: &str,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = deliveries(app, admin, webhook).await;
        if log.len() == count && log.iter().all(|d| d["state"] == state) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never all {state}: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deliveries_are_signed_complete_in_order_and_survive_an_outage(app: TestApp) {
    let receiver = Receiver::start(500).await;
    let admin = app.admin("root").await;
    let hook = register(
        &app,
        &admin,
        &receiver.url,
        &WebhookEventType::ALL.map(|t| t.as_str()),
    )
    .await;
    assert_eq!(hook["enabled"], true);
    let webhook = hook["id"].as_i64().unwrap();

    // Two conversations: one through its whole life, one with two messages.
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    let bo = app.agent("bo").await;
    let first = app.write(&ann, json!("loan"), "my loan is late").await;
    let t1 = first["thread"]["id"].as_i64().unwrap();
    let other = app.write(&cy, json!("payment"), "card declined").await;
    let t2 = other["thread"]["id"].as_i64().unwrap();
    assert_eq!(
        app.reply(t1, &ann, "any news?").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.reply(t2, &cy, "still declined").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.claim(t1, &bo).await.status(), StatusCode::OK);
    assert_eq!(
        app.reply(t1, &bo, "on it").await.status(),
        StatusCode::CREATED
    );
    let resolved = app
        .put_json(
            &format!("/api/v1/threads/{t1}/status"),
            json!({"status": "resolved"}),
            Some(&bo.token),
        )
        .await;
    assert_eq!(resolved.status(), StatusCode::OK);

    // The receiver is failing: only each thread's first event is tried, again and again.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let failing = receiver.received();
    assert!(failing.len() >= 4, "retries expected: {failing:?}");
    let tried: HashSet<String> = failing.iter().map(|r| r.webhook_id.clone()).collect();
    assert_eq!(tried.len(), 2, "only each thread's first event: {tried:?}");
    assert!(failing.iter().all(|r| r.answered == 500));

    receiver.answer(200);
    let log = wait_for_deliveries(&app, &admin, webhook, 9, "delivered").await;
    let received = receiver.received();

    // Every request is signed with the secret and names its event.
    for r in &received {
        assert!(
            signature_is_valid(SECRET, &r.signature, &r.body),
            "bad signature: {}",
            r.signature
        );
        let body = r.json();
        assert_eq!(body["id"], r.webhook_id.as_str());
        assert!(body["created_at"].as_str().is_some());
        assert!(body["data"].is_object());
    }
    // Each event was acknowledged exactly once; the failed tries were the same events.
    let acknowledged: Vec<Value> = received
        .iter()
        .filter(|r| r.answered == 200)
        .map(Received::json)
        .collect();
    let ids: Vec<&str> = acknowledged
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "an event acknowledged twice: {ids:?}"
    );
    let logged: HashSet<&str> = log
        .iter()
        .map(|d| d["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(unique, logged, "none lost");
    assert!(tried.iter().all(|id| unique.contains(id.as_str())));

    // In order per thread, with the right types and payloads.
    let number = |id: &str| id.trim_start_matches("evt_").parse::<i64>().unwrap();
    let mut per_thread: HashMap<i64, Vec<&Value>> = HashMap::new();
    for b in &acknowledged {
        per_thread
            .entry(b["data"]["thread_id"].as_i64().unwrap())
            .or_default()
            .push(b);
    }
    for events in per_thread.values() {
        let numbers: Vec<i64> = events
            .iter()
            .map(|b| number(b["id"].as_str().unwrap()))
            .collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "out of order: {numbers:?}"
        );
    }
    let types = |t: i64| -> Vec<&str> {
        per_thread[&t]
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        types(t1),
        [
            "thread.opened",
            "message.created",
            "message.created",
            "thread.assigned",
            "message.created",
            "thread.resolved"
        ]
    );
    assert_eq!(
        types(t2),
        ["thread.opened", "message.created", "message.created"]
    );
    let messages: Vec<&str> = per_thread[&t1]
        .iter()
        .filter(|b| b["type"] == "message.created")
        .map(|b| b["data"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["my loan is late", "any news?", "on it"]);
    let assigned = per_thread[&t1][3];
    assert_eq!(assigned["data"]["agent_id"], bo.id);
    assert_eq!(assigned["data"]["via"], "claim");

    // The log shows the retries of the first events.
    let retried: Vec<&Value> = log
        .iter()
        .filter(|d| d["attempts"].as_i64().unwrap() > 1)
        .collect();
    assert_eq!(retried.len(), 2);
    assert!(log.iter().all(|d| d["last_status"] == 200));

    // /metrics counts the attempts and the (now empty) queue.
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(value("chat_webhook_attempts_total{outcome=\"delivered\"}") >= 9.0);
    assert!(value("chat_webhook_attempts_total{outcome=\"retry\"}") >= 4.0);
    assert!(text.contains("chat_webhook_delivery_failures_total 0"));
    assert!(text.contains("chat_webhook_queue_depth"));
}

async fn private_targets_bad_input_and_non_admins_are_refused(app: TestApp) {
    // The default config: private targets are refused.
    let admin = app.admin("root").await;
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    let post = |url: &str, events: Value, secret: &str| {
        app.post_json(
            "/api/v1/webhooks",
            json!({"url": url, "events": events, "secret": secret}),
            Some(&admin.token),
        )
    };
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://127.0.0.1:9/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://localhost:8080/",
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "not a url",
    ] {
        let resp = post(url, json!(["message.created"]), "s3cret").await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    let ok = "https://crm.example.com/hooks";
    assert_error(
        post(ok, json!(["message.deleted"]), "s3cret").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        post(ok, json!([]), "s3cret").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        post(ok, json!(["thread.opened"]), "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        post(ok, json!(["thread.opened"]), "bad\u{0007}secret").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    // Nothing was stored.
    let list: Value = app
        .get("/api/v1/webhooks", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));

    // Clients and agents are not admins.
    for who in [&ann, &bo] {
        let body = json!({"url": ok, "events": ["thread.opened"], "secret": "s3cret"});
        assert_error(
            app.post_json("/api/v1/webhooks", body, Some(&who.token))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.get("/api/v1/webhooks", Some(&who.token)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_error(
            app.get("/api/v1/webhooks/1/deliveries", Some(&who.token))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    assert_eq!(
        app.get("/api/v1/webhooks", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn admins_list_disable_replay_and_delete_endpoints(app: TestApp) {
    let admin = app.admin("root").await;
    let secret = "a-long-secret-ending-f00d";
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            json!({
                "url": "https://crm.example.com/hooks",
                "events": ["thread.opened", "message.created", "thread.opened"],
                "secret": secret,
                "include_notes": true,
            }),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let text = resp.text().await.unwrap();
    assert!(!text.contains(secret), "the secret is never echoed: {text}");
    let hook: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(hook["events"], json!(["message.created", "thread.opened"]));
    assert_eq!(hook["include_notes"], true);
    assert_eq!(hook["secret_hint"], "…f00d");
    let id = hook["id"].as_i64().unwrap();
    let list: Value = app
        .get("/api/v1/webhooks", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], id);
    assert!(!list.to_string().contains(secret));

    // Disabled: events are not queued for it.
    let path = format!("/api/v1/webhooks/{id}");
    let resp = app
        .request(Method::PATCH, &path, Some(&admin.token))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["enabled"], false);
    let ann = app.client("ann").await;
    app.write(&ann, json!("loan"), "hello").await;
    assert!(deliveries(&app, &admin, id).await.is_empty());
    // Replay queues the events recorded meanwhile, with their ids.
    let resp = app
        .post_json(
            &format!("{path}/replay"),
            json!({"from": "2000-01-01T00:00:00Z"}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(resp.json::<Value>().await.unwrap()["queued"], 2);
    let log = deliveries(&app, &admin, id).await;
    assert_eq!(log.len(), 2);
    assert!(log
        .iter()
        .all(|d| d["state"] == "pending" && d["attempts"] == 0));
    assert_error(
        app.post_json(
            &format!("{path}/replay"),
            json!({"from": "yesterday"}),
            Some(&admin.token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;

    assert_eq!(
        app.delete(&path, Some(&admin.token)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete(&path, Some(&admin.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("{path}/deliveries"), Some(&admin.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resp = app
        .request(Method::PATCH, &path, Some(&admin.token))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::NOT_FOUND, "not_found").await;
}

/// Two instances on one database, both delivering: each event reaches the receiver once.
async fn two_instances_deliver_each_event_once(backend: Backend) {
    let (url, guard) = fresh_store(backend);
    let one = spawn_app_with_settings(webhook_settings(&url), guard, None).await;
    let two = spawn_app_with_settings(webhook_settings(&url), None, None).await;
    let receiver = Receiver::start(200).await;
    let admin = one.admin("root").await;
    let webhook = register(&one, &admin, &receiver.url, &["message.created"]).await["id"]
        .as_i64()
        .unwrap();
    const CLIENTS: usize = 6;
    const MESSAGES: usize = 4;
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let app = if i % 2 == 0 { &one } else { &two };
        let client = app.client(&format!("client{i}")).await;
        let thread = app.write(&client, json!("other"), "0").await["thread"]["id"]
            .as_i64()
            .unwrap();
        clients.push((client, thread));
    }
    for m in 1..MESSAGES {
        for (i, (client, thread)) in clients.iter().enumerate() {
            let app = if (i + m) % 2 == 0 { &one } else { &two };
            let resp = app.reply(*thread, client, &m.to_string()).await;
            assert_eq!(resp.status(), StatusCode::CREATED);
        }
    }
    wait_for_deliveries(&one, &admin, webhook, CLIENTS * MESSAGES, "delivered").await;
    // A moment more for any duplicate to show.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        CLIENTS * MESSAGES,
        "each event exactly once"
    );
    let ids: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(ids.len(), received.len());
    let mut per_thread: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &received {
        let body = r.json();
        per_thread
            .entry(body["data"]["thread_id"].as_i64().unwrap())
            .or_default()
            .push(body["data"]["body"].as_str().unwrap().parse().unwrap());
    }
    for bodies in per_thread.values() {
        assert_eq!(bodies, &(0..MESSAGES as i64).collect::<Vec<_>>());
    }
}

/// A name that resolves to a private address is refused when delivering (the check after
/// resolution), retried, then failed and the endpoint disabled.
async fn a_name_resolving_to_a_private_address_is_refused_when_delivering(backend: Backend) {
    let (url, guard) = fresh_store(backend);
    let mut settings = webhook_settings(&url);
    settings.webhooks.allow_private_targets = false;
    settings.webhooks.max_attempts = 2;
    let app = spawn_app_with_settings(settings, guard, None).await;
    let receiver = Receiver::start(200).await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    // Registered behind the API's back (which refuses `localhost` outright): as a public name
    // that DNS answers with a loopback address would be.
    let store = app.chat.store().clone();
    let target = format!("http://localhost:{port}/hooks/chat");
    let webhook = actix_web::web::block(move || {
        store.insert_webhook(NewWebhook {
            url: target,
            events: vec![WebhookEventType::ThreadOpened],
            include_notes: false,
            secret: SECRET.into(),
            created_at: chat_domain::Timestamp(0),
        })
    })
    .await
    .unwrap()
    .unwrap();
    let admin = app.admin("root").await;
    let ann = app.client("ann").await;
    app.write(&ann, json!("loan"), "hello").await;
    let log = wait_for_deliveries(&app, &admin, webhook.id.0, 1, "failed").await;
    assert!(
        log[0]["last_error"].as_str().unwrap().contains("refused"),
        "{log:?}"
    );
    assert_eq!(log[0]["attempts"], 2);
    assert!(receiver.received().is_empty(), "nothing reached the target");
    let list: Value = app
        .get("/api/v1/webhooks", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["enabled"], false);
    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        text.contains("chat_webhook_delivery_failures_total 1"),
        "{text}"
    );
}
