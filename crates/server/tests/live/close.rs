//! The TCP connection ends promptly once both close frames are exchanged (issue 17, RFC 6455
//! 7.1.1: the server closes the connection first): a client sees EOF within a few tens of
//! milliseconds of a graceful close, whichever side began it, instead of the 0.6-1 s the HTTP
//! layer used to wait for the client to hang up.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::MaybeTlsStream;

use crate::helpers::*;

/// The bound the tests allow (the server aims at well under 100 ms; slack for a loaded machine).
const PROMPT: Duration = Duration::from_millis(300);

/// Reads the raw TCP stream under a socket whose close handshake is complete until EOF (a
/// clean FIN: a reset fails the test); returns how long that took.
async fn time_to_eof(socket: &mut Socket) -> Duration {
    let started = Instant::now();
    let MaybeTlsStream::Plain(tcp) = socket.stream.get_mut() else {
        panic!("plain TCP expected");
    };
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(PATIENCE, tcp.read(&mut buf)).await {
            Ok(Ok(0)) => return started.elapsed(),
            Ok(Err(err)) => panic!("the connection ended with an error: {err}"),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server never closed the TCP connection"),
        }
    }
}

#[tokio::test]
async fn after_a_server_close_the_tcp_connection_ends_promptly() {
    let shared = Shared::fresh();
    let server = Instance::start(&shared, &[]).await;
    let client = server.new_client().await;
    let agent = server.new_agent().await;
    let admin = server.admin().await;
    let thread = server.open_thread(&client, "hello").await;
    server.claim(&agent, thread).await;

    let mut times = Vec::new();
    for round in 0..3 {
        let mut ws = server
            .socket(&format!("/ws/threads/{thread}"), &agent.token)
            .await;
        ws.next_of("ready").await;
        // The admin takes the claim over: the agent's socket is closed with 4403...
        let (status, body) = server
            .post(
                &format!("/api/v1/threads/{thread}/takeover"),
                json!({}),
                Some(&admin.token),
            )
            .await;
        assert_eq!(status, 200, "takeover: {body}");
        let (ended, _) = ws.until_end().await;
        assert_eq!(close_code(&ended), Some(4403), "round {round}");
        // ...the client's answering close goes out...
        ws.stream.flush().await.unwrap();
        // ...and the server hangs up.
        times.push(time_to_eof(&mut ws).await);
        // Hand the claim back for the next round.
        let resp = server
            .http
            .delete(server.url(&format!("/api/v1/threads/{thread}/claim")))
            .bearer_auth(&admin.token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "release: {}", resp.status());
        server.claim(&agent, thread).await;
    }
    eprintln!("server-initiated close, time to EOF: {times:?}");
    for took in times {
        assert!(took < PROMPT, "EOF {took:?} after the close handshake");
    }
}

#[tokio::test]
async fn after_a_client_close_the_tcp_connection_ends_promptly() {
    let shared = Shared::fresh();
    let server = Instance::start(&shared, &[]).await;
    let client = server.new_client().await;
    let thread = server.open_thread(&client, "hello").await;

    let mut times = Vec::new();
    for _ in 0..3 {
        let mut ws = server
            .socket(&format!("/ws/threads/{thread}"), &client.token)
            .await;
        ws.next_of("ready").await;
        ws.stream.send(WsMessage::Close(None)).await.unwrap();
        // The server answers the close...
        let (ended, _) = ws.until_end().await;
        assert_eq!(close_code(&ended), Some(1000));
        // ...and hangs up.
        times.push(time_to_eof(&mut ws).await);
    }
    eprintln!("client-initiated close, time to EOF: {times:?}");
    for took in times {
        assert!(took < PROMPT, "EOF {took:?} after the close handshake");
    }
}
