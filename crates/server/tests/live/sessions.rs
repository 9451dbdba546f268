//! Ended sessions across instances, with the session cache on (the default): a token that one
//! instance has read and cached, ended on another instance (a log-out, a deleted user), is
//! refused by both, over REST and for a new socket, while the user's other sessions work on.
//! And failed passwords across instances, with the verified-credential cache on (the default):
//! a seed client whose remembered password skips the log-in throttle's check on one instance
//! is locked out there too once another instance locked its username.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const ME: &str = "/api/v1/users/me";

/// Waits until `instance` refuses `token` (it hears of the end over the bus); panics after a
/// generous deadline, which only a lost end would reach.
async fn refused_by(instance: &Instance, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = instance.get(ME, token).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "only a refusal or the user is expected"
        );
        assert!(
            Instant::now() < deadline,
            "the ended session is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refusal = Socket::connect(&instance.ws_url(&format!("/ws/queue?token={token}"))).await;
    match refusal {
        Ok(_) => panic!("a socket opened with an ended session"),
        Err((status, _)) => assert_eq!(status, 401),
    }
}

async fn accepted_by(instance: &Instance, user: &User) {
    let (status, body) = instance.get(ME, &user.token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], user.id);
}

async fn a_log_out_on_one_instance_is_refused_on_the_other(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let ann = a.new_client().await;
    let other = a.log_in(&ann.username, PASSWORD).await;
    // Both instances read (and cache) both sessions.
    for instance in [&a, &b] {
        accepted_by(instance, &ann).await;
        accepted_by(instance, &other).await;
    }
    assert_eq!(
        a.delete("/api/v1/sessions/current", &ann.token).await,
        StatusCode::NO_CONTENT
    );
    // Its own instance refuses it at once.
    assert_eq!(a.get(ME, &ann.token).await.0, StatusCode::UNAUTHORIZED);
    refused_by(&b, &ann.token).await;
    for instance in [&a, &b] {
        accepted_by(instance, &other).await;
    }
}

async fn a_user_deleted_on_one_instance_is_refused_on_the_other(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let ann = a.new_client().await;
    let bob = a.new_client().await;
    for instance in [&a, &b] {
        accepted_by(instance, &ann).await;
        accepted_by(instance, &bob).await;
    }
    let admin = a.admin().await;
    assert_eq!(
        a.delete(&format!("/api/v1/users/{}", ann.id), &admin.token)
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(a.get(ME, &ann.token).await.0, StatusCode::UNAUTHORIZED);
    refused_by(&b, &ann.token).await;
    for instance in [&a, &b] {
        accepted_by(instance, &bob).await;
    }
}

/// `POST /chat-app/send-message/` with the seed's username + password; the answer's status.
async fn seed_send(instance: &Instance, username: &str, password: &str) -> StatusCode {
    let fields = json!({
        "username": username,
        "password": password,
        "message_body": "hello",
        "thread_type": "1",
    });
    instance
        .post("/chat-app/send-message/", fields, None)
        .await
        .0
}

async fn a_lock_out_on_one_instance_holds_for_a_remembered_password_on_the_other(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let bob = a.new_client().await;
    // Instance a verifies bob's password, then remembers it and that it passed the throttle.
    for _ in 0..3 {
        assert_eq!(seed_send(&a, &bob.username, PASSWORD).await, StatusCode::OK);
    }
    // Instance b counts failures from the same address until it locks the username there.
    let mut locked = false;
    for _ in 0..30 {
        match seed_send(&b, &bob.username, "wrong-password").await {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                locked = true;
                break;
            }
            other => panic!("unexpected answer {other}"),
        }
    }
    assert!(locked, "instance b never locked the username");
    assert_eq!(
        seed_send(&b, &bob.username, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Instance a hears of the failures and answers as the shared throttle does.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match seed_send(&a, &bob.username, PASSWORD).await {
            StatusCode::TOO_MANY_REQUESTS => break,
            StatusCode::OK => assert!(
                Instant::now() < deadline,
                "a remembered password still skips a lock-out made on another instance"
            ),
            other => panic!("unexpected answer {other}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

on_single_redis_and_cluster!(
    a_log_out_on_one_instance_is_refused_on_the_other,
    a_user_deleted_on_one_instance_is_refused_on_the_other,
    a_lock_out_on_one_instance_holds_for_a_remembered_password_on_the_other,
);
