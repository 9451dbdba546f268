//! The publisher task: drains the outbox into Redis `PUBLISH`es, in batches, in order.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_domain::DomainResult;
use deadpool_redis::{Connection, Pool};
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

/// Publishes what arrives in the outbox until every sender is gone. Failures are logged and
/// counted, and owe the other instances a gap notice; they never stop the task.
pub(crate) async fn run(
    pool: Pool,
    channel: String,
    origin: Uuid,
    mut outbox: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
) {
    let gap_notice = serde_json::to_string(&Envelope::gap(origin)).unwrap_or_default();
    let mut batch: Vec<String> = Vec::with_capacity(MAX_BATCH + 1);
    let mut held: Option<(Connection, Instant)> = None;
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
            batch.push(gap_notice.clone());
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
        let taken: usize = batch.iter().map(String::len).sum::<usize>()
            - if announce_gap { gap_notice.len() } else { 0 };
        shared.queued_bytes.fetch_sub(taken, Ordering::SeqCst);
        let events = (batch.len() - usize::from(announce_gap)) as u64;
        match publish_batch(&pool, &mut held, &channel, &batch, &shared).await {
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
    batch: &[String],
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
    for payload in batch {
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
