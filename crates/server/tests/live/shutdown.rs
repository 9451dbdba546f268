//! SIGTERM closes every open socket with 1001 ("going away") — a thread socket, a queue socket
//! and one still waiting for its `auth` frame — so browsers reconnect to another instance and
//! resume; the process then exits cleanly instead of waiting out the request drain.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::helpers::*;

/// The close frame a socket ends with (code and reason), skipping the frames before it;
/// `None` if the connection dropped without one.
async fn close_frame(socket: &mut Socket) -> Option<(u16, String)> {
    loop {
        let next = tokio::time::timeout(PATIENCE, socket.stream.next())
            .await
            .expect("the socket did not end in time");
        match next {
            Some(Ok(WsMessage::Close(frame))) => {
                return frame.map(|f| (u16::from(f.code), f.reason.into_owned()))
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn sigterm_closes_every_socket_with_going_away_and_the_server_exits_cleanly() {
    let shared = Shared::fresh();
    // A long auth timeout, so the unauthenticated socket is still waiting when SIGTERM comes;
    // the default 30 s request drain, which open sockets must not hold up.
    let mut server = Instance::start(
        &shared,
        &[
            ("CHAT__WS__AUTH_TIMEOUT_MS", "120000"),
            ("CHAT__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "30"),
        ],
    )
    .await;
    let client = server.new_client().await;
    let agent = server.new_agent().await;
    let thread = server.open_thread(&client, "are you there?").await;

    let mut thread_ws = server
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    assert_eq!(thread_ws.next_json().await["type"], "ready");
    let mut queue_ws = server.socket("/ws/queue", &agent.token).await;
    assert_eq!(queue_ws.next_json().await["type"], "ready");
    let mut unauthenticated = Socket::connect(&server.ws_url("/ws/queue"))
        .await
        .expect("upgraded without credentials");

    server.terminate();

    for (name, socket) in [
        ("thread", &mut thread_ws),
        ("queue", &mut queue_ws),
        ("unauthenticated", &mut unauthenticated),
    ] {
        let (code, reason) = close_frame(socket)
            .await
            .unwrap_or_else(|| panic!("{name} socket dropped without a close frame"));
        assert_eq!(code, 1001, "{name} socket: {reason}");
        assert_eq!(reason, "server shutting down", "{name} socket");
    }

    // Well before the 30 s drain (PATIENCE is 20 s): the sockets did not hold the server.
    let status = server.exit_status().await;
    assert!(status.success(), "exit status {status}");
}
