//! Ratings (`POST /api/v1/threads/{id}/rating`), on each store.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::next_of;
use crate::helpers::{assert_error, Actor, TestApp};

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

    // Reopened by an admin with no message at all, and resolved again: a new resolution too.
    let di = app.admin("di").await;
    let resp = app
        .put_json(
            &format!("/api/v1/threads/{thread}/status"),
            json!({"status": "open"}),
            Some(&di.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resolve(&app, thread, &di).await;
    let resp = rate(&app, thread, &ann, json!({"score": 4})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_error(
        rate(&app, thread, &ann, json!({"score": 1})).await,
        StatusCode::CONFLICT,
        "already_rated",
    )
    .await;
    assert_error(
        rate(&app, thread + 1000, &ann, json!({"score": 3})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

mod auto_resolve {
    use reqwest::StatusCode;
    use serde_json::{json, Value};

    use crate::helpers::{spawn_app_with, Backend, TestApp};

    async fn app(backend: Backend) -> TestApp {
        spawn_app_with(backend, |s| {
            s.desk.auto_resolve_after_minutes = 30;
            s.claims.sweep_interval_seconds = 1;
        })
        .await
    }

    #[actix_web::test]
    async fn postgres() {
        an_idle_pending_thread_is_resolved_with_a_message_then_rated(app(Backend::Postgres).await)
            .await;
    }

    #[actix_web::test]
    async fn sqlite() {
        an_idle_pending_thread_is_resolved_with_a_message_then_rated(app(Backend::Sqlite).await)
            .await;
    }

    async fn status(app: &TestApp, thread: i64, token: &str) -> String {
        let t: Value = app
            .get(&format!("/api/v1/threads/{thread}"), Some(token))
            .await
            .json()
            .await
            .unwrap();
        t["status"].as_str().unwrap().to_owned()
    }

    async fn an_idle_pending_thread_is_resolved_with_a_message_then_rated(app: TestApp) {
        let ann = app.client("ann").await;
        let bo = app.agent("bo").await;
        let thread = app.write(&ann, json!(1), "my loan?").await["thread"]["id"]
            .as_i64()
            .unwrap();
        app.claim(thread, &bo).await;
        app.reply(thread, &bo, "approved, anything else?").await;
        assert_eq!(status(&app, thread, &ann.token).await, "pending");
        app.advance_secs(31 * 60);
        // The sweep runs every second of real time; wait for it (bounded), not for a time.
        let mut resolved = false;
        for _ in 0..100 {
            if status(&app, thread, &ann.token).await == "resolved" {
                resolved = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(resolved, "not auto-resolved");
        let messages: Value = app.messages(thread, &ann).await.json().await.unwrap();
        let last = messages["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert!(
            last["body"]
                .as_str()
                .unwrap()
                .contains("resolved automatically after 30 minutes"),
            "{last}"
        );
        assert_eq!(last["sender_id"], bo.id);
        assert_eq!(
            last["system"], true,
            "the notice is the desk's, not typed: {last}"
        );
        let typed: Vec<&Value> = messages["items"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .skip(1)
            .collect();
        assert!(!typed.is_empty());
        assert!(typed.iter().all(|m| m["system"] == false), "{typed:?}");
        let resp = app
            .post_json(
                &format!("/api/v1/threads/{thread}/rating"),
                json!({"score": 3}),
                Some(&ann.token),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        app.post_json(
            &format!("/api/v1/threads/{thread}/messages"),
            json!({"body": "actually, one more thing"}),
            Some(&ann.token),
        )
        .await;
        assert_eq!(status(&app, thread, &ann.token).await, "open");
    }
}
