//! `GET /api/v1/clients?q=..&limit=`: staff look clients up by part of their username.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    staff_find_active_clients_by_part_of_the_username,
    clients_may_not_look_others_up_and_q_is_checked,
);

async fn usernames(app: &TestApp, path: &str, token: &str) -> Vec<String> {
    let resp = app.get(path, Some(token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["role"], "client");
            assert!(u.get("password_hash").is_none() && u["id"].is_i64());
            assert!(u["created_at"].is_string());
            u["username"].as_str().unwrap().to_owned()
        })
        .collect()
}

async fn staff_find_active_clients_by_part_of_the_username(app: TestApp) {
    app.client("annika").await;
    app.client("joanna").await;
    let anna = app.client("Anna").await;
    app.client("bob").await;
    let agent = app.agent("agent-ann").await;
    let admin = app.admin("admin-ann").await;
    let resp = app
        .delete(&format!("/api/v1/users/{}", anna.id), Some(&anna.token))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);

    // Case-insensitive, prefix matches first; staff and deleted clients are not listed.
    let found = usernames(&app, "/api/v1/clients?q=ANN", &agent.token).await;
    assert_eq!(found, vec!["annika", "joanna"]);
    let found = usernames(&app, "/api/v1/clients?q=ann&limit=1", &admin.token).await;
    assert_eq!(found, vec!["annika"]);
    assert!(usernames(&app, "/api/v1/clients?q=zzz", &agent.token)
        .await
        .is_empty());
}

async fn clients_may_not_look_others_up_and_q_is_checked(app: TestApp) {
    let ann = app.client("ann").await;
    let agent = app.agent("agent").await;
    assert_error(
        app.get("/api/v1/clients?q=a", Some(&ann.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get("/api/v1/clients?q=a", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/v1/clients", Some(&agent.token)).await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/clients?q=%20", Some(&agent.token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.get("/api/v1/clients?q=a&limit=x", Some(&agent.token))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
}
