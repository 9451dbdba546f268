//! A socket whose client stops reading while the thread is flooded is dropped by the server
//! (slow consumer, 1008) instead of being buffered for without bound; everyone else is served.

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

use crate::helpers::*;

/// Messages sent per round of the flood, between two checks of whether the server let go.
const ROUND: usize = 40;
/// The flood gives up (and the test fails) after this many messages.
const MAX_FLOOD: usize = 4000;

/// A WebSocket client over a TCP socket with a tiny receive buffer, so that a client which
/// stops reading pushes back on the server almost at once.
async fn tiny_buffer_socket(url: &str) -> WebSocketStream<TcpStream> {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (stream, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    stream
}

/// The next text frame of a raw stream as JSON, or how it ended.
async fn next_text(stream: &mut WebSocketStream<TcpStream>) -> Result<serde_json::Value, Ended> {
    loop {
        match tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("no frame in time")
        {
            Some(Ok(WsMessage::Text(text))) => return Ok(serde_json::from_str(&text).unwrap()),
            Some(Ok(WsMessage::Close(frame))) => {
                return Err(Ended::Closed(frame.map(|f| u16::from(f.code))))
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(Ended::Dropped),
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_while_the_others_get_everything() {
    let shared = Shared::fresh();
    // One socket per user, so the server letting go of the slow socket shows as its user being
    // able to connect again; a short send timeout keeps the test quick.
    let mut a = Instance::start(
        &shared,
        &[
            ("CHAT__WS__SEND_TIMEOUT_MS", "300"),
            ("CHAT__WS__MAX_SOCKETS_PER_USER", "1"),
        ],
    )
    .await;
    let client = a.new_client().await;
    let admin = a.admin().await;
    let thread = a.open_thread(&client, "flood ahead").await;
    let path = format!("/ws/threads/{thread}");

    // The admin's socket joins, then its client stops reading.
    let mut slow = tiny_buffer_socket(&a.ws_url(&format!("{path}?token={}", admin.token))).await;
    assert_eq!(next_text(&mut slow).await.unwrap()["type"], "ready");
    // While it is open, the admin's one socket is taken.
    let refused = Socket::connect(&a.ws_url(&format!("{path}?token={}", admin.token))).await;
    assert_eq!(refused.err().map(|(status, _)| status), Some(429));

    // The client reads everything, and floods the thread over REST.
    let mut reader = a.socket(&path, &client.token).await;
    assert_eq!(reader.next_json().await["type"], "ready");
    let body = "x".repeat(3_900);
    let mut sent = 0;
    let released = loop {
        for _ in 0..ROUND {
            let (status, resp) = a
                .post(
                    &format!("/api/v1/threads/{thread}/messages"),
                    serde_json::json!({ "body": body }),
                    Some(&client.token),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{resp}");
            sent += 1;
        }
        // The reader keeps up: it gets every message, in order, at once.
        let frames = reader.messages_until_count(ROUND).await;
        assert_eq!(
            seqs(&frames),
            ((sent - ROUND + 2) as i64..=(sent + 1) as i64).collect::<Vec<_>>()
        );
        // Has the server let go of the slow socket? Then the admin may connect again.
        if let Ok(socket) =
            Socket::connect(&a.ws_url(&format!("{path}?token={}", admin.token))).await
        {
            break socket;
        }
        assert!(
            sent < MAX_FLOOD,
            "the server still holds the slow socket after {sent} messages of ~4 KB"
        );
    };

    // The server still serves: the new socket works, and so does REST.
    let mut admin_ws = released;
    assert_eq!(admin_ws.next_json().await["type"], "ready");
    let seq = a.send_rest(&client, thread, "after the flood").await;
    assert_eq!(
        admin_ws
            .messages_until("after the flood")
            .await
            .last()
            .unwrap()["seq"],
        seq
    );
    assert_eq!(
        reader
            .messages_until("after the flood")
            .await
            .last()
            .unwrap()["seq"],
        seq
    );
    assert!(a.is_running());

    // The slow client, reading again, gets what was already buffered for it and then the close
    // with 1008, well before the end of the flood: the rest was not kept for it.
    let mut delivered = 0;
    let ended = loop {
        match next_text(&mut slow).await {
            Ok(frame) => {
                if frame["type"] == "message.created" {
                    delivered += 1;
                }
            }
            Err(ended) => break ended,
        }
    };
    assert_eq!(ended, Ended::Closed(Some(1008)));
    assert!(delivered < sent, "{delivered} of {sent} delivered");
}
