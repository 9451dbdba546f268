//! Log-in throttling: repeated failed password checks lock the username (and the client's
//! address) for a while, on the JSON log-in and on the seed's username + password fields alike,
//! without telling whether the user exists. With Redis configured, every instance shares the
//! counts.

use std::sync::Arc;

use chat_domain::Timestamp;
use chat_memory::ManualClock;
use chat_server::settings::Secret;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    fresh_store, spawn_app_with, spawn_app_with_settings, test_settings, Backend, TestApp,
};

on_every_store!(
    with crate::helpers::spawn_app_with_clock;
    the_eleventh_bad_password_is_refused_even_when_right_until_the_lockout_ends,
    unknown_usernames_are_locked_exactly_like_known_ones,
    the_seed_endpoints_count_and_honour_the_same_lockout,
    a_good_log_in_forgets_the_usernames_earlier_failures,
);

/// Behind a proxy that sets `X-Forwarded-For` (trusted), with at most 5 failures per address.
mod behind_a_proxy {
    use super::*;
    on_every_store!(
        with crate::throttle::spawn_with_a_low_ip_limit;
        one_address_guessing_many_usernames_is_locked_but_others_are_not,
    );
}

/// Behind a proxy that sets `X-Forwarded-For` (trusted), with the default limits.
mod two_addresses {
    use super::*;
    on_every_store!(
        with crate::throttle::spawn_behind_a_proxy;
        a_guesser_at_one_address_does_not_lock_the_owner_out_at_another,
    );
}

/// Clients connect directly (`X-Forwarded-For` not trusted), at most 5 failures per address.
mod direct {
    use super::*;
    on_every_store!(
        with crate::throttle::spawn_with_a_low_ip_limit_and_no_proxy;
        a_forged_forwarded_for_header_does_not_dodge_the_address_limit,
    );
}

/// Address A fails ann's password 20 times (locked from A, its own address limit too); ann logs
/// in from address B with the right password.
async fn a_guesser_at_one_address_does_not_lock_the_owner_out_at_another(app: TestApp) {
    app.client("ann").await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(
            log_in_from(&app, "203.0.113.1", "ann", "wrong-password")
                .await
                .status(),
        );
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(statuses[19], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Locked from A, right password or not.
    assert_locked(
        log_in_from(&app, "203.0.113.1", "ann", "password-123").await,
        900,
    )
    .await;
    // B: the owner gets in.
    let resp = log_in_from(&app, "198.51.100.7", "ann", "password-123").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

async fn spawn_behind_a_proxy(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.server.trust_forwarded_for = true).await
}

async fn spawn_with_a_low_ip_limit(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.auth.login_max_failures_per_ip = 5;
        s.server.trust_forwarded_for = true;
    })
    .await
}

async fn spawn_with_a_low_ip_limit_and_no_proxy(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.auth.login_max_failures_per_ip = 5).await
}

async fn log_in_from(app: &TestApp, ip: &str, username: &str, password: &str) -> Response {
    app.request(Method::POST, "/api/v1/sessions", None)
        .header("X-Forwarded-For", ip)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Checks a 429 in full and returns its body.
async fn assert_locked(resp: Response, retry_after: u64) -> Value {
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers()["retry-after"].to_str().unwrap(),
        retry_after.to_string()
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    assert!(body["error"]["message"].is_string());
    assert_eq!(body["error"]["retry_after_seconds"], retry_after);
    body
}

async fn fail_times(app: &TestApp, username: &str, times: usize) {
    for _ in 0..times {
        let resp = app.log_in(username, "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
}

async fn the_eleventh_bad_password_is_refused_even_when_right_until_the_lockout_ends(app: TestApp) {
    app.client("ann").await;
    app.client("bob").await;
    fail_times(&app, "ann", 10).await;
    assert_locked(app.log_in("ann", "wrong-password").await, 900).await;
    // The right password does not help while locked.
    assert_locked(app.log_in("ann", "password-123").await, 900).await;
    // Other users are unaffected.
    assert_eq!(
        app.log_in("bob", "password-123").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.log_in("bob", "wrong-password").await.status(),
        StatusCode::UNAUTHORIZED
    );

    app.advance_secs(899);
    assert_locked(app.log_in("ann", "password-123").await, 1).await;
    app.advance_secs(1);
    assert_eq!(
        app.log_in("ann", "password-123").await.status(),
        StatusCode::CREATED
    );
}

async fn unknown_usernames_are_locked_exactly_like_known_ones(app: TestApp) {
    app.client("ann").await;
    fail_times(&app, "ann", 10).await;
    fail_times(&app, "ghost", 10).await;
    let known = assert_locked(app.log_in("ann", "password-123").await, 900).await;
    let unknown = assert_locked(app.log_in("ghost", "password-123").await, 900).await;
    assert_eq!(known, unknown);
}

async fn the_seed_endpoints_count_and_honour_the_same_lockout(app: TestApp) {
    app.client("ann").await;
    for _ in 0..5 {
        let resp = app
            .form(
                Method::POST,
                "/chat-app/send-message/",
                &[
                    ("username", "ann"),
                    ("password", "wrong-password"),
                    ("message_body", "hello"),
                    ("thread_type", "1"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    fail_times(&app, "ann", 4).await;
    let resp = app
        .form(
            Method::GET,
            "/chat-app/message-list/",
            &[
                ("username", "ann"),
                ("password", "wrong-password"),
                ("thread_type", "1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Ten failures across both surfaces: locked on both.
    let resp = app
        .form(
            Method::POST,
            "/chat-app/send-message/",
            &[
                ("username", "ann"),
                ("password", "password-123"),
                ("message_body", "hello"),
                ("thread_type", "1"),
            ],
        )
        .await;
    assert_locked(resp, 900).await;
    assert_locked(app.log_in("ann", "password-123").await, 900).await;
    // A bearer token does not go through the password check, so it still works.
    let token = {
        app.advance_secs(900);
        let resp = app.log_in("ann", "password-123").await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    };
    fail_times(&app, "ann", 10).await;
    let resp = app
        .request(Method::POST, "/chat-app/send-message/", Some(&token))
        .form(&[("message_body", "hello"), ("thread_type", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn a_good_log_in_forgets_the_usernames_earlier_failures(app: TestApp) {
    app.client("ann").await;
    fail_times(&app, "ann", 9).await;
    assert_eq!(
        app.log_in("ann", "password-123").await.status(),
        StatusCode::CREATED
    );
    fail_times(&app, "ann", 9).await;
    assert_eq!(
        app.log_in("ann", "password-123").await.status(),
        StatusCode::CREATED
    );
}

async fn one_address_guessing_many_usernames_is_locked_but_others_are_not(app: TestApp) {
    app.client("carol").await;
    for i in 0..5 {
        let resp = log_in_from(&app, "203.0.113.7", &format!("user{i}"), "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert_locked(
        log_in_from(&app, "203.0.113.7", "carol", "password-123").await,
        900,
    )
    .await;
    assert_eq!(
        log_in_from(&app, "198.51.100.1", "carol", "password-123")
            .await
            .status(),
        StatusCode::CREATED
    );
}

async fn a_forged_forwarded_for_header_does_not_dodge_the_address_limit(app: TestApp) {
    app.client("carol").await;
    for i in 0..5 {
        let forged = format!("198.51.100.{i}");
        let resp = log_in_from(&app, &forged, &format!("user{i}"), "wrong-password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    assert_locked(
        log_in_from(&app, "198.51.100.200", "carol", "password-123").await,
        900,
    )
    .await;
}

/// Two instances on one Postgres store and one Redis (a fresh prefix), on one test clock.
async fn two_instances_sharing_redis() -> (TestApp, TestApp) {
    let (url, dir) = fresh_store(Backend::Postgres);
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let mut settings = test_settings(&url);
    settings.redis.url = Secret::new(
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    );
    settings.redis.channel_prefix = format!("throttle-http-{}", uuid::Uuid::new_v4());
    let a = spawn_app_with_settings(settings.clone(), dir, Some(Arc::clone(&clock))).await;
    let b = spawn_app_with_settings(settings, None, Some(clock)).await;
    (a, b)
}

#[actix_web::test]
async fn failures_on_one_instance_count_on_the_other_through_redis() {
    let (a, b) = two_instances_sharing_redis().await;
    a.client("ann").await;
    // Ten failures in all, alternating: each instance saw only five, under the limit alone.
    for _ in 0..5 {
        fail_times(&a, "ann", 1).await;
        fail_times(&b, "ann", 1).await;
    }
    // The eleventh attempt is refused on either instance, right password or not.
    assert_locked(a.log_in("ann", "wrong-password").await, 900).await;
    assert_locked(b.log_in("ann", "password-123").await, 900).await;
    assert_locked(a.log_in("ann", "password-123").await, 900).await;
    // The lockout ends for both at once.
    a.advance_secs(900);
    assert_eq!(
        b.log_in("ann", "password-123").await.status(),
        StatusCode::CREATED
    );
    // That success forgot ann's failures on A too.
    fail_times(&a, "ann", 9).await;
    assert_eq!(
        a.log_in("ann", "password-123").await.status(),
        StatusCode::CREATED
    );
}
