//! Bad input: 400 for what cannot be read, 422 for values the domain refuses, 413 for bodies
//! over the limit; always the error shape, and nothing changes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    bad_json_input_is_refused_and_changes_nothing,
    bad_seed_input_is_refused_and_changes_nothing,
    bad_paths_and_queries_are_400,
);

async fn thread_count(app: &TestApp, token: &str) -> usize {
    let list: Value = app
        .get("/api/v1/threads", Some(token))
        .await
        .json()
        .await
        .unwrap();
    list["items"].as_array().unwrap().len()
}

async fn bad_json_input_is_refused_and_changes_nothing(app: TestApp) {
    let ann = app.client("ann").await;
    let token = Some(ann.token.as_str());
    let post = |body: &'static [u8]| {
        app.request(Method::POST, "/api/v1/threads", token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_error(
        post(b"{\"thread_type\": 1, \"body\": ").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    assert_error(
        post(b"").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    assert_error(
        post(b"{\"thread_type\": 1, \"body\": \"\xff\xfe\"}")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    // Missing field.
    assert_error(
        app.post_json("/api/v1/threads", json!({"thread_type": 1}), token)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    // Unknown thread type, empty body, oversized message.
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": 7, "body": "x"}),
            token,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": "mortgage", "body": "x"}),
            token,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": 1, "body": "   "}),
            token,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": 1, "body": "x".repeat(4001)}),
            token,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    // A body over the server's limit.
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": 1, "body": "x".repeat(100_000)}),
            token,
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_eq!(thread_count(&app, &ann.token).await, 0);
    // Bad sign-ups.
    assert_error(
        app.post_json(
            "/api/v1/users",
            json!({"username": "x y", "password": "password-123"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/v1/users",
            json!({"username": "xy", "password": "short"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(
            "/api/v1/users",
            json!({"username": "xy", "password": "password-123", "role": "boss"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json("/api/v1/users", json!({"username": "xy"}), None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    assert_error(
        app.log_in("xy", "password-123").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

async fn bad_seed_input_is_refused_and_changes_nothing(app: TestApp) {
    let ann = app.client("ann").await;
    let send = |body: &'static [u8], content_type: &'static str| {
        app.request(Method::POST, "/chat-app/send-message/", None)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form = "application/x-www-form-urlencoded";
    assert_error(
        send(
            b"username=ann&password=password-123&message_body=%zz&thread_type=1",
            form,
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_form",
    )
    .await;
    assert_error(
        send(
            b"username=ann&password=password-123&message_body=%ff%fe&thread_type=1",
            form,
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_encoding",
    )
    .await;
    assert_error(
        send(
            b"username=ann&password=password-123&message_body=\xff&thread_type=1",
            form,
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_encoding",
    )
    .await;
    assert_error(
        send(b"{\"username\": \"ann\",", "application/json")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_json",
    )
    .await;
    assert_error(
        send(b"--nope\r\n", "multipart/form-data; boundary=XYZ")
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "bad_form",
    )
    .await;
    assert_error(
        send(b"username=ann&password=password-123&thread_type=1", form)
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "missing_field",
    )
    .await;
    assert_error(
        send(
            b"username=ann&password=password-123&message_body=&thread_type=1",
            form,
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        send(
            b"username=ann&password=password-123&message_body=hi&thread_type=loans",
            form,
        )
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let big = format!(
        "username=ann&password=password-123&thread_type=1&message_body={}",
        "x".repeat(100_000)
    );
    let resp = app
        .request(Method::POST, "/chat-app/send-message/", None)
        .header("content-type", form)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(thread_count(&app, &ann.token).await, 0);
}

async fn bad_paths_and_queries_are_400(app: TestApp) {
    let ann = app.client("ann").await;
    let token = Some(ann.token.as_str());
    assert_error(
        app.get("/api/v1/threads/abc", token).await,
        StatusCode::BAD_REQUEST,
        "bad_path",
    )
    .await;
    assert_error(
        app.get("/api/v1/threads?client_id=abc", token).await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    assert_error(
        app.form(Method::DELETE, "/chat-app/user/abc/", &[]).await,
        StatusCode::BAD_REQUEST,
        "bad_path",
    )
    .await;
    assert_error(
        app.get("/api/v1/nothing-here", token).await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    )
    .await;
}
