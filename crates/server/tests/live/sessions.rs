//! Ended sessions across instances, with the session cache on (the default): a token that one
//! instance has read and cached, ended on another instance (a log-out, a deleted user), is
//! refused by both, over REST and for a new socket, while the user's other sessions work on.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

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

on_single_redis_and_cluster!(
    a_log_out_on_one_instance_is_refused_on_the_other,
    a_user_deleted_on_one_instance_is_refused_on_the_other,
);
