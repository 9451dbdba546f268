//! The server refuses what the OpenAPI document refuses, and accepts what it accepts, where the
//! two once parted: page bounds are refused (422), not clamped or taken; staff must name a
//! client; JSON integers written with `.0` are integers; a password is counted in characters
//! from below and in bytes from above.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    out_of_range_pages_are_refused_not_clamped,
    staff_name_the_client_whose_threads_to_list,
    integers_with_a_zero_fraction_are_integers,
    passwords_are_8_characters_to_72_bytes
);

async fn out_of_range_pages_are_refused_not_clamped(app: TestApp) {
    let ann = app.client("ann").await;
    let thread = app.write(&ann, json!(1), "hello").await;
    let id = thread["thread"]["id"].as_i64().unwrap();
    let agent = app.agent("cy").await;
    let token = Some(agent.token.as_str());
    for (path, field) in [
        ("/api/v1/queue?limit=0", "limit"),
        ("/api/v1/queue?limit=201", "limit"),
        ("/api/v1/queue?limit=2147483648", "limit"),
        ("/api/v1/queue?offset=2147483648", "offset"),
        ("/api/v1/search?q=hello&limit=101", "limit"),
        ("/api/v1/clients?q=ann&limit=0", "limit"),
    ] {
        let resp = app.get(path, token).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{path}");
    }
    let messages = format!("/api/v1/threads/{id}/messages");
    for (query, field) in [("?limit=501", "limit"), ("?after_seq=-1", "after_seq")] {
        let resp = app.get(&format!("{messages}{query}"), token).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["field"], field);
    }
    // The bounds themselves are taken.
    for path in [
        "/api/v1/queue?limit=200&offset=2147483647".to_owned(),
        "/api/v1/queue?limit=1".to_owned(),
        format!("{messages}?limit=500&after_seq=0"),
    ] {
        assert_eq!(
            app.get(&path, token).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}

async fn staff_name_the_client_whose_threads_to_list(app: TestApp) {
    let ann = app.client("ann").await;
    app.write(&ann, json!(1), "hello").await;
    let agent = app.agent("cy").await;
    // Naming no client, staff get a page of every conversation instead.
    let all: Value = app
        .get("/api/v1/threads", Some(&agent.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["total"], 1, "a staff page, not a client's list: {all}");
    let listed: Value = app
        .get(
            &format!("/api/v1/threads?client_id={}", ann.id),
            Some(&agent.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let own: Value = app
        .get("/api/v1/threads", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["items"], listed["items"]);
}

async fn integers_with_a_zero_fraction_are_integers(app: TestApp) {
    let ann = app.client("ann").await;
    let token = Some(ann.token.as_str());
    let resp = app
        .post_json(
            "/api/v1/threads",
            json!({"thread_type": 2.0, "body": "hi"}),
            token,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sent: Value = resp.json().await.unwrap();
    assert_eq!(sent["thread"]["thread_type"], "payment");
    let id = sent["thread"]["id"].as_i64().unwrap();
    let read = format!("/api/v1/threads/{id}/read");
    let resp = app.post_json(&read, json!({"up_to_seq": 1.0}), token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    for not_integer in [json!(1.5), json!(1e300), json!("1")] {
        let resp = app
            .post_json(&read, json!({ "up_to_seq": not_integer }), token)
            .await;
        assert_error(resp, StatusCode::BAD_REQUEST, "bad_json").await;
    }
}

async fn passwords_are_8_characters_to_72_bytes(app: TestApp) {
    let sign_up = |username: &'static str, password: String| {
        app.post_json(
            "/api/v1/users",
            json!({"username": username, "password": password}),
            None,
        )
    };
    // Eight bytes but two characters: too short.
    assert_error(
        sign_up("ann", "😀😀".into()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(
        sign_up("bob", "é".repeat(8)).await.status(),
        StatusCode::CREATED
    );
    // 36 two-byte characters are 72 bytes; 37 are too many.
    assert_eq!(
        sign_up("cy", "é".repeat(36)).await.status(),
        StatusCode::CREATED
    );
    assert_error(
        sign_up("di", "é".repeat(37)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
}
