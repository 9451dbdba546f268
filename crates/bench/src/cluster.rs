//! Starts and stops what a run needs: a fresh Postgres database, a Redis channel prefix, and the
//! `chat-server` instances (or one embedded instance on a temporary SQLite file). Everything is
//! torn down on drop, so an error or Ctrl-C never leaves a server behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

/// Which store and bus the servers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Postgres + Redis, several instances.
    Postgres,
    /// SQLite file + in-process bus, one instance.
    Embedded,
}

/// How to start the servers.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Store and bus.
    pub backend: Backend,
    /// How many instances (1 for embedded).
    pub instances: usize,
    /// The `chat-server` binary.
    pub server_bin: PathBuf,
    /// A Postgres URL whose database may create others.
    pub database_url: String,
    /// The Redis URL.
    pub redis_url: String,
    /// A Redis Cluster's node URLs, comma-separated (wins over `redis_url` when not empty).
    pub redis_cluster_urls: String,
    /// Where server logs go.
    pub log_dir: PathBuf,
    /// Open-file limit for the servers.
    pub nofile: Option<u64>,
    /// Keep the database afterwards (for looking at it).
    pub keep_database: bool,
}

/// One running server.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: std::net::SocketAddr,
    /// Its process id (for /proc).
    pub pid: u32,
    child: Child,
}

/// The servers and what they share.
#[derive(Debug)]
pub struct Cluster {
    spec: ClusterSpec,
    /// The running instances.
    pub instances: Vec<Instance>,
    /// The fresh database (Postgres backend).
    pub database: Option<Database>,
    /// The temporary SQLite file (embedded backend).
    sqlite_dir: Option<PathBuf>,
    /// The Redis channel prefix of this run.
    pub redis_prefix: String,
    /// The bootstrap admin's username and password.
    pub admin: (String, String),
    starts: usize,
    /// The bcrypt cost of the last start (a respawned instance runs with it too).
    bcrypt_cost: u32,
}

/// A database created for one run and dropped after it.
#[derive(Debug)]
pub struct Database {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    admin_url: String,
    keep: bool,
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("keeping database {}", self.name);
            return;
        }
        let _ = std::process::Command::new("psql")
            .args([
                &self.admin_url,
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Cluster {
    /// Creates the shared state (database or SQLite directory, Redis prefix); starts nothing.
    pub async fn prepare(spec: ClusterSpec) -> Result<Self> {
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let short = &run_id[..12];
        std::fs::create_dir_all(&spec.log_dir)?;
        let (database, sqlite_dir) = match spec.backend {
            Backend::Postgres => {
                let name = format!("chat_bench_{short}");
                psql(&spec.database_url, &format!("CREATE DATABASE \"{name}\""))
                    .await
                    .context("creating the benchmark database (is Postgres up?)")?;
                let url = without_tls_on_loopback(&replace_database(&spec.database_url, &name));
                (
                    Some(Database {
                        name,
                        url,
                        admin_url: spec.database_url.clone(),
                        keep: spec.keep_database,
                    }),
                    None,
                )
            }
            Backend::Embedded => {
                let dir = std::env::temp_dir().join(format!("chat-bench-{short}"));
                std::fs::create_dir_all(&dir)?;
                (None, Some(dir))
            }
        };
        Ok(Cluster {
            spec,
            instances: Vec::new(),
            database,
            sqlite_dir,
            redis_prefix: format!("bench-{short}"),
            admin: (
                format!("bench-admin-{}", &run_id[..6]),
                format!("pw-{run_id}"),
            ),
            starts: 0,
            bcrypt_cost: 4,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.spec.backend
    }

    /// Starts the instances with this bcrypt cost and waits until each answers /healthz.
    pub async fn start(&mut self, bcrypt_cost: u32) -> Result<()> {
        self.bcrypt_cost = bcrypt_cost;
        let n = match self.spec.backend {
            Backend::Embedded => 1,
            Backend::Postgres => self.spec.instances.max(1),
        };
        for i in 0..n {
            let instance = self.spawn(i, bcrypt_cost).await?;
            self.instances.push(instance);
            // Start the rest only once the first has run the migrations.
            if i == 0 {
                self.wait_healthy(0).await?;
            }
        }
        for i in 1..n {
            self.wait_healthy(i).await?;
        }
        self.starts += 1;
        Ok(())
    }

    /// Stops every instance (the database and files stay).
    pub async fn stop(&mut self) {
        for mut instance in self.instances.drain(..) {
            let _ = instance.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), instance.child.wait()).await;
        }
    }

    /// The environment that configures an instance (the server's `CHAT__SECTION__KEY` settings;
    /// see `config/default.toml`).
    fn server_env(&self, port: u16, bcrypt_cost: u32) -> Vec<(String, String)> {
        let mut env = vec![
            ("CHAT__SERVER__HOST".into(), "127.0.0.1".into()),
            ("CHAT__SERVER__PORT".into(), port.to_string()),
            ("CHAT__AUTH__BCRYPT_COST".into(), bcrypt_cost.to_string()),
            (
                "CHAT__AUTH__ALLOW_INSECURE_COST".into(),
                (bcrypt_cost < 10).to_string(),
            ),
            ("CHAT__ADMIN__USERNAME".into(), self.admin.0.clone()),
            ("CHAT__ADMIN__PASSWORD".into(), self.admin.1.clone()),
            ("CHAT__LOG__LEVEL".into(), "warn".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        match (&self.database, &self.sqlite_dir) {
            (Some(db), _) => {
                env.push(("CHAT__DATABASE__URL".into(), db.url.clone()));
                env.push(("CHAT__REDIS__URL".into(), self.spec.redis_url.clone()));
                env.push((
                    "CHAT__REDIS__CLUSTER_URLS".into(),
                    self.spec.redis_cluster_urls.clone(),
                ));
                env.push((
                    "CHAT__REDIS__CHANNEL_PREFIX".into(),
                    self.redis_prefix.clone(),
                ));
            }
            (None, Some(dir)) => {
                env.push(("CHAT__DATABASE__URL".into(), String::new()));
                env.push((
                    "CHAT__DATABASE__SQLITE_PATH".into(),
                    dir.join("bench.db").display().to_string(),
                ));
                env.push(("CHAT__REDIS__URL".into(), String::new()));
            }
            (None, None) => {}
        }
        env
    }

    /// Kills instance `index` with SIGKILL (a crash) and waits until it is gone.
    pub async fn kill(&mut self, index: usize) -> Result<()> {
        let instance = self
            .instances
            .get_mut(index)
            .with_context(|| format!("no instance {index}"))?;
        instance.child.start_kill()?;
        instance.child.wait().await?;
        Ok(())
    }

    /// Sends SIGTERM to instance `index` (a graceful shutdown) and waits up to `limit` for it to
    /// exit; returns how long it took and its exit status (`None` if it had to be killed).
    pub async fn terminate(
        &mut self,
        index: usize,
        limit: Duration,
    ) -> Result<(Duration, Option<std::process::ExitStatus>)> {
        let instance = self
            .instances
            .get_mut(index)
            .with_context(|| format!("no instance {index}"))?;
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &instance.pid.to_string()])
            .status()
            .await?;
        if !status.success() {
            bail!("kill -TERM {} failed", instance.pid);
        }
        match tokio::time::timeout(limit, instance.child.wait()).await {
            Ok(exit) => Ok((started.elapsed(), Some(exit?))),
            Err(_) => {
                instance.child.start_kill()?;
                instance.child.wait().await?;
                Ok((started.elapsed(), None))
            }
        }
    }

    /// Starts instance `index` again on its port (after [`Cluster::kill`] or
    /// [`Cluster::terminate`]) and waits until it answers /healthz.
    pub async fn respawn(&mut self, index: usize) -> Result<()> {
        let port = self
            .instances
            .get(index)
            .with_context(|| format!("no instance {index}"))?
            .addr
            .port();
        self.starts += 1;
        let instance = self.spawn_on(index, port, self.bcrypt_cost).await?;
        if let Some(slot) = self.instances.get_mut(index) {
            *slot = instance;
        }
        self.wait_healthy(index).await
    }

    async fn spawn(&self, index: usize, bcrypt_cost: u32) -> Result<Instance> {
        self.spawn_on(index, free_port()?, bcrypt_cost).await
    }

    async fn spawn_on(&self, index: usize, port: u16, bcrypt_cost: u32) -> Result<Instance> {
        let log_path = self
            .spec
            .log_dir
            .join(format!("server-{index}-start{}.log", self.starts));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = match self.spec.nofile {
            // prlimit execs the server, so the child's pid is the server's.
            Some(n) if which("prlimit") => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}"))
                    .arg("--")
                    .arg(&self.spec.server_bin);
                c
            }
            _ => Command::new(&self.spec.server_bin),
        };
        cmd.arg("serve")
            .envs(self.server_env(port, bcrypt_cost))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.spec.server_bin.display()))?;
        let pid = child.id().context("server exited at once")?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        Ok(Instance {
            base: format!("http://{addr}"),
            addr,
            pid,
            child,
        })
    }

    async fn wait_healthy(&mut self, index: usize) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let log = self
            .spec
            .log_dir
            .join(format!("server-{index}-start{}.log", self.starts));
        loop {
            let Some(instance) = self.instances.get_mut(index) else {
                bail!("no instance {index}");
            };
            if let Ok(Some(status)) = instance.child.try_wait() {
                bail!(
                    "server {index} exited with {status}; its log ({}):\n{}",
                    log.display(),
                    tail(&log)
                );
            }
            let url = format!("{}/healthz", instance.base);
            if let Ok(resp) = http.get(&url).send().await {
                if resp.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "server {index} not healthy after 120 s; log:\n{}",
                    tail(&log)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs SQL against the run's database (Postgres backend only).
    pub async fn psql(&self, sql: &str) -> Result<String> {
        let db = self
            .database
            .as_ref()
            .context("this needs the Postgres backend")?;
        psql(&db.url, sql).await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The instances are killed as their `Child` handles drop (kill_on_drop).
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs SQL with `psql` and returns its unaligned output.
pub async fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .await
        .context("running psql")?;
    if !out.status.success() {
        bail!(
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The servers' URL with `sslmode=disable` added when Postgres is on this machine and the URL
/// names no `sslmode`: libpq would otherwise negotiate TLS with a server that offers it
/// (Debian's does), and TLS over loopback protects nothing while it costs every statement an
/// encryption on both ends (docs/BENCHMARKS.md measures it). An explicit `sslmode` is kept.
pub fn without_tls_on_loopback(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(bracketed) = host_port.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback || url.contains("sslmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Skip backtrace frames: the error is what matters.
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_tls_off_only_for_a_loopback_database_that_names_no_sslmode() {
        assert_eq!(
            without_tls_on_loopback("postgres://postgres@127.0.0.1:5432/b1"),
            "postgres://postgres@127.0.0.1:5432/b1?sslmode=disable"
        );
        assert_eq!(
            without_tls_on_loopback("postgres://u@localhost/b1?application_name=x"),
            "postgres://u@localhost/b1?application_name=x&sslmode=disable"
        );
        assert_eq!(
            without_tls_on_loopback("postgres://u@[::1]:5432/b1"),
            "postgres://u@[::1]:5432/b1?sslmode=disable"
        );
        assert_eq!(
            without_tls_on_loopback("postgres://u@127.0.0.1/b1?sslmode=require"),
            "postgres://u@127.0.0.1/b1?sslmode=require"
        );
        assert_eq!(
            without_tls_on_loopback("postgres://u@db.internal:5432/b1"),
            "postgres://u@db.internal:5432/b1"
        );
    }

    #[test]
    fn replaces_the_database_in_a_url() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "b2"),
            "postgres://u@h/b2?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:1", "b3"),
            "postgres://u@h:1/b3"
        );
    }
}
