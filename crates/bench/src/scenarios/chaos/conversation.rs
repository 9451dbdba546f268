//! One conversation under faults, as a correct client and its agent behave: the client sends one
//! message at a time with a `client_message_id` and retries it (same id) until acknowledged,
//! reconnecting to the other instance when its socket drops; the agent watches the thread on the
//! other instance and resumes with `last_seq` after every reconnect. Both record what happened,
//! with times, for the verdict.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::socket::{self, Refusal, Ws};

/// How long a correct client waits before retrying a refused send or a dropped socket.
pub const RETRY: Duration = Duration::from_millis(100);
/// A send with no answer at all for this long is sent again (same id).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// What to run one conversation with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Its index (in bodies and ids).
    pub index: usize,
    /// The thread.
    pub thread: i64,
    /// The client's token.
    pub client_token: String,
    /// The agent's token.
    pub agent_token: String,
    /// Every instance's address; the client starts on `home`, the agent on the next one.
    pub addrs: Vec<SocketAddr>,
    /// The client's first instance.
    pub home: usize,
    /// Time between the client's messages.
    pub interval: Duration,
    /// The run's clock origin.
    pub t0: Instant,
}

/// One message the client sent.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// First attempt, ms since t0.
    pub first_attempt_ms: f64,
    /// Attempts (sends of the frame).
    pub attempts: u32,
    /// When the ack came, ms since t0.
    pub acked_ms: Option<f64>,
    /// The acknowledged seq.
    pub seq: Option<i64>,
    /// When the agent first received it, ms since t0.
    pub delivered_ms: Option<f64>,
}

/// What one conversation recorded.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// The thread.
    pub thread: i64,
    /// The client's messages, by number (index = n).
    pub sent: Vec<Sent>,
    /// The agent's view: every seq it received and how often.
    pub received: BTreeMap<i64, u32>,
    /// The seq the agent started after.
    pub agent_start_seq: i64,
    /// Error frames by code (both sockets).
    pub error_codes: BTreeMap<String, u64>,
    /// Failed socket opens by kind (`tcp`, `handshake 503`, `not ready`).
    pub refusals: BTreeMap<String, u64>,
    /// Socket (re)connects after the first, both sides.
    pub reconnects: u64,
}

/// The body of message `n` of conversation `index` (unique in the run).
pub fn body(index: usize, n: usize) -> String {
    format!("chaos c={index} n={n}")
}

/// Reads `(conversation, n)` back from a body.
pub fn parse_body(body: &str) -> Option<(usize, usize)> {
    let rest = body.strip_prefix("chaos c=")?;
    let (c, n) = rest.split_once(" n=")?;
    Some((c.parse().ok()?, n.parse().ok()?))
}

fn ms(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1000.0
}

/// Runs the client and the agent until `stop` turns true and the client's last message is
/// acknowledged (or `deadline` after stop), then returns the record.
pub async fn run(setup: Setup, stop: watch::Receiver<bool>) -> Record {
    let record = Arc::new(std::sync::Mutex::new(Record {
        thread: setup.thread,
        ..Record::default()
    }));
    let agent_done = watch::channel(false);
    let (joined_tx, mut joined) = watch::channel(false);
    let agent = tokio::spawn(agent(
        setup.clone(),
        record.clone(),
        agent_done.1,
        joined_tx,
    ));
    // The client starts once the agent watches, so the agent sees every message it sends.
    let _ = tokio::time::timeout(Duration::from_secs(30), joined.wait_for(|j| *j)).await;
    client(&setup, &record, stop).await;
    // Give the agent time to receive what was acknowledged last (resume covers anything missed).
    let wait_until = Instant::now() + Duration::from_secs(10);
    loop {
        let all_delivered = record
            .lock()
            .map(|r| {
                r.sent
                    .iter()
                    .all(|s| s.acked_ms.is_none() || s.delivered_ms.is_some())
            })
            .unwrap_or(true);
        if all_delivered || Instant::now() > wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = agent_done.0.send(true);
    let _ = agent.await;
    let record = record.lock().map(|r| r.clone()).unwrap_or_default();
    record
}

type Shared = Arc<std::sync::Mutex<Record>>;

fn note_refusal(record: &Shared, kind: Refusal, error: &anyhow::Error) {
    let key = match kind {
        Refusal::Tcp => "tcp refused".to_owned(),
        Refusal::Handshake => {
            let text = format!("{error:#}");
            // tungstenite reports an HTTP answer as "HTTP error: 503 Service Unavailable".
            match text
                .split_whitespace()
                .find(|w| w.len() == 3 && w.parse::<u16>().is_ok())
            {
                Some(code) => format!("handshake {code}"),
                None => "handshake failed".to_owned(),
            }
        }
        Refusal::NotReady => "no ready".to_owned(),
    };
    if let Ok(mut r) = record.lock() {
        *r.refusals.entry(key).or_default() += 1;
    }
}

fn note_error(record: &Shared, code: &str) {
    if let Ok(mut r) = record.lock() {
        *r.error_codes.entry(code.to_owned()).or_default() += 1;
    }
}

async fn client(setup: &Setup, record: &Shared, mut stop: watch::Receiver<bool>) {
    let path = format!("/ws/threads/{}?token={}", setup.thread, setup.client_token);
    let mut instance = setup.home;
    let mut next_n = 0usize;
    // The message in flight: (n, frame, last sent at).
    let mut pending: Option<(usize, String, Instant)> = None;
    let mut next_send = Instant::now();
    let mut first_connect = true;
    'connect: loop {
        if *stop.borrow() && pending.is_none() {
            return;
        }
        let addr = setup.addrs[instance % setup.addrs.len()];
        let mut ws: Ws = match socket::connect(addr, &path, None).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                note_refusal(record, e.kind, &e.error);
                instance += 1;
                tokio::time::sleep(RETRY).await;
                continue 'connect;
            }
        };
        if !first_connect {
            if let Ok(mut r) = record.lock() {
                r.reconnects += 1;
            }
        }
        first_connect = false;
        // Whatever was in flight is sent again on the new socket, with the same id.
        if let Some((n, frame, at)) = pending.as_mut() {
            if ws.send(Message::Text(frame.clone())).await.is_err() {
                instance += 1;
                continue 'connect;
            }
            *at = Instant::now();
            bump_attempts(record, *n);
        }
        loop {
            // Due: a new message (none in flight), or a retry of the one in flight.
            let wake = match &pending {
                Some((_, _, at)) => *at + ANSWER_TIMEOUT,
                None => next_send,
            };
            tokio::select! {
                frame = next_json(&mut ws) => {
                    let Some(v) = frame else {
                        // Closed or broken: the other instance, after a pause.
                        instance += 1;
                        tokio::time::sleep(RETRY).await;
                        continue 'connect;
                    };
                    let answers = v["client_message_id"].as_str().map(str::to_owned);
                    let in_flight = pending.as_ref().map(|(n, _, _)| cmid(setup.index, *n));
                    match v["type"].as_str() {
                        Some("ack") if answers.is_some() && answers == in_flight => {
                            if let (Some((n, _, _)), Ok(mut r)) = (pending.take(), record.lock()) {
                                if let Some(s) = r.sent.get_mut(n) {
                                    s.acked_ms = Some(ms(setup.t0));
                                    s.seq = v["seq"].as_i64();
                                }
                            }
                        }
                        Some("error") => {
                            note_error(record, v["code"].as_str().unwrap_or("?"));
                            if answers.is_some() && answers == in_flight {
                                // Refused (e.g. unavailable): the same frame again after a pause.
                                tokio::time::sleep(RETRY).await;
                                if let Some((n, frame, at)) = pending.as_mut() {
                                    if ws.send(Message::Text(frame.clone())).await.is_err() {
                                        instance += 1;
                                        continue 'connect;
                                    }
                                    *at = Instant::now();
                                    bump_attempts(record, *n);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    if let Some((n, frame, at)) = pending.as_mut() {
                        // No answer at all: send it again (the id makes it idempotent).
                        if ws.send(Message::Text(frame.clone())).await.is_err() {
                            instance += 1;
                            continue 'connect;
                        }
                        *at = Instant::now();
                        bump_attempts(record, *n);
                    } else if !*stop.borrow() {
                        let n = next_n;
                        next_n += 1;
                        next_send += setup.interval;
                        let frame = json!({
                            "type": "message.send",
                            "body": body(setup.index, n),
                            "client_message_id": cmid(setup.index, n),
                        })
                        .to_string();
                        if let Ok(mut r) = record.lock() {
                            r.sent.push(Sent {
                                first_attempt_ms: ms(setup.t0),
                                attempts: 1,
                                ..Sent::default()
                            });
                        }
                        pending = Some((n, frame.clone(), Instant::now()));
                        if ws.send(Message::Text(frame)).await.is_err() {
                            instance += 1;
                            continue 'connect;
                        }
                    } else {
                        next_send = Instant::now() + Duration::from_secs(3600);
                    }
                }
                _ = stop.changed() => {}
            }
            if *stop.borrow() && pending.is_none() {
                let _ = ws.close(None).await;
                return;
            }
        }
    }
}

/// The socket's next JSON text frame (other frames skipped), or `None` once it is closed or
/// broken.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => {
                if let Ok(v) = serde_json::from_str(&text) {
                    return Some(v);
                }
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn cmid(index: usize, n: usize) -> String {
    format!("ch-{index}-{n}")
}

fn bump_attempts(record: &Shared, n: usize) {
    if let Ok(mut r) = record.lock() {
        if let Some(s) = r.sent.get_mut(n) {
            s.attempts += 1;
        }
    }
}

async fn agent(
    setup: Setup,
    record: Shared,
    mut done: watch::Receiver<bool>,
    joined: watch::Sender<bool>,
) {
    let mut instance = setup.home + 1;
    let mut resume_after: Option<i64> = None;
    let mut first_connect = true;
    'connect: loop {
        if *done.borrow() {
            return;
        }
        let path = match resume_after {
            Some(seq) => format!(
                "/ws/threads/{}?token={}&last_seq={seq}",
                setup.thread, setup.agent_token
            ),
            None => format!("/ws/threads/{}?token={}", setup.thread, setup.agent_token),
        };
        let addr = setup.addrs[instance % setup.addrs.len()];
        let mut ws = match socket::connect(addr, &path, None).await {
            Ok((ws, ready)) => {
                if resume_after.is_none() {
                    resume_after = Some(ready.last_seq);
                    if let Ok(mut r) = record.lock() {
                        r.agent_start_seq = ready.last_seq;
                    }
                    let _ = joined.send(true);
                }
                ws
            }
            Err(e) => {
                note_refusal(&record, e.kind, &e.error);
                instance += 1;
                tokio::time::sleep(RETRY).await;
                continue 'connect;
            }
        };
        if !first_connect {
            if let Ok(mut r) = record.lock() {
                r.reconnects += 1;
            }
        }
        first_connect = false;
        loop {
            tokio::select! {
                frame = next_json(&mut ws) => {
                    let Some(v) = frame else {
                        // Closed or broken: the other instance, after a pause.
                        instance += 1;
                        tokio::time::sleep(RETRY).await;
                        continue 'connect;
                    };
                    match v["type"].as_str() {
                        Some("message.created") => {
                            let Some(seq) = v["seq"].as_i64() else { continue };
                            resume_after = Some(resume_after.unwrap_or(0).max(seq));
                            let at = ms(setup.t0);
                            if let Ok(mut r) = record.lock() {
                                *r.received.entry(seq).or_default() += 1;
                                let ours = v["message"]["body"].as_str().and_then(parse_body);
                                if let Some((c, n)) = ours {
                                    if c == setup.index {
                                        if let Some(s) = r.sent.get_mut(n) {
                                            s.delivered_ms.get_or_insert(at);
                                        }
                                    }
                                }
                            }
                        }
                        Some("error") => note_error(&record, v["code"].as_str().unwrap_or("?")),
                        _ => {}
                    }
                }
                _ = done.changed() => {
                    let _ = ws.close(None).await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_their_conversation_and_number() {
        assert_eq!(parse_body(&body(12, 345)), Some((12, 345)));
        assert_eq!(parse_body("hello from x"), None);
        assert_eq!(parse_body("chaos c=1 n=x"), None);
    }
}
