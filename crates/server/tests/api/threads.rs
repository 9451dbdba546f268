//! Threads and messages over /api/v1, and who may touch them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    a_client_writes_and_an_agent_answers_after_claiming,
    a_client_never_reads_another_clients_thread,
    agents_reply_only_under_their_own_claim,
    a_repeated_client_message_id_stores_nothing_new,
    the_conversation_list_is_for_that_agent_that_client_or_an_admin,
);

async fn a_client_writes_and_an_agent_answers_after_claiming(app: TestApp) {
    let ann = app.client("ann").await;
    let sent = app.write(&ann, json!(1), "Where is my loan?").await;
    assert_eq!(sent["thread"]["thread_type"], "loan");
    assert_eq!(sent["thread"]["status"], "open");
    assert_eq!(sent["message"]["seq"], 1);
    let thread_id = sent["thread"]["id"].as_i64().unwrap();
    // Same topic, same thread; by name too.
    let again = app.write(&ann, json!("loan"), "Hello?").await;
    assert_eq!(again["thread"]["id"], thread_id);

    let list: Value = app
        .get("/api/v1/threads", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let bo = app.agent("bo").await;
    let claim: Value = app.claim(thread_id, &bo).await.json().await.unwrap();
    assert_eq!(claim["agent_id"], bo.id);
    assert_eq!(claim["thread_id"], thread_id);
    let resp = app.reply(thread_id, &bo, "Approved today.").await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    let msgs: Value = app.messages(thread_id, &ann).await.json().await.unwrap();
    let bodies: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Where is my loan?", "Hello?", "Approved today."]);
    let after: Value = app
        .get(
            &format!("/api/v1/threads/{thread_id}/messages?after_seq=2"),
            Some(&ann.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["items"].as_array().unwrap().len(), 1);

    let read: Value = app
        .post_json(
            &format!("/api/v1/threads/{thread_id}/read"),
            json!({"up_to_seq": 3}),
            Some(&ann.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["marked"], 1);

    let thread: Value = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(thread["status"], "pending");
    assert_eq!(thread["claim"]["agent_id"], bo.id);

    // Staff list a client's threads by id.
    let list: Value = app
        .get(
            &format!("/api/v1/threads?client_id={}", ann.id),
            Some(&bo.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], thread_id);
}

async fn a_client_never_reads_another_clients_thread(app: TestApp) {
    let ann = app.client("ann").await;
    let eve = app.client("eve").await;
    let thread_id = app.write(&ann, json!(2), "my card payment").await["thread"]["id"]
        .as_i64()
        .unwrap();
    assert_error(
        app.get(&format!("/api/v1/threads/{thread_id}"), Some(&eve.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.messages(thread_id, &eve).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.reply(thread_id, &eve, "hi").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(
            &format!("/api/v1/threads?client_id={}", ann.id),
            Some(&eve.token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get("/api/v1/queue", Some(&eve.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Nothing changed.
    let msgs: Value = app.messages(thread_id, &ann).await.json().await.unwrap();
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1);
}

async fn agents_reply_only_under_their_own_claim(app: TestApp) {
    let ann = app.client("ann").await;
    let thread_id = app.write(&ann, json!(3), "question").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let bo = app.agent("bo").await;
    let cy = app.agent("cy").await;
    assert_error(
        app.reply(thread_id, &bo, "no claim").await,
        StatusCode::CONFLICT,
        "not_claim_holder",
    )
    .await;
    assert_eq!(app.claim(thread_id, &bo).await.status(), StatusCode::OK);
    let resp = app.reply(thread_id, &cy, "not mine").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "claimed");
    assert_eq!(body["error"]["holder_id"], bo.id);
    assert!(body["error"]["until"].is_string());
    // Agents do not open threads.
    assert_error(
        app.post_json(
            "/api/v1/threads",
            json!({"thread_type": 1, "body": "x"}),
            Some(&bo.token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let msgs: Value = app.messages(thread_id, &ann).await.json().await.unwrap();
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1);
}

async fn a_repeated_client_message_id_stores_nothing_new(app: TestApp) {
    let ann = app.client("ann").await;
    let body =
        json!({"thread_type": "payment", "body": "refund please", "client_message_id": "m-1"});
    let first = app
        .post_json("/api/v1/threads", body.clone(), Some(&ann.token))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = app
        .post_json("/api/v1/threads", body, Some(&ann.token))
        .await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    let thread_id = first["thread"]["id"].as_i64().unwrap();
    let msgs: Value = app.messages(thread_id, &ann).await.json().await.unwrap();
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1);
}

async fn the_conversation_list_is_for_that_agent_that_client_or_an_admin(app: TestApp) {
    let ann = app.client("ann").await;
    let eve = app.client("eve").await;
    let bo = app.agent("bo").await;
    let cy = app.agent("cy").await;
    let thread_id = app.write(&ann, json!(1), "loan?").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread_id, &bo).await;
    app.reply(thread_id, &bo, "yes").await;
    let path = format!(
        "/api/v1/conversations?agent_id={}&client_id={}",
        bo.id, ann.id
    );
    for who in [&ann, &bo] {
        let list: Value = app.get(&path, Some(&who.token)).await.json().await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
    }
    let admin = app.admin("root").await;
    assert_eq!(
        app.get(&path, Some(&admin.token)).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.get(&path, Some(&eve.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.get(&path, Some(&cy.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
