//! `connections`: opens N authenticated sockets, each client on its own thread, spread over the
//! instances; measures the connect rate, the connect time (TCP + upgrade + auth + `ready`), the
//! sockets refused, and the servers' memory per socket (VmRSS before and after). The sockets
//! stay open for `fanout`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{stream, StreamExt};

use crate::machine::rss_kib;
use crate::population::{self, Client};
use crate::report::{Sink, Target};
use crate::socket::{self, IdlePool, Refusal, Ws};
use crate::stats::Latencies;
use crate::Ctx;

/// Connects in flight at once.
const CONNECT_CONCURRENCY: usize = 256;

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("connections");
    ctx.idle = None;
    let pool = open_idle(ctx, &mut sink).await?;
    ctx.idle = Some(pool);
    Ok(sink)
}

/// Opens the idle sockets and reports on them (also used by `fanout` when run alone).
pub async fn open_idle(ctx: &Ctx, sink: &mut Sink) -> Result<IdlePool> {
    let p = &ctx.params;
    let n = p.sockets;
    let t = Instant::now();
    let clients = population::clients(
        &ctx.api,
        &ctx.bases(),
        &format!("b{}-idle", ctx.tag),
        n,
        p.setup_concurrency,
    )
    .await?;
    sink.note(format!(
        "{n} clients with a thread each created in {:.1} s (sign-up, log-in, first message)",
        t.elapsed().as_secs_f64()
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pids: Vec<u32> = ctx.cluster.instances.iter().map(|i| i.pid).collect();
    let before: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();

    let start = Instant::now();
    let results: Vec<(std::result::Result<Ws, Refusal>, Duration, Option<String>)> =
        stream::iter(clients.iter().enumerate())
            .map(|(i, c)| connect_one(ctx, i, n, c))
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect()
            .await;
    let elapsed = start.elapsed();

    let mut pool = IdlePool::default();
    let mut latencies = Latencies::new();
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    let mut first_error = None;
    for (result, took, error) in results {
        match result {
            Ok(ws) => {
                latencies.record(took);
                pool.hold(ws);
            }
            Err(kind) => {
                *refused.entry(format!("{kind:?}")).or_default() += 1;
                if first_error.is_none() {
                    first_error = error;
                }
            }
        }
    }
    let opened = pool.len();
    // Let the servers settle (buffers, allocator) before reading their memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after: Vec<u64> = pids.iter().map(|p| rss_kib(*p).unwrap_or(0)).collect();
    let grown: u64 = after
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .sum();

    sink.figure(
        format!("sockets opened (of {n})"),
        opened as f64,
        "",
        Some(Target::at_least(10_000.0)),
    );
    sink.figure(
        "connect rate",
        opened as f64 / elapsed.as_secs_f64().max(1e-9),
        "sockets/s",
        None,
    );
    sink.latency(
        "connect (TCP + upgrade + ready)",
        &latencies.summary(),
        None,
        None,
    );
    let total_refused: u64 = refused.values().sum();
    sink.figure("sockets refused", total_refused as f64, "", None);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        sink.figure(
            format!("server {i} RSS before -> after"),
            *a as f64 / 1024.0,
            "MiB",
            None,
        );
        sink.note(format!(
            "server {i}: VmRSS {:.1} MiB before, {:.1} MiB after",
            *b as f64 / 1024.0,
            *a as f64 / 1024.0
        ));
    }
    if opened > 0 {
        sink.figure(
            "server memory per socket",
            grown as f64 / opened as f64,
            "KiB",
            Some(Target::at_most(32.0)),
        );
    }
    sink.figure(
        "sockets closed by the server while idle",
        pool.closed() as f64,
        "",
        None,
    );
    if let Some(e) = first_error {
        sink.note(format!("refused: {refused:?}; first: {e}"));
    }
    sink.check(
        "every socket opened and got ready",
        total_refused == 0 && pool.closed() == 0,
        format!(
            "{opened} of {n} opened; refused {refused:?}; {} closed since",
            pool.closed()
        ),
    );
    Ok(pool)
}

async fn connect_one(
    ctx: &Ctx,
    i: usize,
    total: usize,
    c: &Client,
) -> (std::result::Result<Ws, Refusal>, Duration, Option<String>) {
    let addr = ctx.addr(c.home);
    let path = format!("/ws/threads/{}?token={}", c.thread, c.session.token);
    let t0 = Instant::now();
    match socket::connect(addr, &path, socket::source_for(i, total)).await {
        Ok((ws, _ready)) => (Ok(ws), t0.elapsed(), None),
        Err(e) => (Err(e.kind), t0.elapsed(), Some(e.to_string())),
    }
}
