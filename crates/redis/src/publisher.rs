//! The publisher task: drains the outbox into Redis `PUBLISH`es (`SPUBLISH`es on a cluster), in
//! batches, in order.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_domain::DomainResult;
use deadpool_redis::{Connection, Pool};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::{unavailable, Shared, REDIS_TIMEOUT};

/// Most events sent in one pipeline.
const MAX_BATCH: usize = 512;
/// Pause after a failed publish, so a Redis outage is not hammered (events arriving meanwhile
/// wait in the bounded outbox, or are dropped when it is full).
const FAILURE_PAUSE: Duration = Duration::from_millis(200);
/// How long the publisher keeps its connection between batches without the pool checking it.
const HOLD_WHILE_BUSY: Duration = Duration::from_secs(1);
/// How soon an owed gap notice is retried when no event comes to carry it.
const GAP_RETRY: Duration = Duration::from_millis(500);

/// Checks that the pool can reach Redis.
pub(crate) async fn ping(pool: &Pool) -> DomainResult<()> {
    let attempt = async {
        let mut conn = pool.get().await.map_err(unavailable)?;
        redis::cmd("PING")
            .query_async::<String>(&mut *conn)
            .await
            .map_err(unavailable)
    };
    match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(unavailable("no answer to PING")),
    }
}

/// Where the publisher sends: one server through a pool, or a cluster.
pub(crate) enum Outlet {
    /// One Redis server: `PUBLISH` on the one channel, through the pool.
    Single {
        /// The publishing pool.
        pool: Pool,
        /// The connection held while events keep coming (see [`publish_batch`]).
        held: Option<(Connection, Instant)>,
    },
    /// A Redis Cluster: `SPUBLISH` on each event's shard channel, each channel's events
    /// pipelined to the master owning its slot.
    Cluster {
        /// The cluster's client.
        client: ClusterClient,
        /// Its multiplexed connection (to every master, following `MOVED`), made on first use
        /// and again after a failure.
        conn: Option<ClusterConnection>,
    },
}

/// One event (or gap notice) waiting to be published, and the index of its shard channel.
pub(crate) type Outgoing = (usize, String);

/// Publishes what arrives in the outbox until every sender is gone. Failures are logged and
/// counted, and owe the other instances a gap notice; they never stop the task.
pub(crate) async fn run(
    mut outlet: Outlet,
    channels: Vec<String>,
    origin: Uuid,
    mut outbox: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Shared>,
) {
    let channel = channels.first().cloned().unwrap_or_default();
    let gap_notice = serde_json::to_string(&Envelope::gap(origin)).unwrap_or_default();
    let mut batch: Vec<Outgoing> = Vec::with_capacity(MAX_BATCH + 1);
    loop {
        // A gap is owed after a failure: announce it even if nothing else is published soon.
        let first = if shared.owe_gap.load(Ordering::SeqCst) {
            match tokio::time::timeout(GAP_RETRY, outbox.recv()).await {
                Ok(Some(payload)) => Some(payload),
                Ok(None) => break,
                Err(_) => None,
            }
        } else {
            match outbox.recv().await {
                Some(payload) => Some(payload),
                None => break,
            }
        };
        batch.clear();
        let announce_gap = shared.owe_gap.swap(false, Ordering::SeqCst);
        if announce_gap {
            // Every instance listens on every shard channel: the first one carries it.
            batch.push((0, gap_notice.clone()));
        }
        batch.extend(first);
        while batch.len() <= MAX_BATCH {
            match outbox.try_recv() {
                Ok(payload) => batch.push(payload),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let taken: usize = batch.iter().map(|(_, p)| p.len()).sum::<usize>()
            - if announce_gap { gap_notice.len() } else { 0 };
        shared.queued_bytes.fetch_sub(taken, Ordering::SeqCst);
        let events = (batch.len() - usize::from(announce_gap)) as u64;
        let sent = match &mut outlet {
            Outlet::Single { pool, held } => {
                publish_batch(pool, held, &channel, &batch, &shared).await
            }
            Outlet::Cluster { client, conn } => {
                spublish_batch(client, conn, &channels, &batch, &shared).await
            }
        };
        match sent {
            Ok(()) => {
                shared.published.fetch_add(events, Ordering::Relaxed);
                if announce_gap {
                    tracing::info!(%channel, "told the other instances to resynchronise");
                }
            }
            Err(reason) => {
                let failures =
                    shared.publish_failures.fetch_add(events, Ordering::Relaxed) + events;
                shared.owe_gap.store(true, Ordering::SeqCst);
                tracing::warn!(%channel, %reason, failures, "events not published to redis");
                tokio::time::sleep(FAILURE_PAUSE).await;
            }
        }
    }
    tracing::debug!(%channel, "redis publisher stopped");
}

/// Publishes a batch through the connection the publisher holds while events keep coming,
/// taken from the pool when it holds none or has not used it for [`HOLD_WHILE_BUSY`]. Holding it
/// skips the pool's check of an idle connection (a `PING` round trip before every batch, one per
/// message at a steady rate); after a quiet spell the pool checks it again, so a Redis restart
/// while idle costs no events. A connection through which a publish failed or timed out is
/// taken out of the pool (it may be half-open), never reused.
async fn publish_batch(
    pool: &Pool,
    held: &mut Option<(Connection, Instant)>,
    channel: &str,
    batch: &[Outgoing],
    shared: &Shared,
) -> Result<(), String> {
    let fresh = held
        .take()
        .filter(|(_, used)| used.elapsed() < HOLD_WHILE_BUSY);
    let mut conn = match fresh {
        Some((conn, _)) => conn,
        // The pool checks an idle connection with PING (within REDIS_TIMEOUT) before handing
        // it out, and drops it when that fails; the outer bound covers waiting and connecting.
        None => match tokio::time::timeout(REDIS_TIMEOUT * 2, pool.get()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(err.to_string()),
            Err(_) => return Err("no connection in time".to_owned()),
        },
    };
    let mut pipe = redis::pipe();
    for (_, payload) in batch {
        pipe.publish(channel, payload).ignore();
    }
    let reason = match tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<()>(&mut *conn)).await
    {
        Ok(Ok(())) => {
            *held = Some((conn, Instant::now()));
            return Ok(());
        }
        Ok(Err(err)) => err.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    drop(Connection::take(conn));
    shared.discarded_connections.fetch_add(1, Ordering::Relaxed);
    Err(reason)
}

/// Publishes a batch on a cluster: the events of each shard channel in one pipeline of
/// `SPUBLISH`es (in their order: one thread's events are on one channel), the channels'
/// pipelines concurrently. On a failure the connection is dropped and made again for the next
/// batch (the cluster client also refreshes its slot map by itself on `MOVED`).
async fn spublish_batch(
    client: &ClusterClient,
    conn: &mut Option<ClusterConnection>,
    channels: &[String],
    batch: &[Outgoing],
    shared: &Shared,
) -> Result<(), String> {
    let connection = match conn.take() {
        Some(connection) => connection,
        None => {
            match tokio::time::timeout(REDIS_TIMEOUT * 2, client.get_async_connection()).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(err)) => return Err(err.to_string()),
                Err(_) => return Err("no cluster connection in time".to_owned()),
            }
        }
    };
    let mut pipes: Vec<(usize, redis::Pipeline)> = Vec::new();
    for (shard, payload) in batch {
        let index = match pipes.iter().position(|(s, _)| s == shard) {
            Some(index) => index,
            None => {
                pipes.push((*shard, redis::pipe()));
                pipes.len() - 1
            }
        };
        let channel = channels.get(*shard).or(channels.first());
        pipes[index]
            .1
            .cmd("SPUBLISH")
            .arg(channel)
            .arg(payload)
            .ignore();
    }
    let sends = pipes.iter().map(|(_, pipe)| {
        let mut connection = connection.clone();
        async move {
            match tokio::time::timeout(REDIS_TIMEOUT, pipe.query_async::<()>(&mut connection)).await
            {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err("timed out".to_owned()),
            }
        }
    });
    let results = futures_util::future::join_all(sends).await;
    match results.into_iter().find_map(Result::err) {
        None => {
            *conn = Some(connection);
            Ok(())
        }
        Some(reason) => {
            shared.discarded_connections.fetch_add(1, Ordering::Relaxed);
            Err(reason)
        }
    }
}
