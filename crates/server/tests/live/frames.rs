//! Bad input on a socket gets an `error` frame or a close, never a crash; silent clients are
//! dropped by the heartbeat.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::*;

#[tokio::test]
async fn malformed_unknown_and_invalid_frames_get_error_frames_and_the_socket_lives_on() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "hello").await;
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;

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
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "hello").await;
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;

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
