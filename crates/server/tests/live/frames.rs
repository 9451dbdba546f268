//! Bad input on a socket gets an `error` frame or a close, never a crash; silent clients are
//! dropped by the heartbeat.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::*;

#[tokio::test]
async fn malformed_unknown_and_invalid_frames_get_error_frames_and_the_socket_lives_on() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[]).await;
    let (client, thread, mut ws) = a.client_in_its_thread().await;

    let cases: Vec<(WsMessage, &str)> = vec![
        (WsMessage::Text("{not json".into()), "malformed_json"),
        (WsMessage::Text("[1,2,3]".into()), "invalid_frame"),
        (
            WsMessage::Text(r#"{"type":"launch.missiles"}"#.into()),
            "unknown_type",
        ),
        (
            WsMessage::Text(r#"{"type":"read","up_to_seq":"x"}"#.into()),
            "invalid_frame",
        ),
        (
            WsMessage::Text(r#"{"type":"message.send"}"#.into()),
            "invalid_frame",
        ),
        (
            WsMessage::Text(r#"{"type":"message.send","body":"   "}"#.into()),
            "invalid",
        ),
        (
            WsMessage::Text(
                r#"{"type":"message.send","body":"x","client_message_id":"no spaces!"}"#.into(),
            ),
            "invalid",
        ),
        (WsMessage::Binary(vec![0, 159, 146, 150]), "invalid_frame"),
        (
            WsMessage::Text(r#"{"type":"claim.renew"}"#.into()),
            "forbidden",
        ),
    ];
    for (frame, code) in cases {
        ws.send_raw(frame).await;
        let error = ws.next_of("error").await;
        assert_eq!(error["code"], code, "{error}");
        assert!(error["message"].is_string());
    }
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_of("pong").await["type"], "pong");
    assert_eq!(a.messages(&client, thread).await.len(), 1);
    assert!(a.is_running());
}

#[tokio::test]
async fn an_oversized_frame_closes_the_socket_with_1009_and_the_server_serves_on() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[("CHAT__WS__MAX_FRAME_BYTES", "16384")]).await;
    let (client, thread, mut ws) = a.client_in_its_thread().await;

    let huge = "x".repeat(100 * 1024);
    ws.send_raw(WsMessage::Text(
        json!({"type": "message.send", "body": huge}).to_string(),
    ))
    .await;
    let (ended, frames) = ws.until_end().await;
    assert!(
        close_code(&ended) == Some(1009) || frames.iter().any(|f| f["code"] == "too_large"),
        "{ended:?} {frames:?}"
    );

    assert!(a.is_running());
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;
    ws.send_json(json!({"type": "message.send", "body": "still here"}))
        .await;
    assert_eq!(ws.next_of("ack").await["seq"], 2);
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_closed() {
    let shared = Shared::fresh();
    let a = Instance::start(
        &shared,
        &[
            ("CHAT__WS__HEARTBEAT_INTERVAL_MS", "100"),
            ("CHAT__WS__CLIENT_TIMEOUT_MS", "400"),
        ],
    )
    .await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "hello").await;
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    // Not reading means not answering pings: wait well past the timeout, then look.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (ended, frames) = ws.until_end().await;
    assert_eq!(frames[0]["type"], "ready");
    // The close frame (1001), unless the client's late pong replies hit the already closed
    // connection first, which ends the read with an error: closed either way.
    assert!(
        matches!(ended, Ended::Closed(Some(1001)) | Ended::Dropped),
        "{ended:?} {frames:?}"
    );
    assert_eq!(frames.len(), 1, "{frames:?}");
}

#[tokio::test]
async fn logs_written_to_a_file_carry_no_colour_codes() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    a.open_thread(&client, "hello").await;
    let log = a.log_text();
    assert!(log.contains("INFO"), "nothing logged: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file: {log:?}"
    );
}

#[tokio::test]
async fn the_queue_socket_answers_ping_and_refuses_other_frames_but_lives_on() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[]).await;
    let agent = a.new_agent().await;
    let mut ws = a.socket("/ws/queue", &agent.token).await;
    ws.next_of("ready").await;

    let cases: Vec<(WsMessage, &str)> = vec![
        (WsMessage::Text("{not json".into()), "malformed_json"),
        (
            WsMessage::Text(r#"{"type":"launch.missiles"}"#.into()),
            "unknown_type",
        ),
        (WsMessage::Binary(vec![1, 2, 3]), "invalid_frame"),
        (
            WsMessage::Text(r#"{"type":"message.send","body":"hi"}"#.into()),
            "unsupported",
        ),
        (
            WsMessage::Text(r#"{"type":"typing"}"#.into()),
            "unsupported",
        ),
        (
            WsMessage::Text(r#"{"type":"claim.renew"}"#.into()),
            "unsupported",
        ),
        (
            WsMessage::Text(format!(r#"{{"type":"auth","token":"{}"}}"#, agent.token)),
            "already_authenticated",
        ),
    ];
    for (frame, code) in cases {
        ws.send_raw(frame).await;
        let error = ws.next_of("error").await;
        assert_eq!(error["code"], code, "{error}");
        assert!(error["message"].is_string());
    }
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_of("pong").await["type"], "pong");
    assert!(a.is_running());
}

#[tokio::test]
async fn a_second_auth_frame_on_a_thread_socket_is_refused_and_the_socket_lives_on() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "hello").await;
    let mut ws = Socket::connect(&a.ws_url(&format!("/ws/threads/{thread}")))
        .await
        .unwrap();
    ws.send_json(json!({"type": "auth", "token": client.token}))
        .await;
    ws.next_of("ready").await;
    ws.send_json(json!({"type": "auth", "token": client.token}))
        .await;
    assert_eq!(ws.next_of("error").await["code"], "already_authenticated");
    ws.send_json(json!({"type": "message.send", "body": "still here"}))
        .await;
    assert_eq!(ws.next_of("ack").await["seq"], 2);
}

#[tokio::test]
async fn a_queue_socket_that_stops_answering_pings_is_closed() {
    let shared = Shared::fresh();
    let a = Instance::start(
        &shared,
        &[
            ("CHAT__WS__HEARTBEAT_INTERVAL_MS", "100"),
            ("CHAT__WS__CLIENT_TIMEOUT_MS", "400"),
        ],
    )
    .await;
    let agent = a.new_agent().await;
    let mut ws = a.socket("/ws/queue", &agent.token).await;
    // Not reading means not answering pings: wait well past the timeout, then look.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (ended, frames) = ws.until_end().await;
    assert_eq!(frames[0]["type"], "ready");
    assert!(
        matches!(ended, Ended::Closed(Some(1001)) | Ended::Dropped),
        "{ended:?} {frames:?}"
    );
}

#[tokio::test]
async fn error_frames_answering_a_send_name_its_client_message_id() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let agent = a.new_agent().await;
    let admin = a.admin().await;
    let thread = a.open_thread(&client, "hello").await;
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;

    // Refused by the domain: the error names the send it answers.
    let cases = [
        (
            json!({"type": "message.send", "body": "  ", "client_message_id": "c-empty"}),
            "invalid",
            "c-empty",
        ),
        (
            json!({"type": "message.send", "body": "x", "client_message_id": "no spaces!"}),
            "invalid",
            "no spaces!",
        ),
        // Not understood, but recognisably a send with an id.
        (
            json!({"type": "message.send", "client_message_id": "c-nobody"}),
            "invalid_frame",
            "c-nobody",
        ),
    ];
    for (frame, code, id) in cases {
        ws.send_json(frame).await;
        let error = ws.next_of("error").await;
        assert_eq!(error["code"], code, "{error}");
        assert_eq!(error["client_message_id"], id, "{error}");
    }

    // An id already used in another thread of the client's.
    ws.send_json(json!({"type": "message.send", "body": "first", "client_message_id": "c-1"}))
        .await;
    assert_eq!(ws.next_of("ack").await["client_message_id"], "c-1");
    let (status, other) = a
        .post(
            "/api/v1/threads",
            json!({"thread_type": "payment", "body": "another topic"}),
            Some(&client.token),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other = other["thread"]["id"].as_i64().unwrap();
    let mut other_ws = a
        .socket(&format!("/ws/threads/{other}"), &client.token)
        .await;
    other_ws.next_of("ready").await;
    other_ws
        .send_json(json!({"type": "message.send", "body": "first", "client_message_id": "c-1"}))
        .await;
    let error = other_ws.next_of("error").await;
    assert_eq!(error["code"], "client_message_id_reused", "{error}");
    assert_eq!(error["client_message_id"], "c-1", "{error}");

    // No id given, or not a send: no id named.
    ws.send_json(json!({"type": "message.send", "body": ""}))
        .await;
    let error = ws.next_of("error").await;
    assert_eq!(error["code"], "invalid", "{error}");
    assert!(error.get("client_message_id").is_none(), "{error}");
    ws.send_json(json!({"type": "claim.renew"})).await;
    let error = ws.next_of("error").await;
    assert_eq!(error["code"], "forbidden", "{error}");
    assert!(error.get("client_message_id").is_none(), "{error}");

    // Beside the detail of `claimed`: an admin writing into a thread an agent holds.
    a.claim(&agent, thread).await;
    let mut admin_ws = a
        .socket(&format!("/ws/threads/{thread}"), &admin.token)
        .await;
    admin_ws.next_of("ready").await;
    admin_ws
        .send_json(json!({"type": "message.send", "body": "hi", "client_message_id": "adm-1"}))
        .await;
    let error = admin_ws.next_of("error").await;
    assert_eq!(error["code"], "claimed", "{error}");
    assert_eq!(error["holder_id"], agent.id, "{error}");
    assert_eq!(error["client_message_id"], "adm-1", "{error}");

    // The queue socket does not take sends, and says which one it refused.
    let mut queue_ws = a.socket("/ws/queue", &agent.token).await;
    queue_ws.next_of("ready").await;
    queue_ws
        .send_json(json!({"type": "message.send", "body": "hi", "client_message_id": "q-1"}))
        .await;
    let error = queue_ws.next_of("error").await;
    assert_eq!(error["code"], "unsupported", "{error}");
    assert_eq!(error["client_message_id"], "q-1", "{error}");

    assert_eq!(a.messages(&client, thread).await.len(), 2);
}
