//! WebSocket clients: connecting (optionally from a chosen 127.0.0.x source address), waiting
//! for the server's `ready`, and holding idle sockets open.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};

use crate::socket_worker::Worker;

/// A client socket.
pub type Ws = WebSocketStream<TcpStream>;

/// Sockets one source address can hold towards one server before ephemeral ports run out
/// (Linux hands out 32768-60999 by default: ~28k; keep a margin).
pub const SOCKETS_PER_SOURCE: usize = 20_000;

/// What the server said once the socket was authenticated.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    /// The thread's latest sequence number at connect time.
    pub last_seq: i64,
    /// Who the server thinks we are.
    pub user_id: i64,
}

/// Why a socket could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// TCP connect failed (refused, no ports, no file descriptors).
    Tcp,
    /// The HTTP upgrade was answered with an error status or failed.
    Handshake,
    /// The socket opened but no `ready` came (error frame, close or timeout).
    NotReady,
}

/// A failed connect, with its kind and text.
#[derive(Debug)]
pub struct ConnectError {
    /// Which stage failed.
    pub kind: Refusal,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {:#}", self.kind, self.error)
    }
}

/// The source address for socket `i` of `total`: the default while one address is enough, then
/// round-robin over 127.0.0.1, 127.0.0.2, ...
pub fn source_for(i: usize, total: usize) -> Option<Ipv4Addr> {
    if total <= SOCKETS_PER_SOURCE {
        return None;
    }
    let spread = total.div_ceil(SOCKETS_PER_SOURCE);
    let last = u8::try_from(1 + i % spread).unwrap_or(u8::MAX);
    Some(Ipv4Addr::new(127, 0, 0, last))
}

/// Opens `ws://addr{path}` (path carries `?token=`) and waits up to 10 s for `ready`.
pub async fn connect(
    addr: SocketAddr,
    path: &str,
    source: Option<Ipv4Addr>,
) -> std::result::Result<(Ws, Ready), ConnectError> {
    let tcp = |e: std::io::Error| ConnectError {
        kind: Refusal::Tcp,
        error: e.into(),
    };
    let socket = TcpSocket::new_v4().map_err(tcp)?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::from((ip, 0))).map_err(tcp)?;
    }
    let stream = socket.connect(addr).await.map_err(tcp)?;
    stream.set_nodelay(true).map_err(tcp)?;
    let (mut ws, _) = client_async(format!("ws://{addr}{path}"), stream)
        .await
        .map_err(|e| ConnectError {
            kind: Refusal::Handshake,
            error: e.into(),
        })?;
    let ready = tokio::time::timeout(Duration::from_secs(10), wait_ready(&mut ws))
        .await
        .map_err(|_| anyhow!("no ready within 10 s"))
        .and_then(|r| r)
        .map_err(|error| ConnectError {
            kind: Refusal::NotReady,
            error,
        })?;
    Ok((ws, ready))
}

async fn wait_ready(ws: &mut Ws) -> Result<Ready> {
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        let v: Value = serde_json::from_str(&text)?;
        match v["type"].as_str() {
            Some("ready") => {
                return Ok(Ready {
                    last_seq: v["last_seq"].as_i64().unwrap_or(0),
                    user_id: v["user_id"].as_i64().unwrap_or(0),
                })
            }
            Some("error") => bail!("server error frame: {text}"),
            _ => {}
        }
    }
    bail!("closed before ready")
}

/// Sockets held open and idle, each read by its own task (which answers pings), and the
/// socket workers (child processes) holding more of them.
#[derive(Debug, Default)]
pub struct IdlePool {
    tasks: Vec<JoinHandle<()>>,
    closed: Arc<AtomicUsize>,
    frames: Arc<AtomicUsize>,
    workers: Vec<Worker>,
}

impl IdlePool {
    /// Keeps a socket open until the pool is dropped.
    pub fn hold(&mut self, mut ws: Ws) {
        let closed = self.closed.clone();
        let frames = self.frames.clone();
        self.tasks.push(tokio::spawn(async move {
            while let Some(frame) = ws.next().await {
                if frame.is_err() {
                    break;
                }
                frames.fetch_add(1, Ordering::Relaxed);
            }
            closed.fetch_add(1, Ordering::Relaxed);
        }));
    }

    /// Keeps a socket worker (and the sockets it holds) until the pool is dropped.
    pub fn adopt(&mut self, worker: Worker) {
        self.workers.push(worker);
    }

    /// Sockets held, here and by the workers.
    pub fn len(&self) -> usize {
        self.tasks.len() + self.workers.iter().map(|w| w.held).sum::<usize>()
    }

    /// Whether no socket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Socket worker processes holding some of the sockets.
    pub fn worker_processes(&self) -> usize {
        self.workers.len()
    }

    /// Sockets the server (or the network) closed since they were opened.
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed) + self.workers.iter().map(Worker::closed).sum::<usize>()
    }
}

impl Drop for IdlePool {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_source_address_until_ports_run_short_then_round_robin() {
        assert_eq!(source_for(5, 10_000), None);
        assert_eq!(source_for(0, 50_000), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(source_for(1, 50_000), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(source_for(2, 50_000), Some(Ipv4Addr::new(127, 0, 0, 3)));
        assert_eq!(source_for(3, 50_000), Some(Ipv4Addr::new(127, 0, 0, 1)));
    }
}
