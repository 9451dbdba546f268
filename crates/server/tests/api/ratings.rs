//! Ratings (`POST /api/v1/threads/{id}/rating`), on each store.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Actor, TestApp};
use crate::notes::next_of;

on_every_store!(a_client_rates_each_resolution_once_and_staff_are_told,);

async fn rate(app: &TestApp, thread: i64, who: &Actor, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/threads/{thread}/rating"),
        body,
        Some(&who.token),
    )
    .await
}

async fn resolve(app: &TestApp, thread: i64, who: &Actor) {
    let resp = app
        .put_json(
            &format!("/api/v1/threads/{thread}/status"),
            json!({"status": "resolved"}),
            Some(&who.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

async fn a_client_rates_each_resolution_once_and_staff_are_told(app: TestApp) {
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    let bo = app.agent("bo").await;
    let thread = app.write(&ann, json!(1), "my loan?").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread, &bo).await;
    app.reply(thread, &bo, "approved").await;
    assert_error(
        rate(&app, thread, &ann, json!({"score": 5})).await,
        StatusCode::CONFLICT,
        "thread_not_resolved",
    )
    .await;
    resolve(&app, thread, &bo).await;

    let (mut queue_ws, _) = tokio_tungstenite::connect_async(format!(
        "{}/ws/queue?token={}",
        app.address.replacen("http", "ws", 1),
        bo.token
    ))
    .await
    .unwrap();
    next_of(&mut queue_ws, "ready").await;

    for (who, body, status, code) in [
        (&bo, json!({"score": 5}), StatusCode::FORBIDDEN, "forbidden"),
        (&cy, json!({"score": 5}), StatusCode::FORBIDDEN, "forbidden"),
        (
            &ann,
            json!({"score": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            &ann,
            json!({"score": 6}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            &ann,
            json!({"score": 4, "comment": "bell\u{7}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ] {
        assert_error(rate(&app, thread, who, body).await, status, code).await;
    }
    let resp = rate(
        &app,
        thread,
        &ann,
        json!({"score": 5, "comment": " quick, thanks "}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let rating: Value = resp.json().await.unwrap();
    assert_eq!(rating["thread_id"], thread);
    assert_eq!(rating["client_id"], ann.id);
    assert_eq!(rating["agent_id"], bo.id);
    assert_eq!(rating["score"], 5);
    assert_eq!(rating["comment"], "quick, thanks");
    let told = next_of(&mut queue_ws, "thread.rated").await;
    assert_eq!(
        told,
        json!({"type": "thread.rated", "thread_id": thread, "agent_id": bo.id, "score": 5,
               "comment": "quick, thanks"})
    );
    assert_error(
        rate(&app, thread, &ann, json!({"score": 1})).await,
        StatusCode::CONFLICT,
        "already_rated",
    )
    .await;

    // Reopened by the client and resolved again: a new resolution, a new rating.
    app.post_json(
        &format!("/api/v1/threads/{thread}/messages"),
        json!({"body": "one more thing"}),
        Some(&ann.token),
    )
    .await;
    assert_error(
        rate(&app, thread, &ann, json!({"score": 1})).await,
        StatusCode::CONFLICT,
        "thread_not_resolved",
    )
    .await;
    app.claim(thread, &bo).await;
    resolve(&app, thread, &bo).await;
    let resp = rate(&app, thread, &ann, json!({"score": 2, "comment": null})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["score"], 2);
    assert!(second["comment"].is_null());
    assert_error(
        rate(&app, thread + 1000, &ann, json!({"score": 3})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
