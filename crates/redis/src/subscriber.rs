//! The subscriber task: one dedicated pub/sub connection that delivers other instances' events
//! locally, and reconnects by itself (then reports a gap) when the connection drops or stops
//! answering.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::DomainResult;
use chat_memory::InProcessBus;
use futures_util::StreamExt;
use redis::aio::PubSub;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::{unavailable, Shared, REDIS_TIMEOUT};

/// First pause before reconnecting; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between attempts: the subscription is back within this of Redis's return
/// (plus one connect). One attempt per instance every 200 ms is nothing to Redis, while a longer
/// cap showed as live updates resuming up to 2 s late (`make bench SCENARIO=chaos`).
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// Opens a dedicated connection subscribed to `channel`.
pub(crate) async fn subscribe(client: &redis::Client, channel: &str) -> DomainResult<PubSub> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await.map_err(unavailable)?;
        pubsub.subscribe(channel).await.map_err(unavailable)?;
        Ok(pubsub)
    };
    match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(unavailable("subscribing timed out")),
    }
}

/// Delivers other instances' events to `local`, forever (the bus aborts it when dropped); starts
/// by connecting when given no subscription (Redis was down at start). Every
/// `probe_interval` the connection must answer a round trip within [`REDIS_TIMEOUT`], or it is
/// replaced.
pub(crate) async fn run(
    client: redis::Client,
    channel: String,
    origin: Uuid,
    pubsub: Option<PubSub>,
    local: InProcessBus,
    shared: Arc<Shared>,
    probe_interval: Duration,
) {
    let mut pubsub = match pubsub {
        Some(pubsub) => pubsub,
        None => {
            let pubsub = reconnect(&client, &channel).await;
            shared.subscribed.store(true, Ordering::SeqCst);
            shared.connected_once.store(true, Ordering::SeqCst);
            tracing::info!(%channel, "redis reached: the event bus is connected");
            local.signal_gap();
            pubsub
        }
    };
    loop {
        let (mut sink, mut messages) = pubsub.split();
        let mut probe = tokio::time::interval(probe_interval);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probe.tick().await;
        let lost = loop {
            tokio::select! {
                msg = messages.next() => match msg {
                    Some(msg) => deliver(&msg, &channel, origin, &local, &shared),
                    None => break "redis subscription lost",
                },
                _ = probe.tick() => {
                    // Subscribing again to the same channel changes nothing but is answered:
                    // a round trip on the pub/sub connection (which cannot send PING here).
                    // Messages arriving meanwhile wait in the connection's buffer.
                    match tokio::time::timeout(REDIS_TIMEOUT, sink.subscribe(&channel)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break "redis subscription lost",
                        Err(_) => break "redis subscription does not answer",
                    }
                }
            }
        };
        drop((sink, messages));
        shared.subscribed.store(false, Ordering::SeqCst);
        tracing::warn!(%channel, reason = lost, "reconnecting the redis subscription");
        pubsub = reconnect(&client, &channel).await;
        shared.subscribed.store(true, Ordering::SeqCst);
        shared.reconnects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(%channel, "redis subscription restored; subscribers resynchronise");
        // Anything published while we were away is lost to this instance: every socket
        // catches up from the store.
        local.signal_gap();
    }
}

/// Hands one bus message to the local subscribers (skipping this instance's own).
pub(crate) fn deliver(
    msg: &redis::Msg,
    channel: &str,
    origin: Uuid,
    local: &InProcessBus,
    shared: &Shared,
) {
    match serde_json::from_slice::<Envelope>(msg.get_payload_bytes()) {
        Ok(envelope) if envelope.origin == origin => {}
        Ok(envelope) => {
            if envelope.gap {
                tracing::info!(%channel, from = %envelope.origin, "another instance lost events; resynchronising");
                local.signal_gap();
            }
            if let Some(event) = envelope.event {
                shared.received.fetch_add(1, Ordering::Relaxed);
                local.deliver(event);
            }
        }
        Err(err) => {
            tracing::warn!(%channel, error = %err, "ignoring a malformed bus message");
        }
    }
}

async fn reconnect(client: &redis::Client, channel: &str) -> PubSub {
    let mut backoff = MIN_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        match subscribe(client, channel).await {
            Ok(pubsub) => return pubsub,
            Err(err) => {
                tracing::debug!(%channel, error = %err, "redis still unreachable");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
