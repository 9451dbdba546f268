//! `routing`: automatic assignment under load. Agents (capacity each) go online over their
//! queue sockets, spread over the instances; the mode is switched to `auto`; new clients write
//! their first message at a fixed rate. Each agent resolves what it is given after a hold time,
//! freeing the slot for the router. Measured: the time from the client's request to the
//! `assigned` frame on the agent's socket (p50/p99), and assignments per agent. Checks (failing
//! the run): no conversation assigned twice, no agent ever over its capacity (from the events,
//! and from the server's own `GET /api/v1/agents` sampled during the run), every conversation
//! assigned.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use futures_util::{stream, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::api::Session;
use crate::pacer::Pacer;
use crate::population;
use crate::report::Sink;
use crate::socket;
use crate::stats::Latencies;
use crate::Ctx;

/// What the agents' sockets saw, shared.
#[derive(Debug, Default)]
struct Seen {
    /// thread -> (agent, when the agent's socket got `assigned`), every one of them.
    assigned: HashMap<i64, Vec<(i64, Instant)>>,
    /// Conversations each agent holds by the events (+1 on `assigned`, -1 when it resolves).
    held: HashMap<i64, u32>,
    /// The most any agent held by the events.
    max_held: u32,
    /// Assignments per agent.
    per_agent: HashMap<i64, u64>,
    /// Resolutions that failed.
    resolve_errors: u64,
}

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("routing");
    let p = ctx.params.clone();
    let bases = ctx.bases();
    let prefix = format!("b{}-rt", ctx.tag);
    let total = usize::try_from(p.routing_rate * p.routing_duration_s).unwrap_or(usize::MAX);
    let agents = population::agents(
        &ctx.api,
        &bases,
        &ctx.admin.token,
        &prefix,
        p.routing_agents,
        p.setup_concurrency,
    )
    .await?;
    let clients: Vec<Result<Session>> = stream::iter(0..total)
        .map(|i| {
            let api = ctx.api.clone();
            let base = bases[i % bases.len()].clone();
            let username = format!("{prefix}-c{i}");
            async move { api.new_user(&base, &username, "client", None).await }
        })
        .buffered(p.setup_concurrency.max(1))
        .collect()
        .await;
    let clients: Vec<Session> = clients.into_iter().collect::<Result<_>>()?;
    let http = ctx.api.http().clone();
    let admin = ctx.admin.token.clone();
    for a in &agents {
        let resp = http
            .patch(format!("{}/api/v1/users/{}", bases[0], a.user_id))
            .bearer_auth(&admin)
            .json(&json!({"capacity": p.routing_capacity}))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("setting a capacity answered {}", resp.status());
        }
    }

    // Agents online over their queue sockets (their presence), each socket read by a task.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut readers = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let path = format!("/ws/queue?token={}", agent.token);
        let (mut ws, _) = socket::connect(ctx.addr(i), &path, None)
            .await
            .map_err(|e| anyhow::anyhow!("agent socket: {e}"))?;
        ws.send(Message::Text(
            json!({"type": "availability.set", "availability": "online"}).to_string(),
        ))
        .await?;
        let me = agent.user_id;
        let token = agent.token.clone();
        let base = bases[i % bases.len()].clone();
        let (seen, http) = (Arc::clone(&seen), http.clone());
        let hold = Duration::from_millis(p.routing_hold_ms);
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = ws.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if v["type"] != "assigned" || v["agent_id"] != me {
                    continue;
                }
                let Some(thread) = v["thread_id"].as_i64() else {
                    continue;
                };
                if let Ok(mut s) = seen.lock() {
                    s.assigned
                        .entry(thread)
                        .or_default()
                        .push((me, Instant::now()));
                    let held = s.held.entry(me).or_default();
                    *held += 1;
                    let now_held = *held;
                    s.max_held = s.max_held.max(now_held);
                    *s.per_agent.entry(me).or_default() += 1;
                }
                // The agent works on it for a while, then resolves it (counted free first:
                // the router cannot reassign the slot before the resolve commits).
                let (seen, http, token, base) =
                    (Arc::clone(&seen), http.clone(), token.clone(), base.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(hold).await;
                    if let Ok(mut s) = seen.lock() {
                        if let Some(h) = s.held.get_mut(&me) {
                            *h = h.saturating_sub(1);
                        }
                    }
                    let ok = http
                        .put(format!("{base}/api/v1/threads/{thread}/status"))
                        .bearer_auth(&token)
                        .json(&json!({"status": "resolved"}))
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    if !ok {
                        if let Ok(mut s) = seen.lock() {
                            s.resolve_errors += 1;
                        }
                    }
                });
            }
        }));
    }
    set_mode(ctx, "auto").await?;

    // The server's own view of every agent's load, sampled during the run.
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (http, base, admin, sampling) = (
            http.clone(),
            bases[0].clone(),
            admin.clone(),
            Arc::clone(&sampling),
        );
        let mine: HashSet<i64> = agents.iter().map(|a| a.user_id).collect();
        tokio::spawn(async move {
            let (mut samples, mut over) = (0u64, 0u64);
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(resp) = http
                    .get(format!("{base}/api/v1/agents"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                {
                    if let Ok(list) = resp.json::<Vec<Value>>().await {
                        samples += 1;
                        over += list
                            .iter()
                            .filter(|a| a["agent_id"].as_i64().is_some_and(|id| mine.contains(&id)))
                            .filter(|a| a["held"].as_u64() > a["capacity"].as_u64())
                            .count() as u64;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (samples, over)
        })
    };

    // Clients write at the rate.
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let mut pacer = Pacer::new(p.routing_rate);
    let mut next = 0usize;
    let mut writers = Vec::new();
    let open_errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    while next < total {
        let due = usize::try_from(pacer.due().await).unwrap_or(0);
        for _ in 0..due.min(total - next) {
            let client = clients[next].clone();
            let base = bases[next % bases.len()].clone();
            let (api, sent, errors) =
                (ctx.api.clone(), Arc::clone(&sent), Arc::clone(&open_errors));
            next += 1;
            writers.push(tokio::spawn(async move {
                let start = Instant::now();
                match api
                    .open_thread(
                        &base,
                        &client.token,
                        "payment",
                        "my card payment failed, please help",
                    )
                    .await
                {
                    Ok(thread) => {
                        if let Ok(mut s) = sent.lock() {
                            s.insert(thread, start);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for w in writers {
        let _ = w.await;
    }
    // Let the last ones be assigned (the agents keep resolving).
    let deadline = Instant::now() + Duration::from_millis(p.routing_hold_ms * 3 + 10_000);
    loop {
        let done = {
            let (sent, seen) = (sent.lock(), seen.lock());
            match (sent, seen) {
                (Ok(sent), Ok(seen)) => sent.keys().all(|t| seen.assigned.contains_key(t)),
                _ => true,
            }
        };
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let (samples, over_in_samples) = sampler.await.unwrap_or((0, 0));
    set_mode(ctx, "manual").await?;
    for r in &readers {
        r.abort();
    }

    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let seen = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("a reader panicked"))?;
    let mut latencies = Latencies::new();
    let (mut unassigned, mut double) = (0u64, 0u64);
    for (thread, start) in &sent {
        match seen.assigned.get(thread).map(Vec::as_slice) {
            None | Some([]) => unassigned += 1,
            Some([(_, at), rest @ ..]) => {
                latencies.record(at.saturating_duration_since(*start));
                if !rest.is_empty() {
                    double += 1;
                }
            }
        }
    }
    let summary = latencies.summary();
    sink.latency(
        &format!(
            "first message -> assigned ({} agents x capacity {}, {}/s for {} s, {} instance(s))",
            agents.len(),
            p.routing_capacity,
            p.routing_rate,
            p.routing_duration_s,
            bases.len()
        ),
        &summary,
        None,
        Some(50.0),
    );
    let counts: Vec<u64> = agents
        .iter()
        .map(|a| seen.per_agent.get(&a.user_id).copied().unwrap_or(0))
        .collect();
    let spread: BTreeMap<&str, f64> = spread(&counts);
    sink.figure(
        "assignments per agent: min / mean / max",
        spread["mean"],
        &format!("(min {} max {})", spread["min"], spread["max"]),
        None,
    );
    sink.figure(
        "assignments per agent: standard deviation",
        spread["sd"],
        "",
        None,
    );
    sink.check(
        "no conversation assigned twice",
        double == 0,
        format!(
            "{double} of {} conversations had two or more `assigned`",
            sent.len()
        ),
    );
    sink.check(
        "no agent over its capacity",
        seen.max_held <= p.routing_capacity && over_in_samples == 0,
        format!(
            "most held by the events: {} (capacity {}); {over_in_samples} over-capacity rows in {samples} samples of GET /api/v1/agents",
            seen.max_held, p.routing_capacity
        ),
    );
    let open_errors = open_errors.load(std::sync::atomic::Ordering::Relaxed);
    sink.check(
        "every conversation opened and assigned",
        unassigned == 0 && open_errors == 0 && seen.resolve_errors == 0,
        format!(
            "{unassigned} of {} never assigned; {open_errors} opens and {} resolves failed",
            sent.len(),
            seen.resolve_errors
        ),
    );
    Ok(sink)
}

async fn set_mode(ctx: &Ctx, mode: &str) -> Result<()> {
    let resp = ctx
        .api
        .http()
        .put(format!("{}/api/v1/routing", ctx.base(0)))
        .bearer_auth(&ctx.admin.token)
        .json(&json!({"mode": mode}))
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("switching routing to {mode} answered {}", resp.status());
    }
    Ok(())
}

/// min, mean, max and standard deviation.
fn spread(counts: &[u64]) -> BTreeMap<&'static str, f64> {
    let n = counts.len().max(1) as f64;
    let mean = counts.iter().sum::<u64>() as f64 / n;
    let var = counts
        .iter()
        .map(|c| (*c as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    BTreeMap::from([
        ("min", counts.iter().min().copied().unwrap_or(0) as f64),
        ("max", counts.iter().max().copied().unwrap_or(0) as f64),
        ("mean", mean),
        ("sd", var.sqrt()),
    ])
}
