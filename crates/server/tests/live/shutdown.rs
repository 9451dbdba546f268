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

/// SIGTERM while Postgres is away and requests are waiting on the pool (issue 17): every open
/// socket still gets its 1001 close at once, the requests in flight are answered (503 within
/// the pool's checkout wait, 1 s here), and the process exits cleanly at the HTTP server's
/// next once-a-second check after they end: 1-2 s, far inside the 30 s
/// `server.shutdown_timeout_seconds` (docs/ARCHITECTURE.md, Shutdown).
#[tokio::test]
async fn sigterm_during_a_postgres_outage_closes_sockets_and_exits_promptly() {
    let shared = Shared::fresh();
    let port = free_port();
    let (through_proxy, upstream) = shared.through_port(port);
    let mut proxy = Proxy::start(port, upstream).await;
    let mut server = Instance::start(
        &through_proxy,
        &[
            ("CHAT__DATABASE__CHECKOUT_TIMEOUT_MS", "1000"),
            ("CHAT__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "30"),
        ],
    )
    .await;
    let client = server.new_client().await;
    let agent = server.new_agent().await;
    let thread = server.open_thread(&client, "before the outage").await;
    let mut thread_ws = server
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    thread_ws.next_of("ready").await;
    let mut queue_ws = server.socket("/ws/queue", &agent.token).await;
    queue_ws.next_of("ready").await;

    proxy.cut().await;
    // Sends in flight, some of them waiting on the pool, when SIGTERM comes.
    let mut sends = Vec::new();
    for i in 0..6 {
        let http = server.http.clone();
        let url = server.url(&format!("/api/v1/threads/{thread}/messages"));
        let token = client.token.clone();
        sends.push(tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .timeout(std::time::Duration::from_secs(15))
                .json(&serde_json::json!({"body": format!("during the outage {i}")}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let signalled = std::time::Instant::now();
    server.terminate();

    for (name, socket) in [("thread", &mut thread_ws), ("queue", &mut queue_ws)] {
        let (code, reason) = close_frame(socket)
            .await
            .unwrap_or_else(|| panic!("{name} socket dropped without a close frame"));
        assert_eq!(code, 1001, "{name} socket: {reason}");
        // Answer the close (the server waits for it before ending the connection).
        let _ = socket.stream.next().await;
    }
    let closed = signalled.elapsed();
    let status = server.exit_status().await;
    let exited = signalled.elapsed();
    let mut answers = Vec::new();
    for send in sends {
        answers.push(send.await.unwrap());
    }
    eprintln!(
        "SIGTERM during the outage: sockets closed after {closed:?}, exit after {exited:?} \
         ({status}); sends: {answers:?}"
    );
    assert!(
        status.success(),
        "exit status {status}: {}",
        server.log_text()
    );
    assert!(
        exited < std::time::Duration::from_secs(5),
        "exit took {exited:?}: {}",
        server.log_text()
    );
    // The sends in flight were answered (503 while the database is away), not cut off.
    for answer in &answers {
        match answer {
            Ok(code) => assert!(*code == 503 || *code == 201, "send answered {code}"),
            Err(err) => panic!("a send in flight got no answer: {err}"),
        }
    }
}
