//! A socket that drops and comes back with the last sequence number it saw gets exactly what
//! it missed, in order, none twice, then continues live.

use serde_json::json;

use crate::helpers::*;

async fn a_socket_resuming_with_last_seq_gets_exactly_the_missed_messages_in_order(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let agent = b.new_agent().await;
    let thread = a.open_thread(&client, "one").await;
    b.claim(&agent, thread).await;

    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;
    b.send_rest(&agent, thread, "two").await;
    let seen = ws.messages_until("two").await;
    let last_seen = seen.last().unwrap()["seq"].as_i64().unwrap();
    assert_eq!(last_seen, 2);
    ws.close().await;

    // Missed while away, sent on both instances.
    for i in 0..3 {
        b.send_rest(&agent, thread, &format!("missed agent {i}"))
            .await;
        a.send_rest(&client, thread, &format!("missed client {i}"))
            .await;
    }

    // Back on the other instance, with ?last_seq=.
    let mut ws = b
        .socket(
            &format!("/ws/threads/{thread}?last_seq={last_seen}"),
            &client.token,
        )
        .await;
    let ready = ws.next_of("ready").await;
    assert_eq!(ready["last_seq"], 8);
    b.send_rest(&agent, thread, "live again").await;
    let frames = ws.messages_until("live again").await;
    assert_eq!(seqs(&frames), (3..=9).collect::<Vec<_>>());
    assert_eq!(frames[0]["message"]["body"], "missed agent 0");
    assert_eq!(frames[5]["message"]["body"], "missed client 2");
}

#[tokio::test]
async fn a_resume_frame_replays_from_the_given_seq_then_continues_live() {
    let shared = Shared::fresh();
    let a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "m1").await;
    for i in 2..=4 {
        a.send_rest(&client, thread, &format!("m{i}")).await;
    }
    // Without last_seq, a socket starts live from the thread's current end.
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    assert_eq!(ws.next_of("ready").await["last_seq"], 4);
    ws.send_json(json!({"type": "resume", "last_seq": 1})).await;
    let frames = ws.messages_until("m4").await;
    assert_eq!(seqs(&frames), vec![2, 3, 4]);
    a.send_rest(&client, thread, "m5").await;
    let frames = ws.messages_until("m5").await;
    assert_eq!(seqs(&frames), vec![5]);

    // ?last_seq=0 replays the whole history.
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}?last_seq=0"), &client.token)
        .await;
    ws.next_of("ready").await;
    let frames = ws.messages_until("m5").await;
    assert_eq!(seqs(&frames), vec![1, 2, 3, 4, 5]);
}

on_single_redis_and_cluster!(
    a_socket_resuming_with_last_seq_gets_exactly_the_missed_messages_in_order,
);
