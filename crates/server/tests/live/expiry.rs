//! A claim whose holder does nothing expires: the background sweep publishes `expired`, which
//! reaches the queue sockets of other agents and the holder's own thread socket (then closed
//! with 4403, across instances), and the thread can be claimed again.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A two-second lease (room for the holder to join under load) swept every second.
const SHORT_LEASE: &[(&str, &str)] = &[
    ("CHAT__CLAIMS__LEASE_SECONDS", "2"),
    ("CHAT__CLAIMS__SWEEP_INTERVAL_SECONDS", "1"),
];

async fn an_idle_claim_expires_live_for_the_queue_and_the_holder_and_can_be_claimed_again(
    shared: Shared,
) {
    let a = Instance::start(&shared, SHORT_LEASE).await;
    let b = Instance::start(&shared, SHORT_LEASE).await;
    let client = a.new_client().await;
    let holder = a.new_agent().await;
    let other = b.new_agent().await;
    let thread = a.open_thread(&client, "anyone there?").await;

    // The other agent watches the queue on B before the claim is made.
    let mut queue_ws = b.socket("/ws/queue", &other.token).await;
    assert_eq!(queue_ws.next_json().await["type"], "ready");

    a.claim(&holder, thread).await;
    // The holder's socket on A: joining is not activity, and the test client answers the
    // server's WebSocket pings only with protocol pongs, which never renew the claim.
    let mut holder_ws = a
        .socket(&format!("/ws/threads/{thread}"), &holder.token)
        .await;
    let ready = holder_ws.next_json().await;
    assert_eq!(ready["type"], "ready", "{ready}");
    let mut client_ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    assert_eq!(client_ws.next_json().await["type"], "ready");

    // The queue sees the claim, then (the holder doing nothing) its expiry.
    let claimed = queue_ws.next_of("claimed").await;
    assert_eq!(claimed["thread_id"], thread);
    assert_eq!(claimed["agent_id"], holder.id);
    let expired = queue_ws.next_of("expired").await;
    assert_eq!(expired["thread_id"], thread);
    assert_eq!(expired["agent_id"], holder.id);

    // The holder learns it on its thread socket, which is then closed: the claim ended.
    let (ended, frames) = holder_ws.until_end().await;
    let expired = frames
        .iter()
        .find(|f| f["type"] == "expired")
        .unwrap_or_else(|| panic!("no expired frame before the close: {frames:?}"));
    assert_eq!(expired["thread_id"], thread);
    assert_eq!(expired["agent_id"], holder.id);
    assert_eq!(
        frames.last().map(|f| f["type"].clone()),
        Some(json!("expired")),
        "the close follows the expired frame: {frames:?}"
    );
    assert_eq!(ended, Ended::Closed(Some(4403)));

    // The client stays, and hears it too.
    let expired = client_ws.next_of("expired").await;
    assert_eq!(expired["agent_id"], holder.id);

    // The thread is free again: another agent claims it over REST (on the other instance),
    // and the queue hears that live.
    let (status, body) = b
        .post(
            &format!("/api/v1/threads/{thread}/claim"),
            json!({}),
            Some(&other.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claimed = queue_ws.next_of("claimed").await;
    assert_eq!(claimed["thread_id"], thread);
    assert_eq!(claimed["agent_id"], other.id);

    // The former holder may no longer write in it (409 whether or not the new short
    // lease is still running).
    let (status, body) = a
        .post(
            &format!("/api/v1/threads/{thread}/messages"),
            json!({"body": "still mine?"}),
            Some(&holder.token),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

on_single_redis_and_cluster!(
    an_idle_claim_expires_live_for_the_queue_and_the_holder_and_can_be_claimed_again,
);
