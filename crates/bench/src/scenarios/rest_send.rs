//! `rest-send`: clients post messages with their tokens, at a target rate (open loop) and at
//! the maximum a fixed number of senders reach (closed loop); then the same through the seed
//! endpoint with username + password, which costs a bcrypt check per request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::sync::Semaphore;

use super::Outcomes;
use crate::api::Api;
use crate::machine::{busy_percent, machine_ticks};
use crate::pacer::Pacer;
use crate::population::{self, Client};
use crate::report::{Sink, Target};
use crate::stats::Latencies;
use crate::Ctx;

const MAX_IN_FLIGHT: u32 = 4096;

struct Phase {
    latencies: Latencies,
    outcomes: Outcomes,
    elapsed: Duration,
    skipped: u64,
}

impl Phase {
    fn ok(&self) -> u64 {
        self.outcomes.of("201") + self.outcomes.of("200")
    }

    fn throughput(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn errors(&self) -> u64 {
        self.outcomes.failures()
    }
}

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("rest-send");
    let p = ctx.params.clone();
    let bases = ctx.bases();
    let t = Instant::now();
    let clients = population::clients(
        &ctx.api,
        &bases,
        &format!("b{}-rs", ctx.tag),
        p.clients,
        p.setup_concurrency,
    )
    .await?;
    sink.note(format!(
        "{} clients with a thread each, set up in {:.1} s; requests alternate between {} instance(s)",
        clients.len(),
        t.elapsed().as_secs_f64(),
        bases.len()
    ));
    let duration = Duration::from_secs(p.duration_s);

    let usage = Usage::start(ctx);
    let at_rate = token_at_rate(&ctx.api, &bases, &clients, p.rate, duration).await;
    let what = format!("token send at {}/s", p.rate);
    usage.report(ctx, &mut sink, &what, at_rate.elapsed);
    sink.figure(
        format!("{what}: throughput"),
        at_rate.throughput(),
        "msg/s",
        None,
    );
    sink.latency(&what, &at_rate.latencies.summary(), None, Some(20.0));
    sink.figure(format!("{what}: errors"), at_rate.errors() as f64, "", None);
    if at_rate.skipped > 0 {
        sink.note(format!(
            "{what}: {} requests not sent because {MAX_IN_FLIGHT} were already in flight",
            at_rate.skipped
        ));
    }
    sink.note(format!("{what}: answers {}", at_rate.outcomes.describe()));

    // Issue 16: 5,000 messages/s stored, p99 <= 50 ms, none lost (its delivery: `fanout` at
    // that rate, `--fanout-rate 5000`).
    let usage = Usage::start(ctx);
    let at_high = token_at_rate(&ctx.api, &bases, &clients, p.high_rate, duration).await;
    let what = format!("token send at {}/s", p.high_rate);
    usage.report(ctx, &mut sink, &what, at_high.elapsed);
    sink.figure(
        format!("{what}: throughput"),
        at_high.throughput(),
        "msg/s",
        Some(Target::at_least(p.high_rate as f64 * 0.99)),
    );
    sink.latency(&what, &at_high.latencies.summary(), None, Some(50.0));
    sink.figure(
        format!("{what}: errors"),
        at_high.errors() as f64,
        "",
        Some(Target::at_most(0.0)),
    );
    if at_high.skipped > 0 {
        sink.note(format!(
            "{what}: {} requests not sent because {MAX_IN_FLIGHT} were already in flight",
            at_high.skipped
        ));
    }
    sink.note(format!("{what}: answers {}", at_high.outcomes.describe()));

    let usage = Usage::start(ctx);
    let at_max = token_at_max(&ctx.api, &bases, &clients, p.max_concurrency, duration).await;
    let what = format!("token send at max ({} senders)", p.max_concurrency);
    usage.report(ctx, &mut sink, &what, at_max.elapsed);
    sink.figure(
        format!("{what}: throughput"),
        at_max.throughput(),
        "msg/s",
        None,
    );
    sink.latency(&what, &at_max.latencies.summary(), None, None);
    sink.figure(format!("{what}: errors"), at_max.errors() as f64, "", None);
    sink.note(format!("{what}: answers {}", at_max.outcomes.describe()));

    if ctx.seed_users.is_empty() {
        bail!("no seed-auth users were created");
    }
    // The warm-up's bcrypt checks are neither timed nor counted in the phase's CPU.
    seed_warm_up(ctx).await;
    let usage = Usage::start(ctx);
    let seed = seed_at_max(ctx, duration).await;
    sink.note(
        "seed endpoint: each user sent one unmeasured request first (its bcrypt check at cost 12; \
         later ones are served by the verified-credential cache)",
    );
    let what = format!(
        "seed endpoint, username+password ({} senders)",
        ctx.seed_users.len()
    );
    usage.report(ctx, &mut sink, &what, seed.elapsed);
    sink.figure(
        format!("{what}: throughput"),
        seed.throughput(),
        "msg/s",
        None,
    );
    sink.latency(&what, &seed.latencies.summary(), None, None);
    sink.figure(format!("{what}: errors"), seed.errors() as f64, "", None);
    // Issue 16: with the verified-credential cache, seed clients (cost-12 hashes, username and
    // password in every request) get at least 80 % of what token clients get.
    sink.figure(
        "seed endpoint throughput as a share of the token path's at max",
        seed.throughput() / at_max.throughput().max(1e-9),
        "",
        Some(Target::at_least(0.80)),
    );
    sink.note(format!("{what}: answers {}", seed.outcomes.describe()));

    let all_ok = at_rate.errors() == 0
        && at_high.errors() == 0
        && at_max.errors() == 0
        && seed.errors() == 0;
    sink.check(
        "every send answered 2xx",
        all_ok,
        format!(
            "errors: at rate {}, at the high rate {}, at max {}, seed {}",
            at_rate.errors(),
            at_high.errors(),
            at_max.errors(),
            seed.errors()
        ),
    );
    Ok(sink)
}

async fn token_at_rate(
    api: &Api,
    bases: &[String],
    clients: &[Client],
    rate: u64,
    duration: Duration,
) -> Phase {
    let latencies = Arc::new(Mutex::new(Latencies::new()));
    let outcomes = Outcomes::default();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize));
    let mut pacer = Pacer::new(rate);
    let start = Instant::now();
    let mut n: usize = 0;
    let mut skipped = 0;
    while pacer.elapsed() < duration {
        for _ in 0..pacer.due().await {
            let Some(client) = clients.get(n % clients.len().max(1)) else {
                break;
            };
            n += 1;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                skipped += 1;
                continue;
            };
            let (api, latencies, outcomes) = (api.clone(), latencies.clone(), outcomes.clone());
            // Request by request over the instances, whatever the clients' number.
            let base = bases[n % bases.len()].clone();
            let (token, thread) = (client.session.token.clone(), client.thread);
            tokio::spawn(async move {
                let t0 = Instant::now();
                let result = api
                    .send(&base, &token, thread, &format!("rate message {n}"))
                    .await;
                let took = t0.elapsed();
                record(&latencies, &outcomes, result.map(|s| s.as_u16()), took);
                drop(permit);
            });
        }
    }
    // Wait for the stragglers.
    let _ = tokio::time::timeout(
        Duration::from_secs(35),
        in_flight.acquire_many(MAX_IN_FLIGHT),
    )
    .await;
    let latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    Phase {
        latencies,
        outcomes,
        elapsed: start.elapsed(),
        skipped,
    }
}

async fn token_at_max(
    api: &Api,
    bases: &[String],
    clients: &[Client],
    senders: usize,
    duration: Duration,
) -> Phase {
    let mut loops = Vec::new();
    for w in 0..senders {
        let Some(client) = clients.get(w % clients.len().max(1)).cloned() else {
            break;
        };
        let api = api.clone();
        let base = bases[w % bases.len()].clone();
        loops.push(move |k: u64| {
            let (api, base, client) = (api.clone(), base.clone(), client.clone());
            async move {
                api.send(
                    &base,
                    &client.session.token,
                    client.thread,
                    &format!("max message {w}/{k}"),
                )
                .await
            }
        });
    }
    closed_loop(loops, duration).await
}

/// Warm-up, not measured: each user's first request pays its cost-12 bcrypt check once on its
/// instance (as a token client pays it once at log-in); the verified-credential cache serves the
/// rest for `auth.seed_credential_cache_seconds`.
async fn seed_warm_up(ctx: &Ctx) {
    let warm_ups = ctx.seed_users.iter().enumerate().map(|(w, user)| {
        let (api, user, base) = (ctx.api.clone(), user.clone(), ctx.base(w));
        async move { api.seed_send(&base, &user, 3, "seed warm-up").await }
    });
    futures_util::future::join_all(warm_ups).await;
}

async fn seed_at_max(ctx: &Ctx, duration: Duration) -> Phase {
    let loops = ctx
        .seed_users
        .iter()
        .enumerate()
        .map(|(w, user)| {
            let (api, user, base) = (ctx.api.clone(), user.clone(), ctx.base(w));
            move |k: u64| {
                let (api, user, base) = (api.clone(), user.clone(), base.clone());
                async move {
                    api.seed_send(&base, &user, 3, &format!("seed message {w}/{k}"))
                        .await
                }
            }
        })
        .collect();
    closed_loop(loops, duration).await
}

/// Runs one closed loop per sender until `duration` has passed: each sends its next request
/// (`send(k)` makes its k-th) as soon as the previous one answered. Latencies of successful
/// answers are recorded; every answer is counted by kind.
async fn closed_loop<S, Fut>(senders: Vec<S>, duration: Duration) -> Phase
where
    S: FnMut(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<reqwest::StatusCode>> + Send,
{
    let outcomes = Outcomes::default();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for mut send in senders {
        let outcomes = outcomes.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Latencies::new();
            let mut k = 0;
            while Instant::now() < deadline {
                k += 1;
                let t0 = Instant::now();
                let code = send(k).await.map(|s| s.as_u16());
                outcomes.add(kind(&code));
                if matches!(code, Ok(200 | 201)) {
                    latencies.record(t0.elapsed());
                }
            }
            latencies
        }));
    }
    let mut latencies = Latencies::new();
    for t in tasks {
        if let Ok(l) = t.await {
            latencies.merge(&l);
        }
    }
    Phase {
        latencies,
        outcomes,
        elapsed: start.elapsed(),
        skipped: 0,
    }
}

/// CPU readings at the start of a phase: the servers', the whole machine's and our own.
struct Usage {
    servers: Vec<u64>,
    machine: (u64, u64),
    own: u64,
}

impl Usage {
    fn start(ctx: &Ctx) -> Self {
        Usage {
            servers: ctx.cpu_ticks(),
            machine: machine_ticks(),
            own: Ctx::own_cpu_ticks(),
        }
    }

    /// Adds the phase's CPU figures: who used the cores while it ran.
    fn report(&self, ctx: &Ctx, sink: &mut Sink, what: &str, elapsed: Duration) {
        let servers = ctx.cpu_percent_since(&self.servers, elapsed);
        sink.figure(
            format!("{what}: servers' CPU"),
            servers,
            "% of a core",
            None,
        );
        let own =
            Ctx::own_cpu_ticks().saturating_sub(self.own) as f64 / elapsed.as_secs_f64().max(1e-9);
        sink.figure(
            format!("{what}: load generator's CPU"),
            own,
            "% of a core",
            None,
        );
        sink.figure(
            format!("{what}: machine CPU busy (all processes)"),
            busy_percent(self.machine, machine_ticks()),
            "%",
            None,
        );
    }
}

fn kind(code: &Result<u16>) -> String {
    match code {
        Ok(c) => c.to_string(),
        Err(_) => "transport".to_owned(),
    }
}

fn record(latencies: &Mutex<Latencies>, outcomes: &Outcomes, code: Result<u16>, took: Duration) {
    outcomes.add(kind(&code));
    if matches!(code, Ok(200 | 201)) {
        if let Ok(mut l) = latencies.lock() {
            l.record(took);
        }
    }
}
