//! `connections`: opens N authenticated sockets, each client on its own thread, spread over the
//! instances; measures the connect rate, the connect time (TCP + upgrade + auth + `ready`), the
//! sockets refused, and the servers' memory per socket (VmRSS before and after). The sockets
//! stay open for `fanout`.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::machine::{busy_percent, machine_ticks, rss_kib};
use crate::population;
use crate::report::{self, Sink};
use crate::socket::{self, IdlePool};
use crate::socket_worker::{self, Job, Opened, Target, Worker};
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

    let targets: Vec<Target> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| Target {
            addr: ctx.addr(c.home),
            path: format!("/ws/threads/{}?token={}", c.thread, c.session.token),
            source: socket::source_for(i, n),
        })
        .collect();
    let start = Instant::now();
    let (pool, opened_report) = if n <= p.sockets_per_process {
        socket_worker::open_all(&targets, CONNECT_CONCURRENCY).await
    } else {
        open_in_workers(&targets, p.sockets_per_process).await?
    };
    let elapsed = start.elapsed();
    let Opened {
        refused,
        first_error,
        connect_micros,
        ..
    } = opened_report;
    let mut latencies = Latencies::new();
    for micros in connect_micros {
        latencies.record_micros(micros);
    }
    if pool.worker_processes() > 0 {
        sink.note(format!(
            "the sockets were held by {} worker processes of the load generator (at most {} \
             each: a process may hold at most its hard open-file limit of descriptors)",
            pool.worker_processes(),
            p.sockets_per_process
        ));
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
        Some(report::Target::at_least(n as f64)),
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
    let instances = pids.len().max(1);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        sink.figure(
            format!("server {i} RSS before -> after"),
            *a as f64 / 1024.0,
            "MiB",
            None,
        );
        // Client `k` lives on instance `k % instances` (population::clients).
        let asked_here = targets.iter().skip(i).step_by(instances).count();
        if asked_here > 0 && total_refused == 0 {
            sink.figure(
                format!("server {i}: sockets held"),
                asked_here as f64,
                "",
                None,
            );
            sink.figure(
                format!("server {i}: memory per socket"),
                a.saturating_sub(*b) as f64 / asked_here as f64,
                "KiB",
                None,
            );
        }
        sink.note(format!(
            "server {i}: VmRSS {:.1} MiB before, {:.1} MiB after",
            *b as f64 / 1024.0,
            *a as f64 / 1024.0
        ));
    }
    idle_cost(ctx, sink, opened).await;
    if opened > 0 {
        sink.figure(
            "server memory per socket",
            grown as f64 / opened as f64,
            "KiB",
            Some(report::Target::at_most(16.0)),
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

/// What the open sockets cost while nothing is said on them: the servers' CPU and the machine's
/// over `idle_window_s` (one heartbeat interval: every socket is pinged once and answers).
async fn idle_cost(ctx: &Ctx, sink: &mut Sink, opened: usize) {
    let window = Duration::from_secs(ctx.params.idle_window_s);
    let servers_before = ctx.cpu_ticks();
    let machine_before = machine_ticks();
    tokio::time::sleep(window).await;
    let servers = ctx.cpu_percent_since(&servers_before, window);
    let machine = busy_percent(machine_before, machine_ticks());
    sink.figure(
        "servers' CPU with the sockets idle (sum of instances)",
        servers,
        "% of a core",
        None,
    );
    if opened > 0 {
        sink.figure(
            "servers' CPU per 10,000 idle sockets",
            servers * 10_000.0 / opened as f64,
            "% of a core",
            None,
        );
    }
    sink.figure(
        "machine CPU busy with the sockets idle (all processes)",
        machine,
        "%",
        None,
    );
    sink.note(format!(
        "idle cost measured over {} s with every socket open and silent (heartbeats only: the \
         servers ping each socket every ws.heartbeat_interval_ms, 30 s by default)",
        ctx.params.idle_window_s
    ));
}

/// Opens the targets from worker processes, at most `per_process` each, all at once (the
/// connects in flight shared between them).
async fn open_in_workers(targets: &[Target], per_process: usize) -> Result<(IdlePool, Opened)> {
    let chunks: Vec<&[Target]> = targets.chunks(per_process.max(1)).collect();
    let concurrency = (CONNECT_CONCURRENCY / chunks.len().max(1)).max(16);
    let started = futures_util::future::join_all(chunks.into_iter().map(|chunk| async move {
        Worker::start(&Job {
            targets: chunk.to_vec(),
            concurrency,
        })
        .await
    }))
    .await;
    let mut pool = IdlePool::default();
    let mut all = Opened::default();
    for worker in started {
        let (worker, opened) = worker?;
        pool.adopt(worker);
        all.opened += opened.opened;
        for (kind, count) in opened.refused {
            *all.refused.entry(kind).or_default() += count;
        }
        if all.first_error.is_none() {
            all.first_error = opened.first_error;
        }
        all.connect_micros.extend(opened.connect_micros);
    }
    Ok((pool, all))
}
