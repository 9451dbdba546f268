//! Routing over HTTP: availability, capacity, the mode, automatic assignment and transfer.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, Actor, TestApp};

on_every_store!(
    availability_capacity_and_mode_follow_their_rules,
    auto_mode_gives_the_most_urgent_to_the_least_loaded_online_agent,
    transfer_hands_a_conversation_over_under_the_rules,
    bodies_must_be_objects,
);

async fn patch_json(app: &TestApp, path: &str, body: Value, token: &str) -> reqwest::Response {
    app.request(Method::PATCH, path, Some(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn set_availability(app: &TestApp, who: &Actor, availability: &str) -> reqwest::Response {
    app.put_json(
        "/api/v1/users/me/availability",
        json!({"availability": availability}),
        Some(&who.token),
    )
    .await
}

async fn thread(app: &TestApp, id: i64, who: &Actor) -> Value {
    let resp = app
        .get(&format!("/api/v1/threads/{id}"), Some(&who.token))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// The holder of a thread, waiting (polling, at most 10 s) until `done` says it is settled.
async fn until_settled(app: &TestApp, ids: &[i64], who: &Actor, held: usize) -> Vec<Option<i64>> {
    for _ in 0..200 {
        let mut holders = Vec::new();
        for id in ids {
            holders.push(thread(app, *id, who).await["claim"]["agent_id"].as_i64());
        }
        if holders.iter().filter(|h| h.is_some()).count() >= held {
            return holders;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the router did not assign {held} threads");
}

async fn availability_capacity_and_mode_follow_their_rules(app: TestApp) {
    let carl = app.client("carl").await;
    let ann = app.agent("ann").await;
    let boss = app.admin("boss").await;
    assert_error(
        set_availability(&app, &carl, "online").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        set_availability(&app, &ann, "busy").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let resp = set_availability(&app, &ann, "Online").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let state: Value = resp.json().await.unwrap();
    assert_eq!(state["username"], "ann");
    assert_eq!(state["availability"], "online");
    assert_eq!(state["capacity"], 5);
    assert_eq!(state["capacity_is_default"], true);
    assert_eq!(state["held"], 0);

    let path = format!("/api/v1/users/{}", ann.id);
    assert_error(
        patch_json(&app, &path, json!({"capacity": 2}), &ann.token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        patch_json(&app, &path, json!({"capacity": 101}), &boss.token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        patch_json(&app, &path, json!({"capacity": -1}), &boss.token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        patch_json(
            &app,
            &format!("/api/v1/users/{}", carl.id),
            json!({"capacity": 2}),
            &boss.token,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let resp = patch_json(&app, &path, json!({"capacity": 2.0}), &boss.token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let state: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            state["capacity"].as_i64(),
            state["capacity_is_default"].as_bool()
        ),
        (Some(2), Some(false))
    );
    let resp = patch_json(&app, &path, json!({"capacity": null}), &boss.token).await;
    let state: Value = resp.json().await.unwrap();
    assert_eq!(state["capacity_is_default"], true);

    assert_error(
        app.get("/api/v1/agents", Some(&carl.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let agents: Value = app
        .get("/api/v1/agents", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    let ann_row = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == ann.id)
        .unwrap();
    assert_eq!(ann_row["username"], "ann");
    assert_eq!(ann_row["availability"], "online");

    let mode: Value = app
        .get("/api/v1/routing", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mode["mode"], "manual");
    assert_error(
        app.get("/api/v1/routing", Some(&carl.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.put_json("/api/v1/routing", json!({"mode": "auto"}), Some(&ann.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.put_json(
            "/api/v1/routing",
            json!({"mode": "robin"}),
            Some(&boss.token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let resp = app
        .put_json(
            "/api/v1/routing",
            json!({"mode": "AUTO"}),
            Some(&boss.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mode: Value = app
        .get("/api/v1/routing", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mode["mode"], "auto");
}

async fn auto_mode_gives_the_most_urgent_to_the_least_loaded_online_agent(app: TestApp) {
    let boss = app.admin("boss").await;
    let ann = app.agent("ann").await;
    let bo = app.agent("bo").await;
    for agent in [&ann, &bo] {
        let path = format!("/api/v1/users/{}", agent.id);
        assert_eq!(
            patch_json(&app, &path, json!({"capacity": 1}), &boss.token)
                .await
                .status(),
            StatusCode::OK
        );
    }
    let mut ids = Vec::new();
    for (name, body) in [
        ("low", "thanks for the great service last week"),
        (
            "high",
            "someone stole my card and money is leaving my account right now",
        ),
        ("mid", "my payment failed twice today, please help"),
    ] {
        let c = app.client(name).await;
        ids.push(
            app.write(&c, json!(2), body).await["thread"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    // Manual mode: nothing happens by itself; agents online.
    for agent in [&ann, &bo] {
        assert_eq!(
            set_availability(&app, agent, "online").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(app.queue_ids(&ann).await.len(), 3);
    app.put_json(
        "/api/v1/routing",
        json!({"mode": "auto"}),
        Some(&boss.token),
    )
    .await;
    let holders = until_settled(&app, &ids, &ann, 2).await;
    // The two most urgent are held, one each; the least urgent waits.
    assert_eq!(holders[0], None);
    let mut got = vec![holders[1].unwrap(), holders[2].unwrap()];
    got.sort();
    let mut want = vec![ann.id, bo.id];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(app.queue_ids(&ann).await, vec![ids[0]]);
    // The holder replies (only the holder may).
    let high_holder = if holders[1] == Some(ann.id) {
        &ann
    } else {
        &bo
    };
    let other = if holders[1] == Some(ann.id) {
        &bo
    } else {
        &ann
    };
    assert_eq!(
        app.reply(ids[1], high_holder, "on it").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.reply(ids[1], other, "me too").await.status(),
        StatusCode::CONFLICT
    );
    // Resolving frees a slot: the waiting one goes to that agent.
    let resp = app
        .put_json(
            &format!("/api/v1/threads/{}/status", ids[1]),
            json!({"status": "resolved"}),
            Some(&high_holder.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let holders = until_settled(&app, &ids[..1], &ann, 1).await;
    assert_eq!(holders[0], Some(high_holder.id));
}

async fn transfer_hands_a_conversation_over_under_the_rules(app: TestApp) {
    let boss = app.admin("boss").await;
    let ann = app.agent("ann").await;
    let bo = app.agent("bo").await;
    let carl = app.client("carl").await;
    let t = app.write(&carl, json!(1), "where is my loan").await["thread"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.claim(t, &ann).await.status(), StatusCode::OK);
    let path = format!("/api/v1/threads/{t}/transfer");
    let to_bo = json!({"to_agent_id": bo.id, "note": "VIP, be kind"});
    assert_error(
        app.post_json(&path, to_bo.clone(), Some(&carl.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post_json(&path, to_bo.clone(), Some(&ann.token)).await,
        StatusCode::CONFLICT,
        "agent_unavailable",
    )
    .await;
    assert_error(
        app.post_json(
            &path,
            json!({"to_agent_id": bo.id, "force": true}),
            Some(&ann.token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post_json(
            &path,
            json!({"to_agent_id": bo.id, "note": "a\u{0}b"}),
            Some(&ann.token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.post_json(&path, json!({"to_agent_id": carl.id}), Some(&ann.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    set_availability(&app, &bo, "online").await;
    let resp = app.post_json(&path, to_bo.clone(), Some(&ann.token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(
        (done["from_agent_id"].as_i64(), done["to_agent_id"].as_i64()),
        (Some(ann.id), Some(bo.id))
    );
    assert_eq!(thread(&app, t, &bo).await["claim"]["agent_id"], bo.id);
    assert_error(
        app.post_json(&path, to_bo.clone(), Some(&ann.token)).await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
    assert_eq!(
        app.reply(t, &ann, "still me?").await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.reply(t, &bo, "hello from bo").await.status(),
        StatusCode::CREATED
    );
    // Back to the queue.
    let resp = app
        .post_json(&path, json!({"to_agent_id": null}), Some(&bo.token))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(thread(&app, t, &bo).await["claim"].is_null());
    assert_error(
        app.post_json(&path, json!({"to_agent_id": null}), Some(&bo.token))
            .await,
        StatusCode::CONFLICT,
        "not_claim_holder",
    )
    .await;
    // An admin forces it to an offline agent.
    let resp = app
        .post_json(
            &path,
            json!({"to_agent_id": ann.id, "force": true}),
            Some(&boss.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(thread(&app, t, &ann).await["claim"]["agent_id"], ann.id);
    assert_error(
        app.post_json(
            "/api/v1/threads/999999/transfer",
            json!({"to_agent_id": null}),
            Some(&boss.token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// Bodies are JSON objects: serde alone would read a struct from an array of its fields.
async fn bodies_must_be_objects(app: TestApp) {
    let boss = app.admin("boss").await;
    let carl = app.client("carl").await;
    let t = app.write(&carl, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/threads/{t}/transfer"),
            json!([null, null]),
        ),
        (
            Method::PUT,
            "/api/v1/users/me/availability".to_owned(),
            json!(["online"]),
        ),
        (Method::PUT, "/api/v1/routing".to_owned(), json!(["auto"])),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", boss.id),
            json!([3]),
        ),
    ] {
        let resp = app
            .request(method, &path, Some(&boss.token))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::BAD_REQUEST, "bad_json").await;
    }
}
