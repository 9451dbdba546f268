//! `chaos`: conversations under load while faults are injected on a schedule (kill -9 of an
//! instance, Redis down, Postgres down, SIGTERM of an instance), with correct clients (resume with
//! `last_seq`, retry with the same `client_message_id`). Fails the run if an acknowledged message
//! is lost, anything is stored twice, a thread's sequence has a gap, or the agent misses or repeats
//! a message; reports per fault the recovery time after the dependency's return, the worst
//! send-to-delivery time, and latency during and after it.
//!
//! It stops and starts Postgres and Redis, so it runs only when named (`--scenario chaos`), alone,
//! on a private Postgres cluster and Redis server of its own ([`crate::services`]): the machine's
//! services are never touched.

mod conversation;
mod verdict;

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::sync::watch;

use crate::api::ClaimOutcome;
use crate::population;
use crate::report::Sink;
use crate::Ctx;

use conversation::Setup;
use verdict::Fault;

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("chaos");
    if ctx.services.is_none() {
        bail!("chaos needs the private Postgres and Redis (run it alone: --scenario chaos)");
    }
    if ctx.cluster.instances.len() < 2 {
        bail!("chaos needs two instances (the Postgres backend)");
    }
    let p = ctx.params.clone();
    let bases = ctx.bases();
    let addrs: Vec<_> = (0..bases.len()).map(|i| ctx.addr(i)).collect();
    let prefix = format!("b{}-ch", ctx.tag);
    let n = p.chaos_conversations.max(1);
    let clients = population::clients(&ctx.api, &bases, &prefix, n, p.setup_concurrency).await?;
    // Four conversations per agent: an agent's sockets stay within the per-user limit even when
    // every one of them fails over to the same instance.
    let agents = population::agents(
        &ctx.api,
        &bases,
        &ctx.admin.token,
        &prefix,
        n.div_ceil(4),
        p.setup_concurrency,
    )
    .await?;
    let t0 = Instant::now();
    let interval = Duration::from_secs_f64(n as f64 / p.chaos_rate.max(1) as f64);
    let mut setups = Vec::with_capacity(n);
    for (i, c) in clients.iter().enumerate() {
        let agent = &agents[i / 4];
        let agent_base = ctx.base(c.home + 1);
        match ctx.api.claim(&agent_base, &agent.token, c.thread).await? {
            ClaimOutcome::Won => {}
            other => bail!("agent could not claim thread {}: {other:?}", c.thread),
        }
        setups.push(Setup {
            index: i,
            thread: c.thread,
            client_token: c.session.token.clone(),
            agent_token: agent.token.clone(),
            addrs: addrs.clone(),
            home: c.home,
            interval,
            t0,
        });
    }
    sink.note(format!(
        "{n} conversations ({} agents), {} messages/s in all, one message in flight per \
         conversation; client socket on one instance, agent socket on the other; outages of {} s, \
         {} s between faults; private Postgres on port {} and Redis on port {}",
        agents.len(),
        p.chaos_rate,
        p.chaos_outage_s,
        p.chaos_settle_s,
        ctx.services.as_ref().map(|s| s.postgres.port).unwrap_or(0),
        ctx.services.as_ref().map(|s| s.redis.port).unwrap_or(0),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = setups
        .into_iter()
        .map(|s| tokio::spawn(conversation::run(s, stop_rx.clone())))
        .collect();

    let faults = inject(ctx, t0, &mut sink).await;
    let _ = stop_tx.send(true);
    let mut records = Vec::with_capacity(tasks.len());
    let finished = tokio::time::timeout(Duration::from_secs(60), async {
        for t in tasks {
            records.push(t.await.context("a conversation task panicked")?);
        }
        anyhow::Ok(())
    })
    .await;
    let faults = faults?;
    match finished {
        Ok(r) => r?,
        Err(_) => bail!("conversations did not finish within 60 s of the stop"),
    }

    let threads: Vec<String> = records.iter().map(|r| r.thread.to_string()).collect();
    let stored = ctx
        .cluster
        .psql(&format!(
            "SELECT thread_id, seq, coalesce(client_message_id, ''), body FROM messages \
             WHERE thread_id IN ({}) ORDER BY thread_id, seq",
            threads.join(",")
        ))
        .await?;
    verdict::report(&records, &faults, &stored, p.profile == "full", &mut sink);
    Ok(sink)
}

/// The fault schedule. Returns each fault's window (start and return, ms since `t0`). The
/// dependency outages come first, while every conversation still spans both instances (a client
/// on one, its agent on the other: every message crosses Redis); the instance faults then move
/// sockets over.
async fn inject(ctx: &mut Ctx, t0: Instant, sink: &mut Sink) -> Result<Vec<Fault>> {
    let p = ctx.params.clone();
    let outage = Duration::from_secs(p.chaos_outage_s);
    let settle = Duration::from_secs(p.chaos_settle_s);
    let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1000.0;
    let mut faults = Vec::new();
    tokio::time::sleep(settle).await;

    eprintln!("chaos: Redis down for {} s", outage.as_secs());
    let services = ctx.services.as_mut().context("no private services")?;
    let start = Instant::now();
    services.redis.stop().await?;
    tokio::time::sleep(outage).await;
    services.redis.start().await?;
    faults.push(Fault::new(
        &format!("Redis down {} s", outage.as_secs()),
        ms(start),
        ms(Instant::now()),
    ));
    tokio::time::sleep(settle).await;

    eprintln!("chaos: Postgres down for {} s", outage.as_secs());
    let start = Instant::now();
    services.postgres.stop().await?;
    tokio::time::sleep(outage).await;
    services.postgres.start().await?;
    let mut back = Instant::now();
    while !services.postgres.ready().await {
        tokio::time::sleep(Duration::from_millis(10)).await;
        back = Instant::now();
    }
    faults.push(Fault::new(
        &format!("Postgres down {} s", outage.as_secs()),
        ms(start),
        ms(back),
    ));
    tokio::time::sleep(settle).await;

    eprintln!("chaos: kill -9 of instance 1, restart");
    let start = Instant::now();
    ctx.cluster.kill(1).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    ctx.cluster.respawn(1).await?;
    faults.push(Fault::new(
        "kill -9 of an instance, restart",
        ms(start),
        ms(Instant::now()),
    ));
    tokio::time::sleep(settle).await;

    eprintln!("chaos: SIGTERM of instance 0, restart");
    let start = Instant::now();
    let (took, status) = ctx.cluster.terminate(0, Duration::from_secs(30)).await?;
    ctx.cluster.respawn(0).await?;
    faults.push(Fault::new(
        "SIGTERM of an instance, restart",
        ms(start),
        ms(Instant::now()),
    ));
    sink.figure(
        "SIGTERM: time to exit under load",
        took.as_secs_f64() * 1000.0,
        "ms",
        None,
    );
    sink.check(
        "SIGTERM: the instance exits by itself with status 0",
        status.is_some_and(|s| s.success()),
        format!("exit {status:?} after {} ms", took.as_millis()),
    );
    tokio::time::sleep(settle).await;
    Ok(faults)
}
