//! Blocking connections of the synchronous ports (log-in throttle, presence): to one Redis
//! server or to a Redis Cluster, a few idle ones kept for reuse, every one with timeouts.
//!
//! Commands go out as a [`Batch`], one round trip: a pipeline on one server; on a cluster a
//! cluster pipeline, which sends each command to the master owning its key's slot (and follows
//! `MOVED` after a failover), so the callers' hash-tagged keys keep multi-key commands and
//! scripts within one slot.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chat_domain::{DomainError, DomainResult};
use redis::cluster::{ClusterClient, ClusterConnection, ClusterPipeline};
use redis::{Client, Cmd, Connection, FromRedisValue, Pipeline, RedisResult};

use crate::target::{cluster_client, RedisTarget};

/// One blocking connection, to a server or to a cluster.
pub(crate) enum Conn {
    /// To one server.
    Single(Connection),
    /// To a cluster (a connection per master, made as needed).
    Cluster(ClusterConnection),
}

/// Commands sent together in one round trip (see the module docs).
#[derive(Default)]
pub(crate) struct Batch {
    commands: Vec<(Cmd, bool)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Adds a command whose answer is part of the result.
    pub fn add(&mut self, cmd: Cmd) -> &mut Self {
        self.commands.push((cmd, false));
        self
    }

    /// Adds a command whose answer is left out of the result.
    pub fn add_ignored(&mut self, cmd: Cmd) -> &mut Self {
        self.commands.push((cmd, true));
        self
    }

    /// Sends the batch; the answers of the commands not ignored, in order.
    pub fn query<T: FromRedisValue>(self, conn: &mut Conn) -> RedisResult<T> {
        match conn {
            Conn::Single(conn) => {
                let mut pipe = Pipeline::with_capacity(self.commands.len());
                for (cmd, ignored) in self.commands {
                    pipe.add_command(cmd);
                    if ignored {
                        pipe.ignore();
                    }
                }
                pipe.query(conn)
            }
            Conn::Cluster(conn) => {
                let mut pipe = ClusterPipeline::with_capacity(self.commands.len());
                for (cmd, ignored) in self.commands {
                    pipe.add_command(cmd);
                    if ignored {
                        pipe.ignore();
                    }
                }
                pipe.query(conn)
            }
        }
    }
}

enum Opener {
    Single(Client),
    Cluster(ClusterClient),
}

/// Where connections come from, and the idle ones.
pub(crate) struct Link {
    opener: Opener,
    timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<Conn>>,
}

impl Link {
    /// Connections to `target`, each connect and command bounded by `timeout`, at most
    /// `max_idle` kept. Connects to nothing yet; fails only on a bad URL.
    pub fn new(target: &RedisTarget, timeout: Duration, max_idle: usize) -> DomainResult<Self> {
        let opener = match target {
            RedisTarget::Single(url) => Opener::Single(
                Client::open(url.as_str())
                    .map_err(|e| DomainError::unavailable(format!("redis: {e}")))?,
            ),
            RedisTarget::Cluster(nodes) => Opener::Cluster(cluster_client(nodes, timeout)?),
        };
        Ok(Link {
            opener,
            timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Whether this is a cluster (keys must then carry hash tags).
    pub fn is_cluster(&self) -> bool {
        matches!(self.opener, Opener::Cluster(_))
    }

    /// Checks that Redis answers (every master, on a cluster).
    pub fn ping(&self) -> RedisResult<()> {
        self.with_connection(|conn| match conn {
            Conn::Single(conn) => redis::cmd("PING").query::<String>(conn).map(|_| ()),
            Conn::Cluster(conn) => redis::cmd("PING").query::<redis::Value>(conn).map(|_| ()),
        })
    }

    /// Runs `op` on an idle connection or a new one. On an error the connection is dropped:
    /// its state (a half-read reply) is unknown.
    pub fn with_connection<T>(
        &self,
        op: impl FnOnce(&mut Conn) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.open()?,
        };
        let value = op(&mut conn)?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
        Ok(value)
    }

    fn open(&self) -> RedisResult<Conn> {
        match &self.opener {
            Opener::Single(client) => {
                let conn = client.get_connection_with_timeout(self.timeout)?;
                conn.set_read_timeout(Some(self.timeout))?;
                conn.set_write_timeout(Some(self.timeout))?;
                Ok(Conn::Single(conn))
            }
            // The builder gave the cluster client its connect, read and write timeouts.
            Opener::Cluster(client) => Ok(Conn::Cluster(client.get_connection()?)),
        }
    }
}
