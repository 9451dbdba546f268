//! Redis restarted mid-conversation: the instances reconnect by themselves, and nothing sent
//! during or after the restart is lost, for a socket that stayed nor for one that resumes. On a
//! Redis Cluster, the same when the master of the thread's shard channel crashes and restarts.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

/// A private redis-server on its own port (never the shared one), killed on drop.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        PrivateRedis {
            port,
            child: Some(child),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A client on instance A and the agent holding its thread on instance B, both sockets joined,
/// and one message already delivered live across them (seq 2).
struct Conversation {
    a: Instance,
    b: Instance,
    client: User,
    thread: i64,
    client_ws: Socket,
    agent_ws: Socket,
}

impl Conversation {
    async fn across_two_instances(shared: &Shared) -> Self {
        let a = Instance::start(shared, &[]).await;
        let b = Instance::start(shared, &[]).await;
        let client = a.new_client().await;
        let agent = b.new_agent().await;
        let thread = a.open_thread(&client, "before").await;
        b.claim(&agent, thread).await;

        let mut client_ws = a
            .socket(&format!("/ws/threads/{thread}"), &client.token)
            .await;
        client_ws.next_of("ready").await;
        let mut agent_ws = b
            .socket(&format!("/ws/threads/{thread}"), &agent.token)
            .await;
        agent_ws.next_of("ready").await;
        agent_ws
            .send_json(json!({"type": "message.send", "body": "live before"}))
            .await;
        let frames = client_ws.messages_until("live before").await;
        assert_eq!(seqs(&frames), vec![2]);
        Conversation {
            a,
            b,
            client,
            thread,
            client_ws,
            agent_ws,
        }
    }
}

#[tokio::test]
async fn after_a_redis_restart_instances_reconnect_and_nothing_sent_meanwhile_is_lost() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port).await;
    let shared = Shared::fresh_with_redis(&redis.url());
    let Conversation {
        a,
        b: _b,
        client,
        thread,
        mut client_ws,
        mut agent_ws,
    } = Conversation::across_two_instances(&shared).await;

    redis.kill();
    // Sent while Redis is down: stored, acknowledged, never blocked.
    for i in 0..3 {
        agent_ws
            .send_json(json!({"type": "message.send", "body": format!("during {i}")}))
            .await;
        agent_ws.next_of("ack").await;
    }
    let mut redis = PrivateRedis::start(port).await;

    // After the restart: the staying socket gets everything, in order, once (the instances
    // reconnect and resynchronise from the store by themselves).
    agent_ws
        .send_json(json!({"type": "message.send", "body": "after"}))
        .await;
    agent_ws.next_of("ack").await;
    let frames = client_ws.messages_until("after").await;
    assert_eq!(seqs(&frames), vec![3, 4, 5, 6]);

    // Live again across instances, without any resume.
    agent_ws
        .send_json(json!({"type": "message.send", "body": "live after"}))
        .await;
    let frames = client_ws.messages_until("live after").await;
    assert_eq!(seqs(&frames), vec![7]);

    // A client that resumes from before the outage gets exactly what it missed.
    let mut resumed = a
        .socket(&format!("/ws/threads/{thread}?last_seq=2"), &client.token)
        .await;
    resumed.next_of("ready").await;
    let frames = resumed.messages_until("live after").await;
    assert_eq!(seqs(&frames), vec![3, 4, 5, 6, 7]);
    redis.kill();
}

#[tokio::test]
async fn after_a_cluster_master_restart_instances_resubscribe_and_nothing_sent_meanwhile_is_lost() {
    use chat_contract::redis_cluster::RedisCluster;
    // A cluster of its own: the restart must not disturb the other tests' shared cluster.
    let mut cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let shared = Shared::fresh_on_cluster_nodes(&cluster.urls_env());
    let Conversation {
        a,
        b,
        client: _client,
        thread,
        mut client_ws,
        mut agent_ws,
    } = Conversation::across_two_instances(&shared).await;

    // The master owning this thread's shard channel crashes (SIGKILL) ...
    let channels = chat_redis::target::shard_channels(&shared.channel_prefix, 16);
    let channel = channels[usize::try_from(thread.rem_euclid(16)).unwrap()].clone();
    let index = cluster.owner_of(&channel);
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.kill_master(index);
        cluster
    })
    .await
    .unwrap();
    // ... messages sent meanwhile are stored and acknowledged, never blocked ...
    for i in 0..3 {
        agent_ws
            .send_json(json!({"type": "message.send", "body": format!("during {i}")}))
            .await;
        agent_ws.next_of("ack").await;
    }
    // ... and it comes back on its port with its node config.
    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start_master(index);
        cluster
    })
    .await
    .unwrap();

    // The staying socket gets everything, in order, once, within the helpers' patience.
    agent_ws
        .send_json(json!({"type": "message.send", "body": "after"}))
        .await;
    agent_ws.next_of("ack").await;
    let frames = client_ws.messages_until("after").await;
    assert_eq!(seqs(&frames), vec![3, 4, 5, 6]);

    // Live again across instances.
    agent_ws
        .send_json(json!({"type": "message.send", "body": "live after"}))
        .await;
    let frames = client_ws.messages_until("live after").await;
    assert_eq!(seqs(&frames), vec![7]);
    assert!(
        b.log_text()
            .contains("resubscribing to the redis cluster's shard channels")
            || a.log_text()
                .contains("resubscribing to the redis cluster's shard channels"),
        "no instance noticed the master's restart"
    );
}
