//! The subscriber of the bus on a Redis Cluster: sharded pub/sub (`SSUBSCRIBE`).
//!
//! A shard channel lives on the master that owns its slot, and only that master delivers its
//! messages. So the subscriber asks the cluster which master owns which slots (`CLUSTER SLOTS`,
//! from the first node given that answers), and opens one dedicated RESP3 connection per master
//! that owns some of the bus's channels, subscribed to exactly those. Messages arrive as RESP3
//! pushes (`smessage`) on one queue.
//!
//! Any trouble makes it start over from the topology, after which local subscribers are told of
//! a gap (they resynchronise from the store): a connection that drops (a master stopped or
//! restarted), a `sunsubscribe` pushed by the server (the slot moved: a failover or resharding),
//! or a connection that does not answer a `PING` within the timeout every probe interval.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::DomainResult;
use chat_memory::InProcessBus;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind,
    Value,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::reorder::{Ready, Reorder};
use crate::target::slot_of;
use crate::{unavailable, Shared, REDIS_TIMEOUT};

/// First pause before starting over; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between attempts (as for one server: see `subscriber`).
const MAX_BACKOFF: Duration = Duration::from_millis(200);
/// How long an event waits for an earlier one of its publisher before that one counts as lost.
const REORDER_WAIT: Duration = Duration::from_millis(500);
/// How often waiting events are checked against [`REORDER_WAIT`].
const REORDER_TICK: Duration = Duration::from_millis(50);

/// Live subscriptions: one connection per master, their pushes on one queue.
pub(crate) struct ShardSubscription {
    connections: Vec<MultiplexedConnection>,
    pushes: mpsc::UnboundedReceiver<PushInfo>,
}

impl ShardSubscription {
    /// How many masters the channels are spread over.
    pub fn masters(&self) -> usize {
        self.connections.len()
    }
}

/// The master (`host`, `port`) owning each slot range, from `CLUSTER SLOTS`.
type SlotRanges = Vec<(u16, u16, String, u16)>;

/// Asks the first node of `nodes` that answers which masters own which slots.
async fn slot_ranges(nodes: &[String]) -> DomainResult<SlotRanges> {
    let mut last_error = unavailable("no cluster node given");
    for node in nodes {
        let attempt = async {
            let client = redis::Client::open(node.as_str()).map_err(unavailable)?;
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .map_err(unavailable)?;
            let slots: Value = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            parse_slots(slots)
        };
        match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            Ok(Ok(ranges)) if !ranges.is_empty() => return Ok(ranges),
            Ok(Ok(_)) => last_error = unavailable(format!("{node}: no slots assigned")),
            Ok(Err(err)) => last_error = err,
            Err(_) => last_error = unavailable(format!("{node}: CLUSTER SLOTS timed out")),
        }
    }
    Err(last_error)
}

fn parse_slots(value: Value) -> DomainResult<SlotRanges> {
    let Value::Array(ranges) = value else {
        return Err(unavailable("CLUSTER SLOTS: not an array"));
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(fields) = range else {
            continue;
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let host = match master.first() {
            Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Some(Value::SimpleString(s)) => s.clone(),
            _ => continue,
        };
        let Some(Value::Int(port)) = master.get(1) else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(port)) = (
            u16::try_from(*start),
            u16::try_from(*end),
            u16::try_from(*port),
        ) else {
            continue;
        };
        out.push((start, end, host, port));
    }
    Ok(out)
}

/// Subscribes to every channel on the master that owns it (see the module docs).
pub(crate) async fn subscribe_all(
    nodes: &[String],
    channels: &[String],
) -> DomainResult<ShardSubscription> {
    let ranges = slot_ranges(nodes).await?;
    let mut by_master: BTreeMap<(String, u16), Vec<&String>> = BTreeMap::new();
    for channel in channels {
        let slot = slot_of(channel);
        let Some((_, _, host, port)) = ranges
            .iter()
            .find(|(start, end, _, _)| (*start..=*end).contains(&slot))
        else {
            return Err(unavailable(format!(
                "slot {slot} of {channel} has no master"
            )));
        };
        by_master
            .entry((host.clone(), *port))
            .or_default()
            .push(channel);
    }
    // The first node's URL gives the scheme, credentials and options of every connection.
    let seed = nodes
        .first()
        .ok_or_else(|| unavailable("no cluster node given"))?
        .as_str()
        .into_connection_info()
        .map_err(unavailable)?;
    let (tx, pushes) = mpsc::unbounded_channel();
    let mut connections = Vec::with_capacity(by_master.len());
    for ((host, port), owned) in by_master {
        let mut info = seed.clone();
        info.addr = match &seed.addr {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: host.clone(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => ConnectionAddr::Tcp(host.clone(), port),
        };
        info.redis.protocol = ProtocolVersion::RESP3;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(REDIS_TIMEOUT)
            .set_response_timeout(REDIS_TIMEOUT)
            .set_push_sender(tx.clone());
        let attempt = async {
            let client = redis::Client::open(info).map_err(unavailable)?;
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(unavailable)?;
            // One channel per command: a multi-channel SSUBSCRIBE answers one push per channel,
            // which this connection would match to later commands.
            for channel in owned {
                redis::cmd("SSUBSCRIBE")
                    .arg(channel)
                    .exec_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
            }
            Ok::<_, chat_domain::DomainError>(conn)
        };
        let conn = match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            Ok(result) => result?,
            Err(_) => return Err(unavailable(format!("{host}:{port}: SSUBSCRIBE timed out"))),
        };
        connections.push(conn);
    }
    Ok(ShardSubscription {
        connections,
        pushes,
    })
}

/// Delivers other instances' events to `local`, forever (the bus aborts it when dropped),
/// starting over from the topology whenever a connection is lost, a slot moves away or a probe
/// goes unanswered.
pub(crate) async fn run(
    nodes: Vec<String>,
    channels: Vec<String>,
    origin: Uuid,
    subscription: Option<ShardSubscription>,
    local: InProcessBus,
    shared: Arc<Shared>,
    probe_interval: Duration,
) {
    let label = channels.first().cloned().unwrap_or_default();
    let mut subscription = match subscription {
        Some(subscription) => subscription,
        None => {
            let subscription = resubscribe(&nodes, &channels).await;
            shared.subscribed.store(true, Ordering::SeqCst);
            shared.connected_once.store(true, Ordering::SeqCst);
            tracing::info!(channel = %label, "redis cluster reached: the event bus is connected");
            local.signal_gap();
            subscription
        }
    };
    let mut reorder = Reorder::new(REORDER_WAIT);
    let mut expiry = tokio::time::interval(REORDER_TICK);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut probe = tokio::time::interval(probe_interval);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probe.tick().await;
        let lost = loop {
            tokio::select! {
                push = subscription.pushes.recv() => match push {
                    Some(push) => match push.kind {
                        PushKind::SMessage => {
                            if let Some(msg) = redis::Msg::from_push_info(push) {
                                let ready = receive(&msg, origin, &mut reorder, &local);
                                hand_over(ready, &local, &shared);
                            }
                        }
                        PushKind::SUnsubscribe => break "a shard channel moved to another master",
                        PushKind::Disconnection => break "a master's connection was lost",
                        _ => {}
                    },
                    None => break "redis subscription lost",
                },
                _ = expiry.tick() => {
                    let ready = reorder.expire(std::time::Instant::now());
                    if ready.gap {
                        tracing::info!(channel = %label, waited = ?reorder.max_wait(), "an event of another instance was lost; resynchronising");
                    }
                    hand_over(ready, &local, &shared);
                }
                _ = probe.tick() => {
                    if !probe_all(&mut subscription.connections).await {
                        break "a master does not answer";
                    }
                }
            }
        };
        drop(subscription);
        let waited = reorder.reset();
        hand_over(
            Ready {
                gap: true,
                events: waited,
            },
            &local,
            &shared,
        );
        shared.subscribed.store(false, Ordering::SeqCst);
        tracing::warn!(channel = %label, reason = lost, "resubscribing to the redis cluster's shard channels");
        subscription = resubscribe(&nodes, &channels).await;
        shared.subscribed.store(true, Ordering::SeqCst);
        shared.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            channel = %label,
            masters = subscription.masters(),
            "redis cluster subscription restored; subscribers resynchronise"
        );
        local.signal_gap();
    }
}

/// Reads one shard message: another instance's event goes through the reordering (when
/// numbered), its gap notice straight to the subscribers; this instance's own are skipped.
fn receive(msg: &redis::Msg, origin: Uuid, reorder: &mut Reorder, local: &InProcessBus) -> Ready {
    match serde_json::from_slice::<Envelope>(msg.get_payload_bytes()) {
        Ok(envelope) if envelope.origin == origin => Ready::default(),
        Ok(envelope) => {
            if envelope.gap {
                tracing::info!(from = %envelope.origin, "another instance lost events; resynchronising");
                local.signal_gap();
            }
            match (envelope.event, envelope.seq) {
                (Some(event), Some(seq)) => {
                    reorder.accept(envelope.origin, seq, event, std::time::Instant::now())
                }
                (Some(event), None) => Ready {
                    gap: false,
                    events: vec![event],
                },
                (None, _) => Ready::default(),
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "ignoring a malformed bus message");
            Ready::default()
        }
    }
}

/// Delivers what is ready, after a gap if one is due.
fn hand_over(ready: Ready, local: &InProcessBus, shared: &Shared) {
    if ready.gap {
        local.signal_gap();
    }
    for event in ready.events {
        shared.received.fetch_add(1, Ordering::Relaxed);
        local.deliver(event);
    }
}

/// A `PING` on every connection, each answered within the timeout (RESP3 allows commands on a
/// subscribed connection).
async fn probe_all(connections: &mut [MultiplexedConnection]) -> bool {
    for conn in connections {
        let ping = redis::cmd("PING");
        match tokio::time::timeout(REDIS_TIMEOUT, ping.query_async::<Value>(conn)).await {
            Ok(Ok(_)) => {}
            _ => return false,
        }
    }
    true
}

async fn resubscribe(nodes: &[String], channels: &[String]) -> ShardSubscription {
    let mut backoff = MIN_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        match subscribe_all(nodes, channels).await {
            Ok(subscription) => return subscription,
            Err(err) => {
                tracing::debug!(error = %err, "redis cluster not subscribable yet");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_read_from_cluster_slots() {
        let node = |host: &str, port| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let answer = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(16383),
                node("10.0.0.2", 7001),
                node("10.0.0.3", 7002),
            ]),
        ]);
        assert_eq!(
            parse_slots(answer).unwrap(),
            vec![
                (0, 5460, "10.0.0.1".to_owned(), 7000),
                (5461, 16383, "10.0.0.2".to_owned(), 7001)
            ]
        );
        assert!(parse_slots(Value::Nil).is_err());
    }
}
