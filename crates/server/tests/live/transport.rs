//! The socket's own framing after the upgrade: messages in continuation frames, text that is
//! not UTF-8, a message assembled past the size limit, and upgrade requests to plain routes.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::*;

/// A data frame as the client sends it (tungstenite masks it).
fn frame(bytes: &[u8], opcode: OpCode, last: bool) -> WsMessage {
    WsMessage::Frame(Frame::message(bytes.to_vec(), opcode, last))
}

#[tokio::test]
async fn a_message_split_into_continuation_frames_is_read_as_one() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let (client, thread, mut ws) = a.client_in_its_thread().await;

    let text = json!({"type": "message.send", "body": "sent in three parts"}).to_string();
    let (first, rest) = text.as_bytes().split_at(10);
    let (middle, last) = rest.split_at(15);
    ws.send_raw(frame(first, OpCode::Data(Data::Text), false))
        .await;
    // A ping between the parts is answered and does not break the message.
    ws.send_raw(WsMessage::Ping(b"between".to_vec())).await;
    ws.send_raw(frame(middle, OpCode::Data(Data::Continue), false))
        .await;
    ws.send_raw(frame(last, OpCode::Data(Data::Continue), true))
        .await;

    assert_eq!(ws.next_of("ack").await["seq"], 2);
    let stored = a.messages(&client, thread).await;
    assert_eq!(stored[1]["body"], "sent in three parts");
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_closes_the_socket_with_1002() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[]).await;
    let (client, thread, mut ws) = a.client_in_its_thread().await;

    ws.send_raw(frame(
        &[0x7b, 0xff, 0xfe, 0x7d],
        OpCode::Data(Data::Text),
        true,
    ))
    .await;
    let (ended, _) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(1002), "{ended:?}");
    assert!(a.is_running());
    assert_eq!(a.messages(&client, thread).await.len(), 1);
}

#[tokio::test]
async fn a_message_assembled_past_the_size_limit_closes_the_socket_with_1009() {
    let shared = Shared::fresh();
    let mut a = Instance::start(&shared, &[("CHAT__WS__MAX_FRAME_BYTES", "16384")]).await;
    let (_, _, mut ws) = a.client_in_its_thread().await;

    // Each frame is under the limit; together they are not.
    let part = vec![b'x'; 8 * 1024];
    ws.send_raw(frame(&part, OpCode::Data(Data::Text), false))
        .await;
    ws.send_raw(frame(&part, OpCode::Data(Data::Continue), false))
        .await;
    ws.send_raw(frame(&part, OpCode::Data(Data::Continue), true))
        .await;
    let (ended, frames) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(1009), "{ended:?} {frames:?}");
    assert!(
        frames.iter().any(|f| f["code"] == "too_large"),
        "{frames:?}"
    );
    assert!(a.is_running());
}

#[tokio::test]
async fn an_upgrade_request_to_a_plain_route_gets_that_route_s_answer_and_a_close() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let address = a.url("").replace("http://", "");
    let mut tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    tcp.write_all(
        b"GET /healthz HTTP/1.1\r\nHost: chat\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    // The server closes the connection after the answer: read to the end.
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut answer))
        .await
        .expect("the connection was not closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(!answer.contains("upgrade: websocket"), "{answer}");
}
