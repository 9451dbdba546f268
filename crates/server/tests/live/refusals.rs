//! Sockets without valid credentials, or for a thread the user may not join, are refused and
//! learn nothing about the thread.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sockets_without_valid_credentials_or_rights_are_refused_before_the_upgrade() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let owner = a.new_client().await;
    let other = a.new_client().await;
    let agent = a.new_agent().await;
    let secret = "my account number is 12345";
    let thread = a.open_thread(&owner, secret).await;
    let path = format!("/ws/threads/{thread}");

    let refused = |result: Result<Socket, (u16, String)>| match result {
        Ok(_) => panic!("socket accepted"),
        Err(refusal) => refusal,
    };

    let (status, body) =
        refused(Socket::connect(&a.ws_url(&format!("{path}?token=not-a-token"))).await);
    assert_eq!(status, 401);
    assert!(body.contains("unauthenticated"), "{body}");

    // Another client: refused, and a thread that does not exist reads the same.
    let (status, body) =
        refused(Socket::connect(&a.ws_url(&format!("{path}?token={}", other.token))).await);
    assert_eq!(status, 403);
    let (status_missing, body_missing) = refused(
        Socket::connect(&a.ws_url(&format!("/ws/threads/999999?token={}", other.token))).await,
    );
    assert_eq!(status_missing, 403);
    assert_eq!(body, body_missing);
    for leaked in [secret, &owner.username, &owner.id.to_string()] {
        assert!(!body.contains(leaked), "{body} leaks {leaked}");
    }

    // An agent without the claim, and a client on the queue.
    let (status, _) =
        refused(Socket::connect(&a.ws_url(&format!("{path}?token={}", agent.token))).await);
    assert_eq!(status, 403);
    let (status, _) =
        refused(Socket::connect(&a.ws_url(&format!("/ws/queue?token={}", owner.token))).await);
    assert_eq!(status, 403);
    let (status, _) = refused(Socket::connect(&a.ws_url("/ws/queue?token=nope")).await);
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_socket_that_authenticates_by_frame_must_do_so_first_and_with_a_valid_token() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let owner = a.new_client().await;
    let other = a.new_client().await;
    let thread = a.open_thread(&owner, "private").await;
    let url = a.ws_url(&format!("/ws/threads/{thread}"));

    // A valid auth frame: ready, then the conversation.
    let mut ws = Socket::connect(&url).await.unwrap();
    ws.send_json(json!({"type": "auth", "token": owner.token}))
        .await;
    let ready = ws.next_json().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["user_id"], owner.id);

    // A bad token.
    let mut ws = Socket::connect(&url).await.unwrap();
    ws.send_json(json!({"type": "auth", "token": "forged"}))
        .await;
    let (ended, frames) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(4401));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["type"], "error");
    assert_eq!(frames[0]["code"], "unauthenticated");

    // Someone else's valid token.
    let mut ws = Socket::connect(&url).await.unwrap();
    ws.send_json(json!({"type": "auth", "token": other.token}))
        .await;
    let (ended, frames) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(4403));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["code"], "forbidden");
    assert!(!frames[0].to_string().contains("private"));

    // A send before authenticating is refused and stores nothing.
    let mut ws = Socket::connect(&url).await.unwrap();
    ws.send_json(json!({"type": "message.send", "body": "sneaky"}))
        .await;
    let (ended, _) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(4401));

    // Silence past the auth timeout.
    let mut ws = Socket::connect(&url).await.unwrap();
    let (ended, frames) = ws.until_end().await;
    assert_eq!(close_code(&ended), Some(4401));
    assert_eq!(frames[0]["code"], "unauthenticated");

    assert_eq!(a.messages(&owner, thread).await.len(), 1);
}

#[tokio::test]
async fn a_user_may_not_open_more_sockets_than_the_limit() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[("CHAT__WS__MAX_SOCKETS_PER_USER", "2")]).await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "hi").await;
    let path = format!("/ws/threads/{thread}");
    let mut first = a.socket(&path, &client.token).await;
    first.next_of("ready").await;
    let mut second = a.socket(&path, &client.token).await;
    second.next_of("ready").await;
    let refused = Socket::connect(&a.ws_url(&format!("{path}?token={}", client.token))).await;
    assert_eq!(
        refused.err().map(|r| r.0),
        Some(StatusCode::TOO_MANY_REQUESTS.as_u16())
    );

    // Closing one frees a place.
    first.close().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match Socket::connect(&a.ws_url(&format!("{path}?token={}", client.token))).await {
            Ok(mut ws) => {
                assert_eq!(ws.next_json().await["type"], "ready");
                break;
            }
            Err(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the closed socket was not counted out"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
