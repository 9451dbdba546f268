//! Keeps this instance's session cache and verified-credential cache true to the other
//! instances: listens on the bus's sessions topic, forgets the sessions they ended (log-outs,
//! deleted users), and stops exempting from the log-in throttle's check the keys their failed
//! passwords counted against. Whenever it (re)subscribes, or the bus reports a gap, it forgets
//! every cached session and every exemption, since what was published meanwhile may have been
//! missed; while it is not subscribed, nothing is exempt. While the bus is unreachable, no
//! instance can announce an end either: a cached session then lasts at most
//! `auth.session_cache_seconds`.

use std::time::Duration;

use chat_domain::event::Topic;
use chat_domain::ports::EventStream;
use chat_domain::Chat;

use crate::router::next_delivery;
use crate::shutdown::Shutdown;

/// Listens until shutdown, retrying the subscription every `retry` while the bus is
/// unavailable.
pub async fn run(chat: Chat, retry: Duration, shutdown: Shutdown) {
    if !chat.caches_sessions() && !chat.caches_credentials() {
        return;
    }
    let mut events: Option<EventStream> = None;
    loop {
        if events.is_none() {
            match chat.bus().subscribe(&[Topic::Sessions]) {
                Ok(stream) => {
                    // What was published before this subscription may have been missed.
                    chat.on_sessions_subscription(true);
                    events = Some(stream);
                }
                Err(e) => tracing::warn!(error = %e, "session cache: bus unavailable; retrying"),
            }
        }
        let delivery = tokio::select! {
            () = shutdown.wait() => return,
            delivery = next_delivery(&mut events) => delivery,
            () = tokio::time::sleep(retry), if events.is_none() => continue,
        };
        match delivery {
            Some(delivery) => chat.on_sessions_delivery(&delivery),
            None => {
                chat.on_sessions_subscription(false);
                events = None;
            }
        }
    }
}
