//! Idle sockets held by child processes: one process may hold at most its hard open-file limit
//! of descriptors (20,000 on the benchmark machine, and even root cannot raise it), so past
//! [`crate::params::Params::sockets_per_process`] sockets the generator starts copies of itself
//! (`chat-bench --socket-worker`), each holding its share.
//!
//! The protocol over the child's stdin and stdout is JSON lines: the parent writes one [`Job`];
//! the child connects every socket and answers one [`Opened`]; then it writes a [`Status`] line
//! whenever the number of sockets closed under it changes, and exits when its stdin closes (the
//! parent dropped it) or it is killed.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::io::Write;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::socket::{self, IdlePool};

/// One socket to open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// The instance.
    pub addr: SocketAddr,
    /// The path with its `?token=`.
    pub path: String,
    /// The source address to connect from, if one is not enough.
    pub source: Option<Ipv4Addr>,
}

/// What the parent asks a worker to hold.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// The sockets.
    pub targets: Vec<Target>,
    /// Connects in flight at once.
    pub concurrency: usize,
}

/// What a worker opened.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Opened {
    /// Sockets open and ready.
    pub opened: usize,
    /// Refusals by kind.
    pub refused: BTreeMap<String, u64>,
    /// The first refusal's text.
    pub first_error: Option<String>,
    /// Each opened socket's connect time (TCP + upgrade + `ready`), in microseconds.
    pub connect_micros: Vec<u64>,
}

/// A worker's later report.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// Sockets closed by the server (or the network) since they opened.
    pub closed: usize,
}

/// The outcome of connecting one target.
pub struct Attempt {
    /// The socket, or why it was refused.
    pub result: std::result::Result<socket::Ws, socket::Refusal>,
    /// How long it took.
    pub took: Duration,
    /// The refusal's text.
    pub error: Option<String>,
}

/// Connects one target.
pub async fn attempt(target: &Target) -> Attempt {
    let t0 = Instant::now();
    match socket::connect(target.addr, &target.path, target.source).await {
        Ok((ws, _ready)) => Attempt {
            result: Ok(ws),
            took: t0.elapsed(),
            error: None,
        },
        Err(e) => Attempt {
            result: Err(e.kind),
            took: t0.elapsed(),
            error: Some(e.to_string()),
        },
    }
}

/// Opens every target, `concurrency` at a time, and holds each socket (reading it, so pings are
/// answered) as soon as it is ready: a socket left unread while the others connect would miss
/// the server's heartbeat.
pub async fn open_all(targets: &[Target], concurrency: usize) -> (IdlePool, Opened) {
    let mut attempts = stream::iter(targets)
        .map(attempt)
        .buffer_unordered(concurrency.max(1));
    let mut pool = IdlePool::default();
    let mut opened = Opened::default();
    while let Some(a) = attempts.next().await {
        match a.result {
            Ok(ws) => {
                opened.connect_micros.push(a.took.as_micros() as u64);
                pool.hold(ws);
            }
            Err(kind) => {
                *opened.refused.entry(format!("{kind:?}")).or_default() += 1;
                if opened.first_error.is_none() {
                    opened.first_error = a.error;
                }
            }
        }
    }
    opened.opened = pool.len();
    (pool, opened)
}

/// The child's side: `chat-bench --socket-worker`.
pub async fn serve() -> Result<()> {
    crate::machine::raise_nofile_limit();
    let mut lines = stdin_lines();
    let job: Job = serde_json::from_str(
        &lines
            .recv()
            .await
            .ok_or_else(|| anyhow!("no job on stdin"))?,
    )?;
    let (pool, opened) = open_all(&job.targets, job.concurrency).await;
    write_line(&opened)?;

    let mut reported = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            line = lines.recv() => {
                // The parent closed our stdin: done.
                if line.is_none() {
                    return Ok(());
                }
            }
            _ = tick.tick() => {
                let closed = pool.closed();
                if closed != reported {
                    reported = closed;
                    write_line(&Status { closed })?;
                }
            }
        }
    }
}

/// Stdin's lines, read on a blocking thread; the channel closes at end of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Writes one JSON line to stdout (a few bytes, rarely: a blocking write is fine).
fn write_line<T: Serialize>(value: &T) -> Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&line)?;
    out.flush()?;
    Ok(())
}

/// The parent's handle on one worker: it holds `held` sockets until dropped.
#[derive(Debug)]
pub struct Worker {
    /// Sockets the worker holds open.
    pub held: usize,
    /// Sockets closed under it, as it last reported.
    pub closed: Arc<AtomicUsize>,
    _child: Child,
    reader: JoinHandle<()>,
}

impl Worker {
    /// Starts a worker (this executable with `--socket-worker`), hands it the job and waits
    /// until it has connected every target.
    pub async fn start(job: &Job) -> Result<(Worker, Opened)> {
        let exe = std::env::current_exe().context("finding chat-bench's own executable")?;
        let mut child = Command::new(exe)
            .arg("--socket-worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting a socket worker")?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("socket worker has no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("socket worker has no stdout"))?;
        let mut line = serde_json::to_vec(job)?;
        line.push(b'\n');
        stdin.write_all(&line).await?;
        stdin.flush().await?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow!("the socket worker exited before reporting"))?;
        let opened: Opened = serde_json::from_str(&first)?;
        let closed = Arc::new(AtomicUsize::new(0));
        let seen = closed.clone();
        let reader = tokio::spawn(async move {
            // Keep the worker's stdin open for as long as we read it.
            let _stdin = stdin;
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(status) = serde_json::from_str::<Status>(&line) {
                    seen.store(status.closed, Ordering::Relaxed);
                }
            }
        });
        Ok((
            Worker {
                held: opened.opened,
                closed,
                _child: child,
                reader,
            },
            opened,
        ))
    }

    /// Sockets closed under it so far.
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
