//! Hostile text (NUL, other control characters, a right-to-left override) through every kind
//! of edge, REST, socket and the seed's endpoints, on each store: 422 `invalid` naming the
//! field, and nothing stored.

use futures_util::SinkExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::{next_of, Actor, TestApp};

on_every_store!(
    rest_refuses_control_characters_in_every_text_field,
    the_seed_endpoints_refuse_control_characters,
    a_socket_refuses_control_characters_and_lives_on,
);

/// One of each kind the rule refuses.
const HOSTILE: [&str; 4] = [
    "a\u{0}b",
    "bell\u{7}",
    "csi\u{9b}31m",
    "evil\u{202e}txt.exe",
];

/// Asserts a 422 `invalid` naming `field`.
async fn assert_invalid(resp: reqwest::Response, field: &str, what: &str) {
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid", "{what}: {body}");
    assert_eq!(body["error"]["field"], field, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("control"),
        "{body}"
    );
}

async fn message_count(app: &TestApp, thread_id: i64, who: &Actor) -> usize {
    let body: Value = app.messages(thread_id, who).await.json().await.unwrap();
    body["items"].as_array().unwrap().len()
}

async fn rest_refuses_control_characters_in_every_text_field(app: TestApp) {
    let ann = app.client("ann").await;
    let admin = app.admin("root").await;
    let thread_id = app.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    for text in HOSTILE {
        let token = Some(ann.token.as_str());
        assert_invalid(
            app.post_json(
                "/api/v1/threads",
                json!({"thread_type": 2, "body": text}),
                token,
            )
            .await,
            "message_body",
            text,
        )
        .await;
        assert_invalid(app.reply(thread_id, &ann, text).await, "message_body", text).await;
        assert_invalid(
            app.post_json(
                "/api/v1/users",
                json!({"username": text, "password": "password-123"}),
                None,
            )
            .await,
            "username",
            text,
        )
        .await;
        assert_invalid(app.log_in(text, "password-123").await, "username", text).await;
        let search = app
            .request(Method::GET, "/api/v1/search", token)
            .query(&[("q", text)])
            .send()
            .await
            .unwrap();
        assert_invalid(search, "q", text).await;
        let lookup = app
            .request(Method::GET, "/api/v1/clients", Some(&admin.token))
            .query(&[("q", text)])
            .send()
            .await
            .unwrap();
        assert_invalid(lookup, "q", text).await;
        assert_invalid(
            app.post_json(
                "/api/v1/canned-replies",
                json!({"title": text, "body": "Hello"}),
                Some(&admin.token),
            )
            .await,
            "title",
            text,
        )
        .await;
        assert_invalid(
            app.post_json(
                "/api/v1/canned-replies",
                json!({"title": "Hi", "body": text}),
                Some(&admin.token),
            )
            .await,
            "message_body",
            text,
        )
        .await;
    }
    // Nothing was stored: one message, one thread, no canned reply, no extra user.
    assert_eq!(message_count(&app, thread_id, &ann).await, 1);
    let threads: Value = app
        .get("/api/v1/threads", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(threads["items"].as_array().unwrap().len(), 1);
    let canned: Value = app
        .get("/api/v1/canned-replies", Some(&admin.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(canned["items"].as_array().unwrap().len(), 0, "{canned}");
}

async fn the_seed_endpoints_refuse_control_characters(app: TestApp) {
    let ann = app.client("ann").await;
    for text in HOSTILE {
        assert_invalid(
            app.form(
                Method::POST,
                "/chat-app/user/",
                &[("username", text), ("password", "password-123")],
            )
            .await,
            "username",
            text,
        )
        .await;
        assert_invalid(
            app.form(
                Method::POST,
                "/chat-app/send-message/",
                &[
                    ("username", "ann"),
                    ("password", "password-123"),
                    ("message_body", text),
                    ("thread_type", "1"),
                ],
            )
            .await,
            "message_body",
            text,
        )
        .await;
        assert_invalid(
            app.form(
                Method::POST,
                "/chat-app/send-message/",
                &[
                    ("username", text),
                    ("password", "password-123"),
                    ("message_body", "hello"),
                    ("thread_type", "1"),
                ],
            )
            .await,
            "username",
            text,
        )
        .await;
    }
    let threads: Value = app
        .get("/api/v1/threads", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(threads["items"].as_array().unwrap().len(), 0, "{threads}");
}

async fn a_socket_refuses_control_characters_and_lives_on(app: TestApp) {
    let ann = app.client("ann").await;
    let thread_id = app.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let url = format!(
        "{}/ws/threads/{thread_id}?token={}",
        app.address.replacen("http", "ws", 1),
        ann.token
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    next_of(&mut ws, "ready").await;
    for text in HOSTILE {
        let frame = json!({"type": "message.send", "body": text, "client_message_id": "x-1"});
        ws.send(WsMessage::Text(frame.to_string())).await.unwrap();
        let error = next_of(&mut ws, "error").await;
        assert_eq!(error["code"], "invalid", "{error}");
        assert_eq!(error["field"], "message_body", "{error}");
    }
    ws.send(WsMessage::Text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    next_of(&mut ws, "pong").await;
    assert_eq!(message_count(&app, thread_id, &ann).await, 1);
}
