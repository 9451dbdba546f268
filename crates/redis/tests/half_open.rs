//! Half-open connections to Redis: a proxy between one bus and Redis silently stops forwarding
//! on the connections it has (no FIN, no RST, as when a peer or a NAT entry vanishes) while new
//! connections pass. The bus must notice by itself: its subscriber reconnects and reports a
//! gap, its publishing pool discards the dead connections, and events flow both ways again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{ThreadId, UserId};
use chat_redis::{RedisBus, RedisBusOptions};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PATIENCE: Duration = Duration::from_secs(30);

fn redis_addr() -> String {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    url.trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned()
}

/// A TCP proxy to Redis whose existing connections can be frozen: from then on, bytes sent
/// either way are swallowed and the sockets stay open.
struct FreezingProxy {
    port: u16,
    connections: Arc<Mutex<Vec<Arc<AtomicBool>>>>,
}

impl FreezingProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<Arc<AtomicBool>>>> = Arc::default();
        let registry = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((downstream, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let frozen = Arc::new(AtomicBool::new(false));
                registry.lock().unwrap().push(Arc::clone(&frozen));
                let (down_read, down_write) = downstream.into_split();
                let (up_read, up_write) = upstream.into_split();
                tokio::spawn(pipe(down_read, up_write, Arc::clone(&frozen)));
                tokio::spawn(pipe(up_read, down_write, frozen));
            }
        });
        FreezingProxy { port, connections }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Freezes every connection made so far; later ones pass.
    fn freeze_existing(&self) -> usize {
        let connections = self.connections.lock().unwrap();
        for frozen in connections.iter() {
            frozen.store(true, Ordering::SeqCst);
        }
        connections.len()
    }
}

/// Copies one direction until frozen; then swallows everything, keeping both sockets open.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn typing(user: i64) -> Event {
    Event::Typing {
        thread_id: ThreadId(1),
        user_id: UserId(user),
    }
}

/// Publishes `typing(marker)` events on `from` (marker counting up from `first`) until
/// `stream` receives one of them; returns whether a gap was reported first.
async fn publish_until_received(from: &RedisBus, stream: &mut EventStream, first: i64) -> bool {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut marker = first;
    let mut gap = false;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no event got through after the freeze"
        );
        from.publish(typing(marker)).unwrap();
        marker += 1;
        let wait = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                delivery = stream.next() => match delivery.expect("stream ended") {
                    Delivery::Gap => gap = true,
                    Delivery::Event(event) => {
                        if let Event::Typing { user_id, .. } = *event {
                            if user_id.0 >= first {
                                return gap;
                            }
                        }
                    }
                },
                _ = &mut wait => break,
            }
        }
    }
}

#[tokio::test]
async fn a_bus_whose_redis_connections_go_half_open_replaces_them_and_reports_the_gap() {
    let proxy = FreezingProxy::start(redis_addr()).await;
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    let options = RedisBusOptions {
        probe_interval: Duration::from_millis(200),
        pool_size: 2,
        ..RedisBusOptions::default()
    };
    let behind_proxy = RedisBus::connect_with(&proxy.url(), &prefix, options)
        .await
        .unwrap();
    let direct = RedisBus::connect(&format!("redis://{}", redis_addr()), &prefix)
        .await
        .unwrap();
    let mut on_proxied = behind_proxy
        .subscribe(&[Topic::Thread(ThreadId(1))])
        .unwrap();
    let mut on_direct = direct.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();

    // Both ways work through the proxy.
    assert!(!publish_until_received(&direct, &mut on_proxied, 1).await);
    assert!(!publish_until_received(&behind_proxy, &mut on_direct, 1).await);

    // Every connection the bus has goes silent; nothing closes.
    assert!(proxy.freeze_existing() >= 2);

    // The subscriber notices, reconnects through the proxy, and reports the gap; then the
    // other instance's events arrive again.
    let gap = publish_until_received(&direct, &mut on_proxied, 1_000).await;
    assert!(gap, "the reconnected subscriber must report a gap");
    assert!(behind_proxy.stats().reconnects >= 1);
    assert!(behind_proxy.is_subscribed());

    // The publisher gets rid of its dead connections (the pool's PING check before reuse, or a
    // failed publish taking one out) and publishes on fresh ones. Whether events were lost on
    // the way (and a gap announced) depends on which of the two found them first.
    publish_until_received(&behind_proxy, &mut on_direct, 1_000).await;
    // And the subscriber is still live.
    publish_until_received(&direct, &mut on_proxied, 2_000).await;
}
