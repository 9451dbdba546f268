//! Webhooks: endpoints admins register, the events they subscribe to, the outbox's events
//! (written by the stores in the same transaction as the change they report), deliveries and
//! their retries, signatures, and the rule against server-side request forgery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::message::{Message, MessageKind};
use crate::rating::Rating;
use crate::sla::SlaClock;
use crate::thread::Thread;
use crate::{text, DomainError, DomainResult, ThreadId, Timestamp, UserId, WebhookId};

/// The longest URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest secret accepted, in characters.
pub const MAX_SECRET_CHARS: usize = 200;

/// What a webhook reports. The names are the `type` of each delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookEventType {
    /// A message (or, for endpoints that ask, a private note) was stored.
    MessageCreated,
    /// A client opened a new thread.
    ThreadOpened,
    /// A thread was assigned: claimed, taken over or given by automatic assignment.
    ThreadAssigned,
    /// A thread's claim was transferred to another agent or back to the queue.
    ThreadTransferred,
    /// A thread was resolved.
    ThreadResolved,
    /// A client rated a resolved thread.
    ThreadRated,
    /// An SLA clock passed its target.
    SlaBreached,
}

impl WebhookEventType {
    /// Every type, in the documented order.
    pub const ALL: [WebhookEventType; 7] = [
        WebhookEventType::MessageCreated,
        WebhookEventType::ThreadOpened,
        WebhookEventType::ThreadAssigned,
        WebhookEventType::ThreadTransferred,
        WebhookEventType::ThreadResolved,
        WebhookEventType::ThreadRated,
        WebhookEventType::SlaBreached,
    ];

    /// The wire and stored name, e.g. `message.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::MessageCreated => "message.created",
            WebhookEventType::ThreadOpened => "thread.opened",
            WebhookEventType::ThreadAssigned => "thread.assigned",
            WebhookEventType::ThreadTransferred => "thread.transferred",
            WebhookEventType::ThreadResolved => "thread.resolved",
            WebhookEventType::ThreadRated => "thread.rated",
            WebhookEventType::SlaBreached => "sla.breached",
        }
    }

    /// The type with this name.
    pub fn parse(name: &str) -> DomainResult<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| {
                DomainError::invalid(
                    "events",
                    format!(
                        "unknown event type (one of {})",
                        Self::ALL.map(|t| t.as_str()).join(", ")
                    ),
                )
            })
    }
}

impl Serialize for WebhookEventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Whether a webhook may not be sent to `ip` (unless private targets are allowed): loopback,
/// unspecified, private (RFC 1918, unique local `fc00::/7`), shared (`100.64.0.0/10`),
/// link-local (`169.254.0.0/16`, `fe80::/10`, cloud metadata included), multicast, broadcast,
/// documentation and other reserved ranges, and IPv4 mapped or translated into IPv6 when
/// the IPv4 address is one of those.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let seg = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7
        || (seg[0] & 0xfe00) == 0xfc00
        // link-local fe80::/10 and the old site-local fec0::/10
        || (seg[0] & 0xffc0) == 0xfe80
        || (seg[0] & 0xffc0) == 0xfec0
        // IPv4-compatible ::/96, NAT64 64:ff9b::/96: judged by the IPv4 address inside
        || (seg[0..6] == [0, 0, 0, 0, 0, 0])
        || (seg[0] == 0x64 && seg[1] == 0xff9b && {
            let v4 = Ipv4Addr::new(
                (seg[6] >> 8) as u8,
                (seg[6] & 0xff) as u8,
                (seg[7] >> 8) as u8,
                (seg[7] & 0xff) as u8,
            );
            is_forbidden_v4(v4)
        })
        // documentation 2001:db8::/32
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)
}

/// A webhook URL, checked: `http` or `https`, a host, no credentials, at most
/// [`MAX_URL_CHARS`] characters under the hostile-text rule; an IP literal or `localhost`
/// that [`is_forbidden_ip`] refuses is refused unless `allow_private` (names are checked again
/// after resolution, when delivering). Answers the normalised URL.
pub fn parse_url(raw: &str, allow_private: bool) -> DomainResult<String> {
    text::check("url", raw)?;
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(DomainError::invalid(
            "url",
            format!("at most {MAX_URL_CHARS} characters"),
        ));
    }
    let url = url::Url::parse(raw.trim())
        .map_err(|e| DomainError::invalid("url", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DomainError::invalid("url", "must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DomainError::invalid("url", "must not carry credentials"));
    }
    let forbidden = match url.host() {
        None => return Err(DomainError::invalid("url", "must have a host")),
        Some(url::Host::Ipv4(ip)) => is_forbidden_v4(ip),
        Some(url::Host::Ipv6(ip)) => is_forbidden_v6(ip),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    if forbidden && !allow_private {
        return Err(DomainError::invalid(
            "url",
            "points to a private, loopback or link-local address",
        ));
    }
    Ok(url.into())
}

/// A webhook endpoint to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    /// Where deliveries are POSTed ([`parse_url`]).
    pub url: String,
    /// What it subscribes to: at least one type, each once, in the documented order.
    pub events: Vec<WebhookEventType>,
    /// Whether `message.created` includes staff's private notes.
    pub include_notes: bool,
    /// The HMAC key: 1 to [`MAX_SECRET_CHARS`] characters under the hostile-text rule.
    pub secret: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

impl NewWebhook {
    /// Checks an admin's input (see the fields' rules). `allow_private` is the config's
    /// `webhooks.allow_private_targets`.
    pub fn parse(
        url: &str,
        events: &[String],
        include_notes: bool,
        secret: &str,
        allow_private: bool,
        now: Timestamp,
    ) -> DomainResult<Self> {
        let url = parse_url(url, allow_private)?;
        let mut types = events
            .iter()
            .map(|e| WebhookEventType::parse(e))
            .collect::<DomainResult<Vec<_>>>()?;
        types.sort();
        types.dedup();
        if types.is_empty() {
            return Err(DomainError::invalid(
                "events",
                "name at least one event type",
            ));
        }
        text::check("secret", secret)?;
        let chars = secret.chars().count();
        if chars == 0 || chars > MAX_SECRET_CHARS {
            return Err(DomainError::invalid(
                "secret",
                format!("1 to {MAX_SECRET_CHARS} characters"),
            ));
        }
        Ok(NewWebhook {
            url,
            events: types,
            include_notes,
            secret: secret.to_owned(),
            created_at: now,
        })
    }
}

/// A registered webhook endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Where deliveries go.
    pub url: String,
    /// What it subscribes to, in the documented order.
    pub events: Vec<WebhookEventType>,
    /// Whether `message.created` includes private notes.
    pub include_notes: bool,
    /// The HMAC key (never shown back in full: see [`Webhook::secret_hint`]).
    pub secret: String,
    /// Whether deliveries are made (an endpoint whose delivery failed for good is disabled).
    pub enabled: bool,
    /// When it was registered.
    pub created_at: Timestamp,
}

impl Webhook {
    /// What may be shown of the secret: its last 4 characters when it has at least 12, else
    /// nothing.
    pub fn secret_hint(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        if chars.len() >= 12 {
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("…{tail}")
        } else {
            "…".to_owned()
        }
    }
}

/// An event for the outbox, as a store writes it in the transaction of the change it reports
/// (the store gives it its id).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// What happened.
    pub event_type: WebhookEventType,
    /// The thread it happened in (deliveries keep order per thread).
    pub thread_id: ThreadId,
    /// A private note (delivered only to endpoints with `include_notes`).
    pub is_note: bool,
    /// The delivery's `data`.
    pub data: Value,
    /// When it happened.
    pub created_at: Timestamp,
}

fn user(id: Option<UserId>) -> Value {
    id.map_or(Value::Null, |u| json!(u.0))
}

impl OutboxEvent {
    /// `message.created`: `{thread_id, message_id, seq, sender_id, sender_role, kind, body,
    /// system}`.
    pub fn message_created(message: &Message) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::MessageCreated,
            thread_id: message.thread_id,
            is_note: message.kind == MessageKind::Note,
            data: json!({
                "thread_id": message.thread_id.0,
                "message_id": message.id.0,
                "seq": message.seq,
                "sender_id": message.sender_id.0,
                "sender_role": message.sender_role.as_str(),
                "kind": message.kind.as_str(),
                "body": message.body,
                "system": message.system,
            }),
            created_at: message.created_at,
        }
    }

    /// `thread.opened`: `{thread_id, client_id, thread_type}`.
    pub fn thread_opened(thread: &Thread) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::ThreadOpened,
            thread_id: thread.id,
            is_note: false,
            data: json!({
                "thread_id": thread.id.0,
                "client_id": thread.client_id.0,
                "thread_type": thread.thread_type.as_str(),
            }),
            created_at: thread.created_at,
        }
    }

    /// `thread.assigned`: `{thread_id, agent_id, until, via}`; `via` is `claim`, `take_over`
    /// or `auto`.
    pub fn thread_assigned(
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        via: &str,
        now: Timestamp,
    ) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::ThreadAssigned,
            thread_id: thread,
            is_note: false,
            data: json!({
                "thread_id": thread.0,
                "agent_id": agent.0,
                "until": until.to_rfc3339(),
                "via": via,
            }),
            created_at: now,
        }
    }

    /// `thread.transferred`: `{thread_id, from_agent_id, to_agent_id}` (`to_agent_id` null:
    /// back to the queue).
    pub fn thread_transferred(
        thread: ThreadId,
        from: Option<UserId>,
        to: Option<UserId>,
        now: Timestamp,
    ) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::ThreadTransferred,
            thread_id: thread,
            is_note: false,
            data: json!({
                "thread_id": thread.0,
                "from_agent_id": user(from),
                "to_agent_id": user(to),
            }),
            created_at: now,
        }
    }

    /// `thread.resolved`: `{thread_id, client_id, agent_id}` (the agent who held it last).
    pub fn thread_resolved(thread: &Thread, now: Timestamp) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::ThreadResolved,
            thread_id: thread.id,
            is_note: false,
            data: json!({
                "thread_id": thread.id.0,
                "client_id": thread.client_id.0,
                "agent_id": user(thread.agent_id),
            }),
            created_at: now,
        }
    }

    /// `thread.rated`: `{thread_id, rating_id, client_id, agent_id, score, comment}`.
    pub fn thread_rated(rating: &Rating) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::ThreadRated,
            thread_id: rating.thread_id,
            is_note: false,
            data: json!({
                "thread_id": rating.thread_id.0,
                "rating_id": rating.id.0,
                "client_id": rating.client_id.0,
                "agent_id": user(rating.agent_id),
                "score": rating.score,
                "comment": rating.comment,
            }),
            created_at: rating.created_at,
        }
    }

    /// `sla.breached`: `{thread_id, clock_id, kind, target_seconds, due_at}`.
    pub fn sla_breached(clock: &SlaClock, now: Timestamp) -> Self {
        OutboxEvent {
            event_type: WebhookEventType::SlaBreached,
            thread_id: clock.thread_id,
            is_note: false,
            data: json!({
                "thread_id": clock.thread_id.0,
                "clock_id": clock.id,
                "kind": clock.kind.as_str(),
                "target_seconds": clock.target_seconds,
                "due_at": clock.due_at.map(Timestamp::to_rfc3339),
            }),
            created_at: now,
        }
    }
}

/// A stored event: what the outbox holds and a delivery sends.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// Its number in the outbox (the public id is [`WebhookEvent::public_id`]).
    pub id: i64,
    /// What happened.
    pub event_type: WebhookEventType,
    /// Its thread.
    pub thread_id: ThreadId,
    /// The delivery's `data`.
    pub data: Value,
    /// When it happened.
    pub created_at: Timestamp,
}

impl WebhookEvent {
    /// The stable event id receivers de-duplicate on (`Webhook-Id`), e.g. `evt_42`.
    pub fn public_id(&self) -> String {
        event_public_id(self.id)
    }

    /// The body POSTed: `{"id", "type", "created_at", "data"}`.
    pub fn body(&self) -> Value {
        json!({
            "id": self.public_id(),
            "type": self.event_type.as_str(),
            "created_at": self.created_at.to_rfc3339(),
            "data": self.data,
        })
    }
}

/// The public id of the outbox's event number `id`.
pub fn event_public_id(id: i64) -> String {
    format!("evt_{id}")
}

/// A delivery a worker leased: the event, where it goes and with which key.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    /// The delivery's id.
    pub id: i64,
    /// Its endpoint.
    pub webhook_id: WebhookId,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's secret.
    pub secret: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// When the delivery was queued (retries stop `retry_for` after it).
    pub created_at: Timestamp,
    /// The event.
    pub event: WebhookEvent,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet (due now or at its next attempt).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Retries ran out; the endpoint was disabled.
    Failed,
}

impl DeliveryState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    /// The state with this stored name.
    pub fn parse(name: &str) -> DomainResult<Self> {
        match name {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(DomainError::Internal(format!(
                "unknown delivery state {other}"
            ))),
        }
    }
}

/// One delivery in an endpoint's log, with its latest attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryLogEntry {
    /// The delivery's id.
    pub id: i64,
    /// The event's public id.
    pub event_id: String,
    /// The event's type.
    pub event_type: WebhookEventType,
    /// The event's thread.
    pub thread_id: ThreadId,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: i64,
    /// The latest attempt's HTTP status, if the endpoint answered.
    pub last_status: Option<i64>,
    /// The latest attempt's error (no answer, or a refused target), if any.
    pub last_error: Option<String>,
    /// How long the latest attempt took, in milliseconds.
    pub last_duration_ms: Option<i64>,
    /// When the latest attempt was made.
    pub last_attempt_at: Option<Timestamp>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Timestamp,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptReport {
    /// The HTTP status, if the endpoint answered.
    pub status: Option<i64>,
    /// Why it failed without an answer (timeout, refused target, connection error).
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
    /// When it was made.
    pub at: Timestamp,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptVerdict {
    /// Done.
    Delivered,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// Give up: the delivery fails and its endpoint is disabled.
    Failed,
}

/// Retries: exponential backoff from `base_ms` doubling up to `max_backoff_ms`, with jitter,
/// for `retry_for_ms` after the delivery was queued or `max_attempts` attempts, whichever
/// comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first wait.
    pub base_ms: i64,
    /// The longest wait.
    pub max_backoff_ms: i64,
    /// How long after queueing a delivery is retried.
    pub retry_for_ms: i64,
    /// The most attempts per delivery.
    pub max_attempts: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            max_backoff_ms: 10 * 60 * 1000,
            retry_for_ms: 24 * 60 * 60 * 1000,
            max_attempts: 30,
        }
    }
}

impl RetryPolicy {
    /// After a failed attempt (the `attempts`-th, counting it) of a delivery queued at
    /// `created_at`: when to try again, or `Failed`. `jitter` in `[0, 1)` picks the wait
    /// between half and all of the backoff.
    pub fn after_failure(
        &self,
        attempts: i64,
        created_at: Timestamp,
        now: Timestamp,
        jitter: f64,
    ) -> AttemptVerdict {
        if attempts >= self.max_attempts {
            return AttemptVerdict::Failed;
        }
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
        let backoff = self
            .base_ms
            .max(1)
            .saturating_mul(2_i64.saturating_pow(exponent))
            .min(self.max_backoff_ms.max(1));
        let jitter = jitter.clamp(0.0, 1.0);
        // Half the backoff, plus up to the other half at random.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let wait = backoff / 2 + ((backoff / 2) as f64 * jitter) as i64;
        let next = now.plus_millis(wait.max(1));
        if next.millis_since(created_at) > self.retry_for_ms {
            AttemptVerdict::Failed
        } else {
            AttemptVerdict::RetryAt(next)
        }
    }
}

/// The `Webhook-Signature` header of `body` sent at `unix_seconds`:
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature_header(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!(
        "t={unix_seconds},v1={}",
        signature(secret, unix_seconds, body)
    )
}

/// The hex HMAC-SHA256 of `"<t>.<body>"` keyed with `secret`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fc00::1]/",
            "http://[fd12::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost:8080/",
            "http://a.localhost/",
            "http://2130706433/",
        ] {
            assert!(parse_url(url, false).is_err(), "{url} must be refused");
            assert!(
                parse_url(url, true).is_ok(),
                "{url} allowed when private is"
            );
        }
    }

    #[test]
    fn public_targets_are_accepted() {
        for url in [
            "https://example.com/hook",
            "http://93.184.216.34:8080/x",
            "https://[2606:4700::1111]/",
        ] {
            assert!(parse_url(url, false).is_ok(), "{url} must be accepted");
        }
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "not a url",
            "mailto:a@example.com",
            "https://example.com/\u{202e}",
        ] {
            assert!(parse_url(url, true).is_err(), "{url} must be refused");
        }
    }

    #[test]
    fn new_webhook_checks_events_and_secret() {
        let now = Timestamp(0);
        let ok = NewWebhook::parse(
            "https://example.com/",
            &[
                "thread.opened".into(),
                "message.created".into(),
                "thread.opened".into(),
            ],
            false,
            "s3cret",
            false,
            now,
        );
        assert_eq!(
            ok.map(|w| w.events),
            Ok(vec![
                WebhookEventType::MessageCreated,
                WebhookEventType::ThreadOpened
            ])
        );
        let url = "https://example.com/";
        assert!(NewWebhook::parse(url, &[], false, "s", false, now).is_err());
        assert!(NewWebhook::parse(url, &["nope".into()], false, "s", false, now).is_err());
        let events = ["sla.breached".to_owned()];
        assert!(NewWebhook::parse(url, &events, false, "", false, now).is_err());
        let long = "x".repeat(MAX_SECRET_CHARS + 1);
        assert!(NewWebhook::parse(url, &events, false, &long, false, now).is_err());
    }

    #[test]
    fn retries_back_off_then_give_up() {
        let policy = RetryPolicy {
            base_ms: 1000,
            max_backoff_ms: 8000,
            retry_for_ms: 20_000,
            max_attempts: 10,
        };
        let start = Timestamp(0);
        assert_eq!(
            policy.after_failure(1, start, start, 0.0),
            AttemptVerdict::RetryAt(Timestamp(500))
        );
        assert_eq!(
            policy.after_failure(3, start, Timestamp(1000), 0.999),
            AttemptVerdict::RetryAt(Timestamp(1000 + 2000 + 1998))
        );
        // Capped at max_backoff.
        assert_eq!(
            policy.after_failure(9, start, Timestamp(1000), 0.0),
            AttemptVerdict::RetryAt(Timestamp(5000))
        );
        // Past retry_for, or out of attempts.
        assert_eq!(
            policy.after_failure(2, start, Timestamp(19_900), 0.5),
            AttemptVerdict::Failed
        );
        assert_eq!(
            policy.after_failure(10, start, start, 0.0),
            AttemptVerdict::Failed
        );
    }

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // RFC 4231-style known answer computed independently: HMAC-SHA256("key", "1.{}").
        let header = signature_header("key", 1, b"{}");
        assert!(header.starts_with("t=1,v1="));
        assert_eq!(header.len(), "t=1,v1=".len() + 64);
        assert_ne!(signature("key", 1, b"{}"), signature("key", 2, b"{}"));
        assert_ne!(signature("key", 1, b"{}"), signature("other", 1, b"{}"));
    }
}
