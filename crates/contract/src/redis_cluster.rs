//! A real three-master Redis Cluster on loopback ports, for the tests of the cluster mode.
//!
//! [`RedisCluster::start`] starts three `redis-server --cluster-enabled yes` (no persistence,
//! each with its node config in a fresh temporary directory) on free ports and joins them with
//! `redis-cli --cluster create ... --cluster-replicas 0`, then waits until every node reports
//! `cluster_state:ok`. Ports are picked at random among those free (a port and its cluster bus
//! port, +10000), and a start that fails because a port was taken meanwhile (a stale run, another
//! test binary) is retried on other ports. When the cluster cannot be started the call panics:
//! the tests that need it fail, never skip.
//!
//! [`RedisCluster::shared`] is one cluster per test binary. Its servers are stopped when the test
//! process ends (a watchdog shell waits for the process, then shuts them down and removes the
//! directory); a cluster from [`RedisCluster::start`] is also stopped when dropped.
//! [`RedisCluster::restart_master`] kills a master and starts it again on its port with its node
//! config, as after a crash.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the cluster may take to start, or to recover after a restart.
const PATIENCE: Duration = Duration::from_secs(30);
/// Masters in the cluster.
const MASTERS: usize = 3;

/// A running Redis Cluster of three masters (see the module docs).
#[derive(Debug)]
pub struct RedisCluster {
    dir: PathBuf,
    ports: Vec<u16>,
    servers: Vec<Option<Child>>,
}

impl RedisCluster {
    /// The test binary's cluster, started on first use.
    pub fn shared() -> &'static RedisCluster {
        static SHARED: OnceLock<RedisCluster> = OnceLock::new();
        SHARED.get_or_init(RedisCluster::start)
    }

    /// Starts a new cluster of three masters; panics if it cannot.
    pub fn start() -> RedisCluster {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start() {
                Ok(cluster) => return cluster,
                Err(err) => last = err,
            }
        }
        panic!("could not start a Redis Cluster (redis-server and redis-cli 7 must be installed): {last}");
    }

    fn try_start() -> Result<RedisCluster, String> {
        let dir = std::env::temp_dir().join(format!("chat-redis-cluster-{}", random()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let ports = free_ports(MASTERS)?;
        let mut cluster = RedisCluster {
            dir,
            ports,
            servers: Vec::new(),
        };
        cluster.watch_process();
        for i in 0..MASTERS {
            let server = cluster.spawn_server(i)?;
            cluster.servers.push(Some(server));
        }
        for &port in &cluster.ports {
            wait_until(|| redis_cli(port, &["PING"]).is_ok_and(|o| o.trim() == "PONG"))
                .map_err(|_| format!("redis-server on port {port} did not start"))?;
        }
        let mut create = vec!["--cluster".to_owned(), "create".to_owned()];
        create.extend(cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"].map(str::to_owned));
        let output = Command::new("redis-cli")
            .args(&create)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        cluster.wait_healthy()?;
        Ok(cluster)
    }

    /// The URL of each master, `redis://127.0.0.1:<port>`.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// The masters' ports.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The URLs as `redis.cluster_urls` takes them from the environment (comma-separated).
    pub fn urls_env(&self) -> String {
        self.urls().join(",")
    }

    /// Kills master `index` (SIGKILL, as a crash), starts it again on the same port with its
    /// node config, and waits until the cluster reports `cluster_state:ok` on every node again.
    pub fn restart_master(&mut self, index: usize) {
        self.kill_master(index);
        self.start_master(index);
    }

    /// Kills master `index` (SIGKILL, as a crash) and waits until its port no longer answers.
    pub fn kill_master(&mut self, index: usize) {
        if let Some(mut server) = self.servers[index].take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        let port = self.ports[index];
        wait_until(|| redis_cli(port, &["PING"]).is_err())
            .expect("the killed master still answers");
    }

    /// Starts master `index` again on its port with its node config (after [`Self::kill_master`])
    /// and waits until every node reports `cluster_state:ok`.
    pub fn start_master(&mut self, index: usize) {
        let server = self.spawn_server(index).expect("restarting a master");
        self.servers[index] = Some(server);
        self.wait_healthy()
            .expect("the cluster did not recover after the restart");
    }

    /// The index (into [`Self::ports`]) of the master owning the slot of `name` (a key or a
    /// shard channel), from `CLUSTER KEYSLOT` and each node's own line of `CLUSTER NODES`.
    pub fn owner_of(&self, name: &str) -> usize {
        let slot: u16 = redis_cli(self.ports[0], &["CLUSTER", "KEYSLOT", name])
            .expect("CLUSTER KEYSLOT")
            .trim()
            .parse()
            .expect("a slot number");
        for (index, &port) in self.ports.iter().enumerate() {
            let nodes = redis_cli(port, &["CLUSTER", "NODES"]).unwrap_or_default();
            let Some(mine) = nodes.lines().find(|l| l.contains("myself")) else {
                continue;
            };
            let owns = mine.split_whitespace().skip(8).any(|range| {
                let mut ends = range.split('-').map(|n| n.parse::<u16>().ok());
                match (ends.next().flatten(), ends.next()) {
                    (Some(start), Some(Some(end))) => (start..=end).contains(&slot),
                    (Some(only), None) => only == slot,
                    _ => false,
                }
            });
            if owns {
                return index;
            }
        }
        panic!("no master owns slot {slot} of {name}");
    }

    /// How many clients are subscribed to `channel` (`PUBSUB SHARDNUMSUB`) on the master owning it.
    pub fn shard_subscribers(&self, channel: &str) -> i64 {
        for &port in &self.ports {
            if let Ok(out) = redis_cli(port, &["PUBSUB", "SHARDNUMSUB", channel]) {
                let mut lines = out.lines();
                if let (Some(_), Some(n)) = (lines.next(), lines.next()) {
                    if let Ok(n) = n.trim().parse::<i64>() {
                        if n > 0 {
                            return n;
                        }
                    }
                }
            }
        }
        0
    }

    fn spawn_server(&self, index: usize) -> Result<Child, String> {
        let port = self.ports[index];
        let port_text = port.to_string();
        let config = self.dir.join(format!("nodes-{port}.conf"));
        let log = self.dir.join(format!("redis-{port}.log"));
        Command::new("redis-server")
            .args(["--port", &port_text, "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file"])
            .arg(&config)
            .args(["--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))
    }

    /// Waits until every node says `cluster_state:ok` and sees all masters.
    fn wait_healthy(&self) -> Result<(), String> {
        wait_until(|| {
            self.ports.iter().all(|&port| {
                redis_cli(port, &["CLUSTER", "INFO"]).is_ok_and(|info| {
                    info.contains("cluster_state:ok")
                        && info.contains(&format!("cluster_known_nodes:{MASTERS}"))
                        && info.contains("cluster_slots_ok:16384")
                })
            })
        })
        .map_err(|_| {
            format!(
                "cluster not ok within {PATIENCE:?} (logs in {})",
                self.dir.display()
            )
        })
    }

    /// A shell that outlives nothing: when this process ends, it shuts the servers down and
    /// removes the directory.
    fn watch_process(&self) {
        let shutdown: Vec<String> = self
            .ports
            .iter()
            .map(|p| format!("redis-cli -p {p} shutdown nosave >/dev/null 2>&1"))
            .collect();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {shutdown}; sleep 1; rm -rf '{dir}'",
            pid = std::process::id(),
            shutdown = shutdown.join("; "),
            dir = self.dir.display(),
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// The directory holding the node configs and logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for server in self.servers.iter_mut().flatten() {
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn redis_cli(port: u16, args: &[&str]) -> Result<String, String> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() && !text.contains("Could not connect") {
        Ok(text)
    } else {
        Err(text)
    }
}

fn wait_until(mut ready: impl FnMut() -> bool) -> Result<(), ()> {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        if Instant::now() > deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// `count` ports in 20000..30000 that are free, each with its cluster bus port (+10000) free.
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let mut ports = Vec::with_capacity(count);
    for _ in 0..1000 {
        let port = 20_000 + u16::try_from(random() % 10_000).unwrap_or(0);
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !ports.contains(&port) && free(port) && free(port + 10_000) {
            ports.push(port);
            if ports.len() == count {
                return Ok(ports);
            }
        }
    }
    Err("no free ports".to_owned())
}
