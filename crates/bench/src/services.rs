//! A private Postgres cluster and a private Redis server for the `chaos` scenario, which stops
//! and starts them on a schedule. They live in a temporary directory on their own ports, so a
//! chaos run never touches the machine's own Postgres and Redis (nor the tests or other runs
//! using them), and everything is stopped and removed on drop, whatever happened.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

/// Postgres and Redis of one chaos run.
#[derive(Debug)]
pub struct PrivateServices {
    dir: PathBuf,
    /// The Postgres cluster.
    pub postgres: PrivatePostgres,
    /// The Redis server.
    pub redis: PrivateRedis,
}

impl PrivateServices {
    /// Creates and starts both in a new temporary directory.
    pub async fn start() -> Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("chat-chaos-{}", &id[..12]));
        std::fs::create_dir_all(&dir)?;
        let postgres = PrivatePostgres::init(&dir).await?;
        let mut redis = PrivateRedis {
            port: free_port()?,
            log: dir.join("redis.log"),
            child: None,
        };
        redis.start().await?;
        Ok(PrivateServices {
            dir,
            postgres,
            redis,
        })
    }
}

impl Drop for PrivateServices {
    fn drop(&mut self) {
        self.postgres.stop_now();
        // The Redis child is killed as its handle drops (kill_on_drop).
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Postgres cluster of our own (initdb into a temporary directory).
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PrivatePostgres {
    async fn init(dir: &Path) -> Result<Self> {
        let bin = postgres_bin_dir()?;
        let data = dir.join("pg");
        let socket_dir = dir.join("pg-socket");
        for d in [&data, &socket_dir] {
            std::fs::create_dir_all(d)?;
        }
        // Postgres refuses to run as root: as root, the cluster belongs to the postgres user.
        if is_root() {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .context("chown for the private Postgres")?;
            if !status.success() {
                bail!("chown -R postgres {} failed", dir.display());
            }
        }
        let pg = PrivatePostgres {
            log: dir.join("postgres.log"),
            port: free_port()?,
            bin,
            data,
            socket_dir,
        };
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&pg.data)
            .output()
            .await
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        pg.start().await?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts it and waits until it accepts connections.
    pub async fn start(&self) -> Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.socket_dir.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .await
            .context("running pg_ctl start")?;
        if !out.status.success() {
            bail!(
                "pg_ctl start failed: {} {}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Stops it as a restart would (`pg_ctl stop -m fast`: sessions are ended, new connections
    /// refused) and waits until it is down.
    pub async fn stop(&self) -> Result<()> {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .await
            .context("running pg_ctl stop")?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Whether it accepts connections (a TCP connect and `pg_isready`).
    pub async fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    fn stop_now(&self) {
        let mut cmd = std::process::Command::new(self.bin.join("pg_ctl"));
        if is_root() {
            cmd = std::process::Command::new("runuser");
            cmd.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
        }
        let _ = cmd
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdin(Stdio::null());
        cmd
    }
}

/// A Redis server of our own, keeping nothing on disk.
#[derive(Debug)]
pub struct PrivateRedis {
    /// Its port on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it and waits until it answers.
    pub async fn start(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ready().await {
            if Instant::now() > deadline {
                bail!("the private Redis did not answer within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Kills it (as a crash or a restart would: every connection drops) and waits for the exit.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Whether it answers PING.
    pub async fn ready(&self) -> bool {
        let Ok(Ok(mut stream)) = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(("127.0.0.1", self.port)),
        )
        .await
        else {
            return false;
        };
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        matches!(
            tokio::time::timeout(Duration::from_millis(500), stream.read_exact(&mut buf)).await,
            Ok(Ok(_))
        ) && &buf == b"+PONG\r\n"
    }
}

fn postgres_bin_dir() -> Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("no Postgres server binaries under {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("no initdb under {}", root.display()))
}

fn is_root() -> bool {
    // /proc/self/status: "Uid:\treal\teffective\t...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
