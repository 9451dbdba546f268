//! The webhook delivery worker: one per instance, started beside the router.
//!
//! Every `webhooks.poll_interval_ms` it leases due deliveries in the database
//! ([`chat_domain::ports::WebhookStore::lease_deliveries`]: at most one per thread and
//! endpoint at a time, so each thread's events go out in order; a lease is exclusive across
//! instances) for twice the attempt timeout plus a margin, sends them at once, and records each
//! attempt: 2xx is delivered; anything else (another status, a timeout, a refused or private
//! target) is retried with exponential backoff and jitter until `webhooks.retry_for_seconds` or
//! `webhooks.max_attempts`, then the delivery fails and its endpoint is disabled. Each
//! attempt is logged (endpoint, delivery, event id, attempt, status or error, duration).
//!
//! A delivery is `POST <url>` with the event's JSON body and the headers `Webhook-Id` (the
//! stable event id) and `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`. The target is resolved first and refused if any address is private,
//! loopback or link-local (unless `webhooks.allow_private_targets`); the request then goes to
//! the checked address only (no second lookup a name could answer differently) and follows
//! no redirect.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chat_domain::webhook::{
    is_forbidden_ip, signature_header, AttemptReport, AttemptVerdict, DueDelivery, RetryPolicy,
};
use chat_domain::Chat;
use rand::Rng;

use crate::metrics::Metrics;
use crate::settings::WebhookSettings;
use crate::shutdown::Shutdown;

/// One instance's webhook worker (see the module docs).
pub struct WebhookWorker {
    chat: Chat,
    metrics: Metrics,
    settings: WebhookSettings,
    retry: RetryPolicy,
}

impl WebhookWorker {
    /// A worker delivering what `chat`'s store has queued.
    pub fn new(chat: Chat, metrics: Metrics, settings: &WebhookSettings) -> Self {
        WebhookWorker {
            retry: settings.policy().retry,
            chat,
            metrics,
            settings: settings.clone(),
        }
    }

    /// Runs until shutdown.
    pub async fn run(self, shutdown: Shutdown) {
        let every = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.wait() => return,
            }
            // Rounds back to back while there is work.
            while self.round().await > 0 {
                if shutdown.is_triggered() {
                    return;
                }
            }
        }
    }

    /// Leases and sends one batch; answers how many were leased.
    async fn round(&self) -> usize {
        let store = self.chat.store().clone();
        let now = self.chat.now();
        let lease_ms = i64::try_from(self.settings.timeout_ms)
            .unwrap_or(i64::MAX / 4)
            .saturating_mul(2)
            .saturating_add(5_000);
        let batch = self.settings.batch.max(1);
        let leased = tokio::task::spawn_blocking(move || {
            let leased = store.lease_deliveries(now, now.plus_millis(lease_ms), batch);
            (leased, store.pending_deliveries())
        })
        .await;
        let leased = match leased {
            Ok((Ok(leased), pending)) => {
                if let Ok(pending) = pending {
                    self.metrics.webhook_queue_depth(pending);
                }
                leased
            }
            Ok((Err(e), _)) => {
                tracing::warn!(error = %e, "webhook lease failed");
                return 0;
            }
            Err(e) => {
                tracing::warn!(error = %e, "webhook lease task failed");
                return 0;
            }
        };
        let n = leased.len();
        futures_util::future::join_all(leased.into_iter().map(|d| self.deliver(d))).await;
        n
    }

    /// One attempt, recorded.
    async fn deliver(&self, delivery: DueDelivery) {
        let started = Instant::now();
        let at = self.chat.now();
        let outcome = self.send(&delivery, at.millis().div_euclid(1000)).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let attempt = delivery.attempts + 1;
        let (status, error) = match outcome {
            Ok(status) => (Some(i64::from(status)), None),
            Err(error) => (None, Some(error)),
        };
        let verdict = if status.is_some_and(|s| (200..300).contains(&s)) {
            AttemptVerdict::Delivered
        } else {
            let jitter: f64 = rand::thread_rng().gen();
            self.retry
                .after_failure(attempt, delivery.created_at, at, jitter)
        };
        let outcome = match verdict {
            AttemptVerdict::Delivered => "delivered",
            AttemptVerdict::RetryAt(_) => "retry",
            AttemptVerdict::Failed => "failed",
        };
        tracing::info!(
            webhook = delivery.webhook_id.0,
            delivery = delivery.id,
            event_id = %delivery.event.public_id(),
            event_type = delivery.event.event_type.as_str(),
            attempt,
            status,
            error = error.as_deref().unwrap_or(""),
            duration_ms,
            outcome,
            "webhook attempt"
        );
        if verdict == AttemptVerdict::Failed {
            tracing::warn!(
                webhook = delivery.webhook_id.0,
                event_id = %delivery.event.public_id(),
                "webhook delivery failed for good: endpoint disabled"
            );
        }
        self.metrics.webhook_attempt(outcome);
        let report = AttemptReport {
            status,
            error,
            duration_ms,
            at,
        };
        let store = self.chat.store().clone();
        let id = delivery.id;
        match tokio::task::spawn_blocking(move || store.finish_delivery(id, &report, verdict)).await
        {
            Ok(Ok(())) => {}
            // The lease lapses and the delivery is tried again: at least once.
            Ok(Err(e)) => {
                tracing::warn!(error = %e, delivery = id, "recording a webhook attempt failed")
            }
            Err(e) => tracing::warn!(error = %e, delivery = id, "webhook record task failed"),
        }
    }

    /// POSTs the event: the status the endpoint answered, or why there was none.
    async fn send(&self, delivery: &DueDelivery, unix_seconds: i64) -> Result<u16, String> {
        let url = reqwest::Url::parse(&delivery.url).map_err(|e| format!("bad url: {e}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| "the url has no host".to_owned())?
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "the url has no port".to_owned())?;
        let timeout = Duration::from_millis(self.settings.timeout_ms.max(1));
        let address = self.resolve(&url, &host, port, timeout).await?;
        let body = serde_json::to_vec(&delivery.event.body()).map_err(|e| e.to_string())?;
        let signature = signature_header(&delivery.secret, unix_seconds, &body);
        let mut client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(address) = address {
            client = client.resolve(&host, address);
        }
        let client = client.build().map_err(|e| e.to_string())?;
        let response = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "support-chat-webhooks/1")
            .header("Webhook-Id", delivery.event.public_id())
            .header("Webhook-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    format!("request failed: {e}")
                }
            })?;
        Ok(response.status().as_u16())
    }

    /// The address to send to: for a name, its first address after checking every one it
    /// resolves to; `None` for an IP literal (checked here too).
    async fn resolve(
        &self,
        url: &reqwest::Url,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Option<SocketAddr>, String> {
        let allow = self.settings.allow_private_targets;
        match url.host() {
            Some(url::Host::Ipv4(ip)) => {
                if !allow && is_forbidden_ip(ip.into()) {
                    return Err("refused: private, loopback or link-local address".into());
                }
                Ok(None)
            }
            Some(url::Host::Ipv6(ip)) => {
                if !allow && is_forbidden_ip(ip.into()) {
                    return Err("refused: private, loopback or link-local address".into());
                }
                Ok(None)
            }
            _ => {
                let lookup = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
                    .await
                    .map_err(|_| "DNS lookup timed out".to_owned())?
                    .map_err(|e| format!("DNS lookup failed: {e}"))?;
                let addresses: Vec<SocketAddr> = lookup.collect();
                if addresses.is_empty() {
                    return Err("DNS lookup found no address".into());
                }
                if !allow && addresses.iter().any(|a| is_forbidden_ip(a.ip())) {
                    return Err(format!(
                        "refused: {host} resolves to a private, loopback or link-local address"
                    ));
                }
                Ok(addresses.first().copied())
            }
        }
    }
}
