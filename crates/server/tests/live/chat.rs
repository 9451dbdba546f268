//! Two instances, one conversation: sockets on different instances chat both ways, REST sends
//! show up live, sends are acknowledged with the stored id and are idempotent.

use serde_json::json;

use crate::helpers::*;

async fn a_client_and_an_agent_on_two_instances_chat_both_ways_and_see_rest_sends_live(
    shared: Shared,
) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;

    let client = a.new_client().await;
    let agent = b.new_agent().await;
    let thread = a.open_thread(&client, "my loan disbursement is late").await;
    b.claim(&agent, thread).await;

    let mut client_ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    let ready = client_ws.next_json().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["thread_id"], thread);
    assert_eq!(ready["user_id"], client.id);
    assert_eq!(ready["role"], "client");
    assert_eq!(ready["last_seq"], 1);

    let mut agent_ws = b
        .socket_with_header(&format!("/ws/threads/{thread}"), &agent.token)
        .await;
    assert_eq!(agent_ws.next_json().await["role"], "agent");

    // Client -> agent, across instances.
    client_ws
        .send_json(
            json!({"type": "message.send", "body": "hello from A", "client_message_id": "c-1"}),
        )
        .await;
    let ack = client_ws.next_of("ack").await;
    assert_eq!(ack["thread_id"], thread);
    assert_eq!(ack["client_message_id"], "c-1");
    assert_eq!(ack["seq"], 2);
    let got = agent_ws.next_of("message.created").await;
    assert_eq!(got["thread_id"], thread);
    assert_eq!(got["seq"], 2);
    assert_eq!(got["message"]["body"], "hello from A");
    assert_eq!(got["message"]["id"], ack["message_id"]);
    assert_eq!(got["message"]["sender_id"], client.id);

    // Agent -> client, across instances, with the seed page's plain frame.
    agent_ws.send_json(json!({"message": "hello from B"})).await;
    let ack = agent_ws.next_of("ack").await;
    assert_eq!(ack["seq"], 3);
    assert_eq!(client_ws.next_of("message.created").await["seq"], 2);
    let got = client_ws.next_of("message.created").await;
    assert_eq!(got["message"]["body"], "hello from B");
    assert_eq!(got["message"]["sender_role"], "agent");
    assert_eq!(agent_ws.next_of("message.created").await["seq"], 3);

    // REST sends on a third path (/api/v1 on A, the seed's send-message on B) reach both.
    let seq = a.send_rest(&client, thread, "sent over REST").await;
    assert_eq!(seq, 4);
    let (status, body) = b
        .post(
            "/chat-app/send-message/",
            json!({"username": client.username, "password": PASSWORD,
                   "message_body": "sent like the seed", "thread_type": 1}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["thread_id"], thread);
    for ws in [&mut client_ws, &mut agent_ws] {
        let frames = ws.messages_until("sent like the seed").await;
        assert_eq!(seqs(&frames), vec![4, 5]);
        assert_eq!(frames[0]["message"]["body"], "sent over REST");
    }

    // Everything is stored once, in order.
    let stored = a.messages(&client, thread).await;
    let bodies: Vec<_> = stored.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies,
        vec![
            "my loan disbursement is late",
            "hello from A",
            "hello from B",
            "sent over REST",
            "sent like the seed"
        ]
    );
}

async fn a_retried_send_with_the_same_client_message_id_is_stored_once(shared: Shared) {
    let a = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let thread = a.open_thread(&client, "first").await;
    let mut ws = a
        .socket(&format!("/ws/threads/{thread}"), &client.token)
        .await;
    ws.next_of("ready").await;

    let send =
        json!({"type": "message.send", "body": "only once", "client_message_id": "retry-me"});
    ws.send_json(send.clone()).await;
    ws.send_json(send).await;
    ws.send_json(json!({"type": "message.send", "body": "marker"}))
        .await;
    let (mut acks, mut created) = (Vec::new(), Vec::new());
    loop {
        let frame = ws.next_significant().await;
        match frame["type"].as_str() {
            Some("ack") => acks.push(frame),
            Some("message.created") => {
                created.push(frame["seq"].as_i64().unwrap());
                if frame["message"]["body"] == "marker" {
                    break;
                }
            }
            _ => panic!("unexpected frame {frame}"),
        }
    }
    assert_eq!(created, vec![2, 3]);
    assert_eq!(acks[0]["message_id"], acks[1]["message_id"]);
    assert_eq!(acks[0]["seq"], 2);
    assert_eq!(acks[1]["seq"], 2);
    assert_eq!(acks[0]["client_message_id"], "retry-me");
    assert_eq!(a.messages(&client, thread).await.len(), 3);
}

async fn typing_and_read_receipts_reach_the_other_side_and_read_marks_show_in_rest(shared: Shared) {
    let JoinedPair {
        a,
        b: _b,
        client,
        agent,
        thread,
        mut client_ws,
        mut agent_ws,
    } = JoinedPair::across_two_instances(&shared, "are you there?").await;

    agent_ws.send_json(json!({"type": "typing"})).await;
    let typing = client_ws.next_of("typing").await;
    assert_eq!(typing["thread_id"], thread);
    assert_eq!(typing["user_id"], agent.id);

    agent_ws
        .send_json(json!({"type": "read", "up_to_seq": 1}))
        .await;
    let read = client_ws.next_of("read").await;
    assert_eq!(read["reader_id"], agent.id);
    assert_eq!(read["up_to_seq"], 1);
    let stored = a.messages(&client, thread).await;
    assert_eq!(stored[0]["is_read"], true);
}

async fn claim_changes_reach_the_queue_live_and_a_taken_over_agent_is_told_and_let_go(
    shared: Shared,
) {
    let a = Instance::start(&shared, &[]).await;
    let b = Instance::start(&shared, &[]).await;
    let client = a.new_client().await;
    let first = a.new_agent().await;
    let watcher = b.new_agent().await;
    let admin = b.admin().await;

    let mut queue = b.socket("/ws/queue", &watcher.token).await;
    let ready = queue.next_of("ready").await;
    assert_eq!(ready["role"], "agent");

    let thread = a.open_thread(&client, "loan approval please").await;
    let created = queue.next_of("message.created").await;
    assert_eq!(created["thread_id"], thread);

    a.claim(&first, thread).await;
    let claimed = queue.next_of("claimed").await;
    assert_eq!(claimed["thread_id"], thread);
    assert_eq!(claimed["agent_id"], first.id);

    let mut first_ws = a
        .socket(&format!("/ws/threads/{thread}"), &first.token)
        .await;
    first_ws.next_of("ready").await;
    let (status, _) = b
        .post(
            &format!("/api/v1/threads/{thread}/takeover"),
            json!({}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(status, 200);
    let taken = queue.next_of("taken_over").await;
    assert_eq!(taken["from"], first.id);
    assert_eq!(taken["to"], admin.id);

    let (ended, frames) = first_ws.until_end().await;
    assert!(frames.iter().any(|f| f["type"] == "taken_over"));
    assert_eq!(close_code(&ended), Some(4403));

    let resp = b
        .http
        .delete(b.url(&format!("/api/v1/threads/{thread}/claim")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let released = queue.next_of("released").await;
    assert_eq!(released["agent_id"], admin.id);
}

/// While an agent's send waits for the database (its thread row locked by another transaction),
/// the agent's socket keeps delivering live events (the client's `typing`); once the lock goes,
/// the agent gets its `ack` before its own `message.created`, and both sides get the message.
async fn a_socket_keeps_delivering_while_its_send_is_stored(shared: Shared) {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, PgConnection};

    let JoinedPair {
        a,
        b: _b,
        client,
        agent: _agent,
        thread,
        mut client_ws,
        mut agent_ws,
    } = JoinedPair::across_two_instances(&shared, "is anyone there?").await;

    let url = shared.database_url.clone();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        conn.batch_execute(&format!(
            "BEGIN; SELECT id FROM threads WHERE id = {thread} FOR UPDATE"
        ))
        .unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        conn.batch_execute("ROLLBACK").unwrap();
    });
    locked_rx.recv().unwrap();

    agent_ws
        .send_json(
            json!({"type": "message.send", "body": "one moment", "client_message_id": "held-1"}),
        )
        .await;
    // Give the send time to reach the lock, then the client types.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    client_ws.send_json(json!({"type": "typing"})).await;
    let frame = loop {
        let frame = agent_ws.next_json().await;
        if !matches!(
            frame["type"].as_str(),
            Some("read" | "claimed" | "thread.status")
        ) {
            break frame;
        }
    };
    assert_eq!(
        frame["type"], "typing",
        "the client's typing comes while the agent's send waits: {frame}"
    );
    assert_eq!(frame["user_id"], client.id);

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let ack = agent_ws.next_significant().await;
    assert_eq!(
        ack["type"], "ack",
        "the ack comes before the agent's own message: {ack}"
    );
    assert_eq!(ack["client_message_id"], "held-1");
    assert_eq!(ack["seq"], 2);
    let echo = agent_ws.next_significant().await;
    assert_eq!(echo["type"], "message.created");
    assert_eq!(echo["seq"], 2);
    let seen = client_ws.next_of("message.created").await;
    assert_eq!(seen["seq"], 2);
    assert_eq!(a.messages(&client, thread).await.len(), 2);
}

on_single_redis_and_cluster!(
    a_client_and_an_agent_on_two_instances_chat_both_ways_and_see_rest_sends_live,
    a_retried_send_with_the_same_client_message_id_is_stored_once,
    typing_and_read_receipts_reach_the_other_side_and_read_marks_show_in_rest,
    claim_changes_reach_the_queue_live_and_a_taken_over_agent_is_told_and_let_go,
    a_socket_keeps_delivering_while_its_send_is_stored,
);
