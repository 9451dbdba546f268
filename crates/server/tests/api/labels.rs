//! Labels (`/api/v1/labels`, `/api/v1/threads/{id}/labels`) and the staff list's filters, on
//! each store.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Actor, TestApp};
use crate::helpers::{assert_none_before_pong, next_of};
use crate::inbox::{ids, list};

on_every_store!(with crate::helpers::spawn_app_with_clock;
    admins_define_labels_and_staff_put_them_on_threads,
    a_label_change_reaches_staff_never_the_client,
    the_staff_list_filters_counts_and_refuses_bad_parameters,
);

async fn open(app: &TestApp, client: &Actor, thread_type: Value, body: &str) -> i64 {
    app.write(client, thread_type, body).await["thread"]["id"]
        .as_i64()
        .unwrap()
}

async fn new_label(app: &TestApp, admin: &Actor, name: &str, color: &str) -> Value {
    let resp = app
        .post_json(
            "/api/v1/labels",
            json!({"name": name, "color": color}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{name}");
    resp.json().await.unwrap()
}

async fn label_thread(app: &TestApp, thread: i64, label: i64, who: &Actor) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/threads/{thread}/labels"),
        json!({ "label_id": label }),
        Some(&who.token),
    )
    .await
}

async fn post_label(app: &TestApp, who: &Actor, name: &str, color: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/labels",
        json!({"name": name, "color": color}),
        Some(&who.token),
    )
    .await
}

async fn unlabel(app: &TestApp, thread: i64, label: i64, who: &Actor) -> reqwest::Response {
    app.delete(
        &format!("/api/v1/threads/{thread}/labels/{label}"),
        Some(&who.token),
    )
    .await
}

async fn admins_define_labels_and_staff_put_them_on_threads(app: TestApp) {
    let boss = app.admin("boss").await;
    let bo = app.agent("bo").await;
    let ann = app.client("ann").await;
    let vip = new_label(&app, &boss, " VIP ", "#D93F0B").await;
    assert_eq!(vip["name"], "VIP");
    assert_eq!(vip["color"], "#d93f0b");
    let vip_id = vip["id"].as_i64().unwrap();
    let card = new_label(&app, &boss, "card", "#0000ff").await;
    let card_id = card["id"].as_i64().unwrap();
    assert_error(
        post_label(&app, &boss, "vip", "#000000").await,
        StatusCode::CONFLICT,
        "label_taken",
    )
    .await;
    assert_error(
        post_label(&app, &boss, "red", "red").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        post_label(&app, &boss, "a\u{1b}b", "#000000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        post_label(&app, &bo, "mine", "#000000").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        post_label(&app, &ann, "mine", "#000000").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let listed: Value = app
        .get("/api/v1/labels", Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([vip, card]), "bytewise by name");
    assert_error(
        app.get("/api/v1/labels", Some(&ann.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let t1 = open(&app, &ann, json!(1), "loan question").await;
    let t2 = open(&app, &ann, json!(2), "payment question").await;
    // Any agent, no claim needed; twice is once.
    for _ in 0..2 {
        let resp = label_thread(&app, t1, vip_id, &bo).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({"thread_id": t1, "labels": [vip]}));
    }
    let body: Value = label_thread(&app, t1, card_id, &boss)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["labels"], json!([vip, card]));
    assert_error(
        label_thread(&app, t1, vip_id, &ann).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        label_thread(&app, t1, vip_id + card_id + 100, &bo).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        label_thread(&app, t2 + 100, vip_id, &bo).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The staff list carries them and filters by them.
    let all = list(&app, "", &bo).await;
    assert_eq!(ids(&all), vec![t2, t1]);
    assert_eq!(all["items"][1]["labels"], json!([vip, card]));
    assert_eq!(all["items"][0]["labels"], json!([]));
    assert_eq!(
        ids(&list(&app, &format!("?label={vip_id}"), &bo).await),
        vec![t1]
    );
    // One thread: staff see its labels, its client never.
    let staff_view: Value = app
        .get(&format!("/api/v1/threads/{t1}"), Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_view["labels"], json!([vip, card]));
    let client_view: Value = app
        .get(&format!("/api/v1/threads/{t1}"), Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert!(client_view.get("labels").is_none(), "{client_view}");

    // Off again.
    let resp = unlabel(&app, t1, vip_id, &bo).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"thread_id": t1, "labels": [card]}));
    assert_error(
        unlabel(&app, t1, vip_id, &bo).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        unlabel(&app, t1, card_id, &ann).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(ids(&list(&app, &format!("?label={vip_id}"), &bo).await).is_empty());
}

async fn a_label_change_reaches_staff_never_the_client(app: TestApp) {
    let boss = app.admin("boss").await;
    let bo = app.agent("bo").await;
    let ann = app.client("ann").await;
    let thread_id = open(&app, &ann, json!(1), "hello").await;
    app.claim(thread_id, &bo).await;
    let vip = new_label(&app, &boss, "vip", "#ff0000").await;
    let socket = |who: &Actor| {
        format!(
            "{}/ws/threads/{thread_id}?token={}",
            app.address.replacen("http", "ws", 1),
            who.token
        )
    };
    let (mut client_ws, _) = tokio_tungstenite::connect_async(socket(&ann))
        .await
        .unwrap();
    let (mut agent_ws, _) = tokio_tungstenite::connect_async(socket(&bo)).await.unwrap();
    next_of(&mut client_ws, "ready").await;
    next_of(&mut agent_ws, "ready").await;

    let resp = label_thread(&app, thread_id, vip["id"].as_i64().unwrap(), &boss).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let frame = next_of(&mut agent_ws, "thread.labels").await;
    assert_eq!(frame["thread_id"], thread_id);
    assert_eq!(frame["labels"], json!([vip]));

    // The client: nothing before the pong of a ping sent after the change.
    assert_none_before_pong(&mut client_ws, "thread.labels").await;
}

async fn the_staff_list_filters_counts_and_refuses_bad_parameters(app: TestApp) {
    let bo = app.agent("bo").await;
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    // The test clock starts at 2027-01-15T08:00:00Z; a minute between steps.
    let loan = open(&app, &ann, json!("loan"), "My card is BLOCKED").await;
    app.advance_secs(60);
    let payment = open(&app, &ann, json!("payment"), "refund 50% please").await;
    app.advance_secs(60);
    let other = open(&app, &cy, json!("other"), "hello").await;
    app.claim(other, &bo).await;
    app.reply(other, &bo, "how can I help?").await;
    app.advance_secs(60);
    app.post_json(
        &format!("/api/v1/threads/{payment}/notes"),
        json!({"body": "check the ledger"}),
        Some(&bo.token),
    )
    .await;

    let all = list(&app, "?limit=2", &bo).await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["next_cursor"].is_string());
    assert_eq!(ids(&list(&app, "?thread_type=loan", &bo).await), vec![loan]);
    assert_eq!(ids(&list(&app, "?thread_type=2", &bo).await), vec![payment]);
    assert_eq!(
        ids(&list(&app, "?waiting=true", &bo).await),
        vec![payment, loan]
    );
    let answered = list(&app, "?waiting=false", &bo).await;
    assert_eq!(ids(&answered), vec![other]);
    assert_eq!(answered["total"], 1);
    assert_eq!(ids(&list(&app, "?q=blocked", &bo).await), vec![loan]);
    assert_eq!(ids(&list(&app, "?q=50%25", &bo).await), vec![payment]);
    assert_eq!(
        ids(&list(&app, "?q=LEDGER", &bo).await),
        vec![payment],
        "notes count"
    );
    assert_eq!(
        ids(&list(&app, "?waiting=true&thread_type=loan&status=open", &bo).await),
        vec![loan]
    );
    assert_eq!(
        ids(&list(
            &app,
            "?created_from=2027-01-15T08:01:00Z&created_to=2027-01-15T10:02:00%2B02:00",
            &bo
        )
        .await),
        vec![payment]
    );
    assert_eq!(
        ids(&list(&app, "?active_to=2027-01-15T08:03:00Z", &bo).await),
        vec![other, loan]
    );
    assert_eq!(
        ids(&list(&app, "?active_from=2027-01-15t08:03:00.000z", &bo).await),
        vec![payment]
    );
    assert_eq!(
        list(&app, "?created_from=2999-01-01T00:00:00Z", &bo).await["total"],
        0
    );
    for query in [
        "?thread_type=car",
        "?created_from=yesterday",
        "?created_from=2025-02-30T00:00:00Z",
        "?active_to=2025-01-01%2000:00:00Z",
        "?q=%20%20",
        "?q=bell%07",
    ] {
        assert_error(
            app.get(&format!("/api/v1/threads{query}"), Some(&bo.token))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
    }
    assert_error(
        app.get("/api/v1/threads?waiting=maybe", Some(&bo.token))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    assert_error(
        app.get("/api/v1/threads?q=card", Some(&ann.token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
