//! Private notes and reopenings across two instances (Postgres and Redis): a note written on one
//! instance reaches the staff's sockets on the other, in `seq` order with the messages, and never
//! the client's socket; a client reopening a resolved thread is told to its last agent.

use serde_json::json;

use crate::helpers::*;

async fn notes_reach_staff_on_another_instance_and_never_the_client(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let agent = b.new_agent().await;
    let thread = a.open_thread(&client, "my card was stolen").await;
    b.claim(&agent, thread).await;

    let mut client_ws = b
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    assert_eq!(client_ws.next_json().await["type"], "ready");
    let mut agent_ws = b
        .socket(&format!("/ws/threads/{thread}"), &agent.token)
        .await;
    assert_eq!(agent_ws.next_json().await["type"], "ready");
    let mut queue_ws = b.socket("/ws/queue", &agent.token).await;
    assert_eq!(queue_ws.next_json().await["type"], "ready");

    // Written on A: a note, then the agent's reply.
    let (status, note) = a
        .post(
            &format!("/api/v1/threads/{thread}/notes"),
            json!({"body": "blocked the card by phone"}),
            Some(&agent.token),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    assert_eq!(note["kind"], "note");
    assert_eq!(a.send_rest(&agent, thread, "your card is blocked").await, 3);

    let got = agent_ws.next_significant().await;
    assert_eq!(got["type"], "note.created", "{got}");
    assert_eq!(got["seq"], 2);
    assert_eq!(got["message"]["body"], "blocked the card by phone");
    let got = agent_ws.next_significant().await;
    assert_eq!(
        (got["type"].as_str(), got["seq"].as_i64()),
        (Some("message.created"), Some(3))
    );
    assert_eq!(queue_ws.next_of("note.created").await["seq"], 2);

    let got = client_ws.next_significant().await;
    assert_eq!(got["type"], "message.created", "{got}");
    assert_eq!(got["seq"], 3);
    assert_eq!(got["message"]["kind"], "message");

    // The client's REST view on either instance has no note.
    for instance in [&a, &b] {
        let listed = instance.messages(&client, thread).await;
        assert!(listed.iter().all(|m| m["kind"] == "message"), "{listed:?}");
        assert_eq!(listed.len(), 2);
    }

    // Resolved on A, the client is told on B; it writes again and the agent hears of it on B.
    let (status, _) = a
        .put(
            &format!("/api/v1/threads/{thread}/status"),
            json!({"status": "resolved"}),
            &agent.token,
        )
        .await;
    assert_eq!(status, 200);
    // (after the reply's `pending`)
    while client_ws.next_of("thread.status").await["status"] != "resolved" {}
    a.send_rest(&client, thread, "it happened again").await;
    let reopened = queue_ws.next_of("thread.reopened").await;
    assert_eq!(reopened["thread_id"], thread);
    assert_eq!(reopened["agent_id"], agent.id);
    // The message first, then the status it changed.
    let got = client_ws.next_of("message.created").await;
    assert_eq!(got["message"]["body"], "it happened again", "{got}");
    assert_eq!(client_ws.next_of("thread.status").await["status"], "open");
}

on_single_redis_and_cluster!(notes_reach_staff_on_another_instance_and_never_the_client,);
