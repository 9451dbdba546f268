//! Private notes over REST, the thread socket, search and the seed's endpoints, on each store:
//! staff read them in order with the messages; a client never sees one by any path.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{assert_error, next_frame, next_of, Actor, TestApp};

on_every_store!(
    staff_write_notes_that_change_nothing_for_the_client,
    a_client_never_sees_a_note_by_rest_search_or_seed,
    a_client_never_sees_a_note_on_its_socket_staff_do,
);

async fn note(app: &TestApp, thread_id: i64, who: &Actor, body: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/threads/{thread_id}/notes"),
        json!({ "body": body }),
        Some(&who.token),
    )
    .await
}

async fn items(app: &TestApp, path: &str, who: &Actor) -> Vec<Value> {
    let resp = app.get(path, Some(&who.token)).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let body: Value = resp.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn bodies(items: &[Value]) -> Vec<&str> {
    items.iter().map(|m| m["body"].as_str().unwrap()).collect()
}

/// Whether every listed message (or search hit's message) is a message, none a note.
fn no_notes(items: &[Value]) -> bool {
    items.iter().all(|m| {
        let message = if m["message"].is_object() {
            &m["message"]
        } else {
            m
        };
        message["kind"] == "message"
    })
}

async fn thread_json(app: &TestApp, thread_id: i64, who: &Actor) -> Value {
    app.get(&format!("/api/v1/threads/{thread_id}"), Some(&who.token))
        .await
        .json()
        .await
        .unwrap()
}

async fn staff_write_notes_that_change_nothing_for_the_client(app: TestApp) {
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    let boss = app.admin("boss").await;
    let sent = app.write(&ann, json!(2), "my card was stolen").await;
    let thread_id = sent["thread"]["id"].as_i64().unwrap();
    let before = thread_json(&app, thread_id, &bo).await;

    // Any staff member, no claim needed.
    let resp = note(&app, thread_id, &bo, "called her back, card blocked").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let stored: Value = resp.json().await.unwrap();
    assert_eq!(stored["kind"], "note");
    assert_eq!(stored["seq"], 2);
    assert_eq!(stored["sender_id"], bo.id);
    assert_eq!(stored["sender_role"], "agent");
    assert_eq!(
        note(&app, thread_id, &boss, "watch this one")
            .await
            .status(),
        StatusCode::CREATED
    );

    // Not a reply: the client still waits, as urgently, unread, in the queue.
    let after = thread_json(&app, thread_id, &bo).await;
    assert_eq!(after["status"], "open");
    assert_eq!(after["waiting_since"], before["waiting_since"]);
    assert_eq!(after["urgency"], before["urgency"]);
    assert_eq!(after["last_seq"], 3);
    assert!(after["claim"].is_null());
    assert_eq!(app.queue_ids(&bo).await, vec![thread_id]);
    let msgs = items(&app, &format!("/api/v1/threads/{thread_id}/messages"), &bo).await;
    assert_eq!(msgs[0]["is_read"], false);
    let mine: Value = app
        .get("/api/v1/threads?assignee=none", Some(&bo.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["unread"], 1, "{mine}");

    // Refusals.
    assert_error(
        note(&app, thread_id, &ann, "I am staff now").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        note(&app, thread_id, &bo, "  ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        note(&app, thread_id, &bo, "bell\u{7}").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        note(&app, thread_id + 1000, &bo, "nowhere").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // A resolved thread takes notes and stays resolved.
    app.claim(thread_id, &bo).await;
    let resp = app
        .put_json(
            &format!("/api/v1/threads/{thread_id}/status"),
            json!({"status": "resolved"}),
            Some(&bo.token),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        note(&app, thread_id, &bo, "closed by phone").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        thread_json(&app, thread_id, &bo).await["status"],
        "resolved"
    );
}

async fn a_client_never_sees_a_note_by_rest_search_or_seed(app: TestApp) {
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    let thread_id = app.write(&ann, json!(2), "refund please").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread_id, &bo).await;
    note(&app, thread_id, &bo, "refund looks like fraud, secret").await;
    assert_eq!(
        app.reply(thread_id, &bo, "your refund is on its way")
            .await
            .status(),
        StatusCode::CREATED
    );
    note(&app, thread_id, &bo, "secret second note").await;

    // Staff: everything, in order, with kinds.
    let staff = items(&app, &format!("/api/v1/threads/{thread_id}/messages"), &bo).await;
    let kinds: Vec<(i64, &str)> = staff
        .iter()
        .map(|m| (m["seq"].as_i64().unwrap(), m["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [(1, "message"), (2, "note"), (3, "message"), (4, "note")]
    );

    // The client: messages only, whatever the page.
    let own = items(&app, &format!("/api/v1/threads/{thread_id}/messages"), &ann).await;
    assert_eq!(bodies(&own), ["refund please", "your refund is on its way"]);
    assert!(no_notes(&own));
    let after = items(
        &app,
        &format!("/api/v1/threads/{thread_id}/messages?after_seq=1&limit=1"),
        &ann,
    )
    .await;
    assert_eq!(bodies(&after), ["your refund is on its way"]);
    assert!(items(
        &app,
        &format!("/api/v1/threads/{thread_id}/messages?after_seq=3"),
        &ann
    )
    .await
    .is_empty());

    // Search: the client finds its messages, never a note; staff find the notes too.
    let hits = items(&app, "/api/v1/search?q=refund", &ann).await;
    assert_eq!(hits.len(), 2);
    assert!(no_notes(&hits));
    assert!(items(&app, "/api/v1/search?q=secret", &ann)
        .await
        .is_empty());
    let staff_hits = items(&app, "/api/v1/search?q=secret", &bo).await;
    assert_eq!(staff_hits.len(), 2);
    assert!(staff_hits.iter().all(|h| h["message"]["kind"] == "note"));

    // The seed's endpoints: the client's message list and its conversation with the agent.
    let (agent_id, client_id) = (bo.id.to_string(), ann.id.to_string());
    let creds = [("username", "ann"), ("password", "password-123")];
    let mut list = creds.to_vec();
    list.push(("thread_type", "2"));
    let mut between = creds.to_vec();
    between.extend([
        ("agent_id", agent_id.as_str()),
        ("client_id", client_id.as_str()),
    ]);
    for (path, fields, key, count) in [
        ("/chat-app/message-list/", list, "chats_sent", 0),
        ("/chat-app/thread-list/", between, "all_conversations", 2),
    ] {
        let resp = app.form(Method::POST, path, &fields).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let text = resp.text().await.unwrap();
        assert!(!text.contains("secret"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body[key].as_array().unwrap().len(), count, "{text}");
    }
}

async fn a_client_never_sees_a_note_on_its_socket_staff_do(app: TestApp) {
    let ann = app.client("ann").await;
    let bo = app.agent("bo").await;
    let boss = app.admin("boss").await;
    let thread_id = app.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread_id, &bo).await;
    note(&app, thread_id, &bo, "first note").await;
    let socket = |who: &Actor, query: &str| {
        format!(
            "{}/ws/threads/{thread_id}?token={}{query}",
            app.address.replacen("http", "ws", 1),
            who.token
        )
    };
    // Replay from the start: the client gets messages only, staff get the note in its place.
    let (mut client_ws, _) = tokio_tungstenite::connect_async(socket(&ann, "&last_seq=0"))
        .await
        .unwrap();
    let (mut admin_ws, _) = tokio_tungstenite::connect_async(socket(&boss, "&last_seq=0"))
        .await
        .unwrap();
    let (mut agent_ws, _) = tokio_tungstenite::connect_async(socket(&bo, ""))
        .await
        .unwrap();
    assert_eq!(
        next_entry(&mut admin_ws).await,
        ("message.created".into(), 1)
    );
    assert_eq!(next_entry(&mut admin_ws).await, ("note.created".into(), 2));
    assert_eq!(
        next_entry(&mut client_ws).await,
        ("message.created".into(), 1)
    );
    next_of(&mut agent_ws, "ready").await;

    // Live: a note, then a reply. Staff get both, in order; the client only the reply.
    note(&app, thread_id, &bo, "second note").await;
    app.reply(thread_id, &bo, "the reply").await;
    for ws in [&mut admin_ws, &mut agent_ws] {
        assert_eq!(next_entry(ws).await, ("note.created".into(), 3));
        assert_eq!(next_entry(ws).await, ("message.created".into(), 4));
    }
    let frame = next_entry_frame(&mut client_ws).await;
    assert_eq!(frame["type"], "message.created", "{frame}");
    assert_eq!(frame["seq"], 4);
    assert_eq!(frame["message"]["body"], "the reply");
    assert_eq!(frame["message"]["kind"], "message");

    // A client resuming after a note's seq gets nothing but messages either.
    let (mut resumed, _) = tokio_tungstenite::connect_async(socket(&ann, "&last_seq=1"))
        .await
        .unwrap();
    let frame = next_entry_frame(&mut resumed).await;
    assert_eq!(
        (frame["type"].as_str(), frame["seq"].as_i64()),
        (Some("message.created"), Some(4))
    );
    // And nothing else is pending for the client: a ping's pong comes next.
    use futures_util::SinkExt;
    client_ws
        .send(WsMessage::Text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    let pong = next_significant(&mut client_ws).await;
    assert_eq!(pong["type"], "pong", "{pong}");
}

/// `(type, seq)` of the next message or note frame.
async fn next_entry<S>(ws: &mut S) -> (String, i64)
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let frame = next_entry_frame(ws).await;
    (
        frame["type"].as_str().unwrap().to_owned(),
        frame["seq"].as_i64().unwrap(),
    )
}

/// The next message or note frame.
async fn next_entry_frame<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    loop {
        let frame = next_significant(ws).await;
        if frame["type"] == "message.created" || frame["type"] == "note.created" {
            return frame;
        }
        assert_ne!(frame["type"], "error", "{frame}");
    }
}

/// The next frame that is not a signal (ready, typing, read, claimed, thread.status).
async fn next_significant<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    loop {
        let frame = next_frame(ws).await;
        let kind = frame["type"].as_str().unwrap_or_default().to_owned();
        if !matches!(
            kind.as_str(),
            "ready" | "typing" | "read" | "claimed" | "thread.status"
        ) {
            return frame;
        }
    }
}
