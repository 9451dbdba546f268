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

/// A [`JoinedPair`] with one message already delivered live across the instances (seq 2).
async fn conversation(shared: &Shared) -> JoinedPair {
    let mut pair = JoinedPair::across_two_instances(shared, "before").await;
    pair.agent_ws
        .send_json(json!({"type": "message.send", "body": "live before"}))
        .await;
    let frames = pair.client_ws.messages_until("live before").await;
    assert_eq!(seqs(&frames), vec![2]);
    pair
}

/// The agent sends three messages (seqs 3-5), each stored and acknowledged (never blocked by
/// the outage).
async fn send_three_acknowledged(pair: &mut JoinedPair) {
    for i in 0..3 {
        pair.agent_ws
            .send_json(json!({"type": "message.send", "body": format!("during {i}")}))
            .await;
        pair.agent_ws.next_of("ack").await;
    }
}

/// After an outage during which the agent sent seqs 3-5: the staying client socket gets the
/// next message with everything before it, in order, once, and live delivery works again.
async fn flows_again_after_the_outage(pair: &mut JoinedPair) {
    pair.agent_ws
        .send_json(json!({"type": "message.send", "body": "after"}))
        .await;
    pair.agent_ws.next_of("ack").await;
    let frames = pair.client_ws.messages_until("after").await;
    assert_eq!(seqs(&frames), vec![3, 4, 5, 6]);

    pair.agent_ws
        .send_json(json!({"type": "message.send", "body": "live after"}))
        .await;
    let frames = pair.client_ws.messages_until("live after").await;
    assert_eq!(seqs(&frames), vec![7]);
}

#[tokio::test]
async fn after_a_redis_restart_instances_reconnect_and_nothing_sent_meanwhile_is_lost() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port).await;
    let shared = Shared::fresh_with_redis(&redis.url());
    let mut pair = conversation(&shared).await;

    redis.kill();
    // Sent while Redis is down: stored, acknowledged, never blocked.
    send_three_acknowledged(&mut pair).await;
    let mut redis = PrivateRedis::start(port).await;

    // After the restart the instances reconnect and resynchronise from the store by
    // themselves, without any resume.
    flows_again_after_the_outage(&mut pair).await;

    // A client that resumes from before the outage gets exactly what it missed.
    let mut resumed = pair
        .a
        .socket(
            &format!("/ws/threads/{}?last_seq=2", pair.thread),
            &pair.client.token,
        )
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
    let mut pair = conversation(&shared).await;
    let thread = pair.thread;

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
    send_three_acknowledged(&mut pair).await;
    // ... and it comes back on its port with its node config.
    let _cluster = tokio::task::spawn_blocking(move || {
        cluster.start_master(index);
        cluster
    })
    .await
    .unwrap();

    // Within the helpers' patience.
    flows_again_after_the_outage(&mut pair).await;
    assert!(
        pair.b
            .log_text()
            .contains("resubscribing to the redis cluster's shard channels")
            || pair
                .a
                .log_text()
                .contains("resubscribing to the redis cluster's shard channels"),
        "no instance noticed the master's restart"
    );
}
