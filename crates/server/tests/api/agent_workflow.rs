//! Claims, the queue, canned replies, search and the client's context over HTTP.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app_on, spawn_app_with_clock, Backend, TestApp};

on_every_store!(
    claim_renew_release_and_takeover,
    the_queue_is_most_urgent_first_and_claimed_threads_leave_it,
    status_changes_follow_the_rules,
    canned_replies_are_managed_by_admins_and_rendered_for_agents,
    search_never_shows_a_client_another_clients_messages,
    staff_see_a_clients_context,
    fifty_agents_on_two_instances_claim_one_thread_and_exactly_one_wins,
);

async fn thread_of(app: &TestApp, client: &crate::helpers::Actor, tt: Value, body: &str) -> i64 {
    app.write(client, tt, body).await["thread"]["id"]
        .as_i64()
        .unwrap()
}

async fn claim_renew_release_and_takeover(app: TestApp) {
    let ann = app.client("ann").await;
    let t = thread_of(&app, &ann, json!(1), "loan").await;
    let bo = app.agent("bo").await;
    let cy = app.agent("cy").await;
    assert_error(app.claim(t, &ann).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.claim(t, &bo).await.status(), StatusCode::OK);
    let resp = app.claim(t, &cy).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["holder_id"], bo.id);

    let renewed = app
        .post_empty(&format!("/api/v1/threads/{t}/claim/renew"), Some(&bo.token))
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    assert_error(
        app.post_empty(&format!("/api/v1/threads/{t}/claim/renew"), Some(&cy.token))
            .await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/threads/{t}/claim"), Some(&cy.token))
            .await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/v1/threads/{t}/claim"), Some(&bo.token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.claim(t, &cy).await.status(), StatusCode::OK);

    assert_error(
        app.post_empty(&format!("/api/v1/threads/{t}/takeover"), Some(&bo.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.admin("root").await;
    let taken: Value = app
        .post_empty(&format!("/api/v1/threads/{t}/takeover"), Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(taken["agent_id"], admin.id);
    assert_error(
        app.reply(t, &cy, "still mine?").await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
    assert_error(
        app.claim(999_999, &bo).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn the_queue_is_most_urgent_first_and_claimed_threads_leave_it(app: TestApp) {
    let ann = app.client("ann").await;
    let bob = app.client("bob").await;
    let address = thread_of(&app, &ann, json!(3), "please update my address").await;
    let loan = thread_of(&app, &bob, json!(1), "when is my loan disbursement?").await;
    let bo = app.agent("bo").await;
    let cy = app.agent("cy").await;
    assert_eq!(app.queue_ids(&bo).await, [loan, address]);
    let later = app.reply(loan, &bob, "it was due yesterday").await;
    assert_eq!(later.status(), StatusCode::CREATED);
    let resp: Value = app.queue(&bo).await.json().await.unwrap();
    assert_eq!(resp["total"], 2);
    let first = &resp["items"][0];
    assert_eq!(first["client_username"], "bob");
    assert_eq!(
        first["first_waiting"]["body"],
        "when is my loan disbursement?"
    );
    // The card shows what the client is waiting on now: the newest waiting message.
    assert_eq!(first["latest_waiting"]["body"], "it was due yesterday");
    assert_eq!(
        resp["items"][1]["latest_waiting"]["body"],
        "please update my address"
    );
    assert!(first["urgency"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap() == "status question"));
    app.claim(loan, &bo).await;
    assert_eq!(app.queue_ids(&cy).await, [address]);
    let page: Value = app
        .get("/api/v1/queue?limit=1&offset=1", Some(&cy.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]));
    assert_eq!(
        page["total"], 1,
        "the count covers every page, claimed ones left out"
    );
}

async fn status_changes_follow_the_rules(app: TestApp) {
    let ann = app.client("ann").await;
    let t = thread_of(&app, &ann, json!(2), "payment").await;
    let bo = app.agent("bo").await;
    let path = format!("/api/v1/threads/{t}/status");
    assert_error(
        app.put_json(&path, json!({"status": "pending"}), Some(&bo.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.put_json(&path, json!({"status": "closed"}), Some(&ann.token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    app.claim(t, &bo).await;
    let thread: Value = app
        .put_json(&path, json!({"status": "pending"}), Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(thread["status"], "pending");
    let thread: Value = app
        .put_json(&path, json!({"status": "resolved"}), Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(thread["status"], "resolved");
    assert_eq!(thread["claim"], Value::Null);
}

async fn canned_replies_are_managed_by_admins_and_rendered_for_agents(app: TestApp) {
    let ann = app.client("ann").await;
    let t = thread_of(&app, &ann, json!(1), "hi").await;
    let bo = app.agent("bo").await;
    let admin = app.admin("root").await;
    let reply = json!({"title": "Greeting", "body": "Hello {client_name}, {agent_name} here."});
    assert_error(
        app.post_json("/api/v1/canned-replies", reply.clone(), Some(&bo.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = app
        .post_json("/api/v1/canned-replies", reply, Some(&admin.token))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let list: Value = app
        .get("/api/v1/canned-replies", Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["title"], "Greeting");
    assert_error(
        app.get("/api/v1/canned-replies", Some(&ann.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let text: Value = app
        .get(
            &format!("/api/v1/canned-replies/{id}/render?thread_id={t}"),
            Some(&bo.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(text["text"], "Hello ann, bo here.");
    assert_error(
        app.delete(&format!("/api/v1/canned-replies/{id}"), Some(&bo.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/v1/canned-replies/{id}"), Some(&admin.token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete(&format!("/api/v1/canned-replies/{id}"), Some(&admin.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn search_never_shows_a_client_another_clients_messages(app: TestApp) {
    let ann = app.client("ann").await;
    let eve = app.client("eve").await;
    thread_of(&app, &ann, json!(1), "my loan refund is late").await;
    thread_of(&app, &eve, json!(2), "refund for a double payment").await;
    let hits: Value = app
        .get("/api/v1/search?q=refund", Some(&eve.token))
        .await
        .json()
        .await
        .unwrap();
    let items = hits["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["client_username"], "eve");
    let bo = app.agent("bo").await;
    let hits: Value = app
        .get("/api/v1/search?q=refund", Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits["items"].as_array().unwrap().len(), 2);
    assert_error(
        app.get("/api/v1/search?q=%20", Some(&bo.token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.get("/api/v1/search", Some(&bo.token)).await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
}

async fn staff_see_a_clients_context(app: TestApp) {
    let ann = app.client("ann").await;
    thread_of(&app, &ann, json!(1), "one").await;
    thread_of(&app, &ann, json!(2), "two").await;
    let bo = app.agent("bo").await;
    let ctx: Value = app
        .get(
            &format!("/api/v1/clients/{}/context", ann.id),
            Some(&bo.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ctx["username"], "ann");
    assert_eq!(ctx["messages_sent"], 2);
    assert_eq!(ctx["threads"].as_array().unwrap().len(), 2);
    assert!(ctx["joined_at"].is_string());
    assert_error(
        app.get(
            &format!("/api/v1/clients/{}/context", ann.id),
            Some(&ann.token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn fifty_agents_on_two_instances_claim_one_thread_and_exactly_one_wins(app: TestApp) {
    let other = spawn_app_on(&app.database_url, None, None).await;
    let mut agents = Vec::new();
    for i in 0..50 {
        agents.push(app.agent(&format!("agent{i}")).await);
    }
    let ann = app.client("ann").await;
    for round in 0..3 {
        let t = thread_of(&app, &ann, json!(round % 3 + 1), "who takes me?").await;
        let attempts = agents.iter().enumerate().map(|(i, agent)| {
            let instance = if i % 2 == 0 { &app } else { &other };
            instance.claim(t, agent)
        });
        let statuses: Vec<StatusCode> = join_all(attempts)
            .await
            .iter()
            .map(|r| r.status())
            .collect();
        let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        let lost = statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((won, lost), (1, 49), "round {round}: {statuses:?}");
    }
}

async fn lease_expiry_frees_the_thread_and_renewal_keeps_it(backend: Backend) {
    let app = spawn_app_with_clock(backend).await;
    let ann = app.client("ann").await;
    let t = thread_of(&app, &ann, json!(1), "help").await;
    let bo = app.agent("bo").await;
    let cy = app.agent("cy").await;
    app.claim(t, &bo).await;
    app.advance_secs(200);
    assert_eq!(
        app.post_empty(&format!("/api/v1/threads/{t}/claim/renew"), Some(&bo.token))
            .await
            .status(),
        StatusCode::OK
    );
    app.advance_secs(200);
    // 400 s after the claim, 200 s after the renewal: still held (lease 300 s).
    assert_error(app.claim(t, &cy).await, StatusCode::CONFLICT, "claimed").await;
    app.advance_secs(101);
    assert_eq!(app.claim(t, &cy).await.status(), StatusCode::OK);
    assert_error(
        app.reply(t, &bo, "too late").await,
        StatusCode::CONFLICT,
        "claimed",
    )
    .await;
}

#[actix_web::test]
async fn lease_expiry_frees_the_thread_and_renewal_keeps_it_postgres() {
    lease_expiry_frees_the_thread_and_renewal_keeps_it(Backend::Postgres).await;
}

#[actix_web::test]
async fn lease_expiry_frees_the_thread_and_renewal_keeps_it_sqlite() {
    lease_expiry_frees_the_thread_and_renewal_keeps_it(Backend::Sqlite).await;
}
