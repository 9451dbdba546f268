//! Staff's lists of conversations (`GET /api/v1/threads?assignee=..`), reopening a resolved
//! thread, and usernames unique without regard to case, on each store.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, Actor, TestApp};
use crate::helpers::{assert_none_before_pong, next_of};

on_every_store!(
    my_conversations_lists_what_the_agent_holds_with_unread_counts,
    the_lists_page_with_an_opaque_cursor_newest_activity_first,
    only_staff_list_conversations_and_bad_parameters_are_refused,
    a_reopened_thread_keeps_its_reasons_and_its_last_agent_is_told,
    usernames_differing_only_in_case_are_one_username,
    counts_per_view_come_with_counts_true_whatever_the_filters,
);

/// A staff list page (`GET /api/v1/threads{query}`), asserted 200.
pub(crate) async fn list(app: &TestApp, query: &str, who: &Actor) -> Value {
    let resp = app
        .get(&format!("/api/v1/threads{query}"), Some(&who.token))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{query}");
    resp.json().await.unwrap()
}

/// The thread ids of a staff list page, in order.
pub(crate) fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn open(app: &TestApp, client: &Actor, body: &str) -> i64 {
    app.write(client, json!(1), body).await["thread"]["id"]
        .as_i64()
        .unwrap()
}

async fn my_conversations_lists_what_the_agent_holds_with_unread_counts(app: TestApp) {
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    let dee = app.client("dee").await;
    let bo = app.agent("bo").await;
    let al = app.agent("al").await;
    let t_ann = open(&app, &ann, "my card was stolen").await;
    let t_cy = open(&app, &cy, "question about fees").await;
    let t_dee = open(&app, &dee, "hello").await;
    app.claim(t_ann, &bo).await;
    app.claim(t_cy, &bo).await;
    app.claim(t_dee, &al).await;
    app.reply(t_cy, &bo, "fees are listed online").await;
    app.reply(t_ann, &bo, "we blocked it").await;
    app.write(&ann, json!(1), "thanks, and the new card?").await;
    app.write(&ann, json!(1), "hello?").await;

    let mine = list(&app, "?assignee=me", &bo).await;
    assert_eq!(ids(&mine), vec![t_ann, t_cy], "newest activity first");
    assert!(mine["next_cursor"].is_null());
    let first = &mine["items"][0];
    assert_eq!(first["client_id"], ann.id);
    assert_eq!(first["client_username"], "ann");
    assert_eq!(first["thread_type"], "loan");
    assert_eq!(first["status"], "open");
    assert_eq!(first["claim"]["agent_id"], bo.id);
    assert_eq!(first["claim"]["agent_username"], "bo");
    assert!(first["claim"]["until"].is_string());
    assert_eq!(first["unread"], 2, "the two messages after the reply");
    assert!(first["urgency"]["score"].as_i64().unwrap() > 0);
    assert!(first["urgency"]["reasons"].is_array());
    assert!(first["last_activity_at"].is_string());
    assert_eq!(first["last_seq"], 4);
    assert_eq!(mine["items"][1]["unread"], 0);
    assert_eq!(mine["items"][1]["status"], "pending");

    assert_eq!(
        list(&app, &format!("?assignee={}", bo.id), &al).await["items"],
        mine["items"]
    );
    assert_eq!(ids(&list(&app, "?assignee=me", &al).await), vec![t_dee]);
    assert_eq!(
        ids(&list(&app, "?assignee=me&status=pending", &bo).await),
        vec![t_cy]
    );
    assert!(ids(&list(&app, "?assignee=none", &bo).await).is_empty());
    // Released: nobody's.
    app.delete(&format!("/api/v1/threads/{t_dee}/claim"), Some(&al.token))
        .await;
    assert_eq!(ids(&list(&app, "?assignee=none", &bo).await), vec![t_dee]);
    let all = list(&app, "", &bo).await;
    assert_eq!(
        ids(&all),
        vec![t_ann, t_cy, t_dee],
        "claims are not activity"
    );
    assert_eq!(
        ids(&list(&app, &format!("?client_id={}&status=open", ann.id), &bo).await),
        vec![t_ann]
    );
}

async fn the_lists_page_with_an_opaque_cursor_newest_activity_first(app: TestApp) {
    let bo = app.agent("bo").await;
    let mut opened = Vec::new();
    for i in 0..5 {
        let c = app.client(&format!("c{i}")).await;
        opened.push(open(&app, &c, "hi").await);
    }
    opened.reverse();
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = list(&app, &query, &bo).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, opened);
}

async fn only_staff_list_conversations_and_bad_parameters_are_refused(app: TestApp) {
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    open(&app, &ann, "hi").await;
    for query in ["?assignee=me", "?status=open", "?limit=5", "?cursor=1_1"] {
        assert_error(
            app.get(&format!("/api/v1/threads{query}"), Some(&ann.token))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    // A client's own list keeps its shape.
    let own = list(&app, "", &ann).await;
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    for query in [
        "?assignee=someone",
        "?assignee=Me",
        "?status=closed",
        "?cursor=abc",
        "?cursor=1_2_3",
        "?limit=0",
        "?limit=101",
    ] {
        assert_error(
            app.get(&format!("/api/v1/threads{query}"), Some(&bo.token))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
    }
    // An id nobody has: an empty page.
    assert!(ids(&list(&app, "?assignee=987654321", &bo).await).is_empty());
}

async fn a_reopened_thread_keeps_its_reasons_and_its_last_agent_is_told(app: TestApp) {
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    let thread_id = open(
        &app,
        &ann,
        "someone took money from my account, I did not make these payments",
    )
    .await;
    let waiting: Value = app.queue(&bo).await.json().await.unwrap();
    let reasons = waiting["items"][0]["thread"]["urgency"]["reasons"].clone();
    assert!(!reasons.as_array().unwrap().is_empty(), "{waiting}");
    app.claim(thread_id, &bo).await;

    let ws = |who: &Actor, path: &str| {
        format!(
            "{}{path}?token={}",
            app.address.replacen("http", "ws", 1),
            who.token
        )
    };
    let (mut client_ws, _) =
        tokio_tungstenite::connect_async(ws(&ann, &format!("/ws/threads/{thread_id}")))
            .await
            .unwrap();
    next_of(&mut client_ws, "ready").await;
    let (mut bo_queue, _) = tokio_tungstenite::connect_async(ws(&bo, "/ws/queue"))
        .await
        .unwrap();
    next_of(&mut bo_queue, "ready").await;

    // Resolved without an answer: the client is told, on its socket and over REST.
    let resp = app
        .put_json(
            &format!("/api/v1/threads/{thread_id}/status"),
            json!({"status": "resolved"}),
            Some(&bo.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let status = next_of(&mut client_ws, "thread.status").await;
    assert_eq!(status["status"], "resolved");
    assert_eq!(status["thread_id"], thread_id);
    let seen: Value = app
        .get(&format!("/api/v1/threads/{thread_id}"), Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["status"], "resolved");

    // The client writes again into the same thread: it reopens with its reasons kept.
    let resp = app.reply(thread_id, &ann, "hello?").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reopened = next_of(&mut bo_queue, "thread.reopened").await;
    assert_eq!(reopened["thread_id"], thread_id);
    assert_eq!(reopened["agent_id"], bo.id);
    assert_eq!(reopened["client_id"], ann.id);
    let reopened_status = next_of(&mut client_ws, "thread.status").await;
    assert_eq!(reopened_status["status"], "open");
    let queue: Value = app.queue(&bo).await.json().await.unwrap();
    let entry = &queue["items"][0];
    assert_eq!(entry["thread"]["id"], thread_id);
    let now_reasons = entry["thread"]["urgency"]["reasons"].as_array().unwrap();
    for reason in reasons.as_array().unwrap() {
        if !reason.as_str().unwrap().ends_with("unanswered messages") {
            assert!(now_reasons.contains(reason), "{reason} lost: {entry}");
        }
    }
    assert!(
        now_reasons.contains(&json!("2 unanswered messages")),
        "{entry}"
    );
    assert!(
        entry["thread"]["urgency"]["score"].as_i64().unwrap()
            >= waiting["items"][0]["thread"]["urgency"]["score"]
                .as_i64()
                .unwrap()
    );
    // Nothing meant for staff reached the client's socket.
    assert_none_before_pong(&mut client_ws, "thread.reopened").await;
}

async fn usernames_differing_only_in_case_are_one_username(app: TestApp) {
    app.client("maria_new").await;
    for taken in ["Maria_New", "MARIA_NEW", "maria_new"] {
        assert_error(
            app.sign_up_as(taken, "client", None).await,
            StatusCode::CONFLICT,
            "username_taken",
        )
        .await;
    }
    // Log-in matches exactly.
    assert_eq!(
        app.log_in("Maria_New", "password-123").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.log_in("maria_new", "password-123").await.status(),
        StatusCode::CREATED
    );
}

/// `counts=true` adds how many threads each of the console's views holds (mine, unassigned,
/// waiting, and per status), the same whatever the page's own filters; without it, no counts.
async fn counts_per_view_come_with_counts_true_whatever_the_filters(app: TestApp) {
    let bo = app.agent("bo").await;
    let eve = app.agent("eve").await;
    let (ann, cy, di) = (
        app.client("ann").await,
        app.client("cy").await,
        app.client("di").await,
    );
    let id = |v: Value| v["thread"]["id"].as_i64().unwrap();
    let ta = id(app.write(&ann, json!(1), "where is my loan").await);
    let tc = id(app.write(&cy, json!(2), "a payment failed").await);
    id(app.write(&di, json!(3), "hello").await);
    // ann: answered by bo (pending, no longer waiting); cy: held by bo, unanswered; di: nobody's.
    assert_eq!(app.claim(ta, &bo).await.status(), StatusCode::OK);
    assert_eq!(
        app.reply(ta, &bo, "on it").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.claim(tc, &bo).await.status(), StatusCode::OK);
    let expected = json!({
        "mine": 1, "unassigned": 1, "waiting": 2, "open": 2, "pending": 1, "resolved": 0
    });
    let page = list(&app, "?counts=true", &bo).await;
    assert_eq!(page["counts"], expected);
    assert_eq!(page["total"], json!(3));
    let pending = list(&app, "?status=pending&counts=true&limit=1", &bo).await;
    assert_eq!(pending["counts"], expected);
    assert_eq!(pending["total"], json!(1));
    // "Mine" is the asking agent's.
    let other = list(&app, "?counts=true", &eve).await;
    assert_eq!(other["counts"]["mine"], json!(0));
    let plain = list(&app, "?status=open", &bo).await;
    assert!(plain.get("counts").is_none());
    assert_error(
        app.get("/api/v1/threads?counts=maybe", Some(&bo.token))
            .await,
        StatusCode::BAD_REQUEST,
        "bad_query",
    )
    .await;
    // Clients get no counts: a staff list's parameter is refused to them.
    assert_error(
        app.get("/api/v1/threads?counts=true", Some(&ann.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
