//! The harness of the live tests: real `chat-server` processes on free ports, sharing a fresh
//! Postgres schema and a Redis channel prefix; REST helpers; a WebSocket client that reads
//! JSON frames.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that must happen.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "correct-horse-1";

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// What a group of instances shares: a fresh Postgres schema and a Redis channel prefix.
#[derive(Debug, Clone)]
pub struct Shared {
    pub database_url: String,
    pub redis_url: String,
    /// The Redis Cluster's node URLs, comma-separated (`redis.cluster_urls`), when the
    /// instances use the test binary's cluster instead of `redis_url`.
    pub redis_cluster_urls: Option<String>,
    pub channel_prefix: String,
    /// Dropped (with its tables) when the test ends, after its instances.
    _schema: std::sync::Arc<chat_postgres::testing::FreshSchema>,
}

impl Shared {
    /// A fresh schema on the test Postgres and a unique prefix on the shared Redis.
    pub fn fresh() -> Self {
        Self::fresh_with_redis(&redis_url())
    }

    /// A fresh schema and a unique prefix on the given Redis.
    pub fn fresh_with_redis(redis_url: &str) -> Self {
        let schema = chat_postgres::testing::FreshSchema::create()
            .expect("Postgres must be running for the tests");
        Shared {
            database_url: schema.url().to_owned(),
            _schema: std::sync::Arc::new(schema),
            redis_url: redis_url.to_owned(),
            redis_cluster_urls: None,
            channel_prefix: unique("live-test-"),
        }
    }

    /// A fresh schema and a unique prefix on the three-master Redis Cluster this test binary
    /// starts (once; the test fails if it cannot).
    pub fn fresh_on_cluster() -> Self {
        let cluster = chat_contract::redis_cluster::RedisCluster::shared();
        Self::fresh_on_cluster_nodes(&cluster.urls_env())
    }

    /// A fresh schema and a unique prefix on the Redis Cluster of these (comma-separated) nodes.
    pub fn fresh_on_cluster_nodes(nodes: &str) -> Self {
        Shared {
            redis_cluster_urls: Some(nodes.to_owned()),
            ..Self::fresh()
        }
    }

    /// The same schema and prefix, reached through 127.0.0.1:`port` (a proxy the test runs
    /// there, or nothing yet); also returns the `host:port` the URL named before.
    pub fn through_port(&self, port: u16) -> (Self, String) {
        let url = &self.database_url;
        let start = url.find("://").map_or(0, |i| i + 3);
        let end = url[start..].find('/').map_or(url.len(), |i| start + i);
        let host_start = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
        let upstream = url[host_start..end].to_owned();
        let mut shared = self.clone();
        shared.database_url = format!("{}127.0.0.1:{port}{}", &url[..host_start], &url[end..]);
        (shared, upstream)
    }
}

/// A running `chat-server` process, killed on drop.
pub struct Instance {
    pub port: u16,
    pub http: reqwest::Client,
    child: Child,
    pub log: PathBuf,
}

impl Instance {
    /// Starts the real binary on a free port and waits until it answers.
    pub async fn start(shared: &Shared, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("chat-live-{}.log", unique("")));
        let log_file = std::fs::File::create(&log).unwrap();
        let config_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-server"));
        cmd.env("CHAT_CONFIG_DIR", &config_dir)
            .env("CHAT__SERVER__HOST", "127.0.0.1")
            .env("CHAT__SERVER__PORT", port.to_string())
            .env("CHAT__SERVER__WORKERS", "2")
            .env("CHAT__DATABASE__URL", &shared.database_url)
            .env("CHAT__DATABASE__POOL_SIZE", "4")
            .env("CHAT__REDIS__URL", &shared.redis_url)
            .env("CHAT__REDIS__CHANNEL_PREFIX", &shared.channel_prefix)
            .env("CHAT__AUTH__BCRYPT_COST", "4")
            .env("CHAT__AUTH__ALLOW_INSECURE_COST", "true")
            .env("CHAT__ADMIN__USERNAME", ADMIN_USER)
            .env("CHAT__ADMIN__PASSWORD", ADMIN_PASSWORD)
            .env("CHAT__WS__AUTH_TIMEOUT_MS", "1500")
            .env(
                "CHAT__LOG__LEVEL",
                "info,chat_server=debug,chat_redis=debug",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file));
        if let Some(nodes) = &shared.redis_cluster_urls {
            cmd.env("CHAT__REDIS__CLUSTER_URLS", nodes);
        }
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        let child = cmd.spawn().expect("the chat-server binary must start");
        let instance = Instance {
            port,
            http: reqwest::Client::new(),
            child,
            log,
        };
        instance.wait_healthy().await;
        if shared.redis_cluster_urls.is_some() {
            // Ready (store prepared, bus subscribed), and on the cluster for real, never a
            // silent fallback.
            instance.wait_ready().await;
            let log = instance.log_text();
            assert!(
                log.contains("subscribed to the cluster's shard channels")
                    && log.contains("redis log-in throttle connected"),
                "the instance did not reach the Redis Cluster:\n{log}"
            );
        }
        instance
    }

    /// Waits until `/readyz` answers 200 (start-up done, the bus connected).
    async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(resp) = self.http.get(self.url("/readyz")).send().await {
                if resp.status().is_success() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chat-server did not become ready; log: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_healthy(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(resp) = self.http.get(self.url("/healthz")).send().await {
                if resp.status().is_success() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chat-server did not become healthy; log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server has logged so far (stdout and stderr, to a file).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process still runs (a crash would end it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM (as an orchestrator stopping the instance does).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits for the process to exit, at most `PATIENCE`; panics (with the log) if it does not.
    pub async fn exit_status(&mut self) -> std::process::ExitStatus {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chat-server did not exit; log: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req).await
    }

    pub async fn put(&self, path: &str, body: Value, token: &str) -> (StatusCode, Value) {
        answer(self.http.put(self.url(path)).json(&body).bearer_auth(token)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> StatusCode {
        answer(self.http.delete(self.url(path)).bearer_auth(token))
            .await
            .0
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        answer(self.http.get(self.url(path)).bearer_auth(token)).await
    }

    /// Logs in; returns (user id, token).
    pub async fn log_in(&self, username: &str, password: &str) -> User {
        let (status, body) = self
            .post(
                "/api/v1/sessions",
                json!({"username": username, "password": password}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "log-in failed: {body}");
        User {
            id: body["user"]["id"].as_i64().unwrap(),
            username: username.to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// Signs up a new client and logs it in.
    pub async fn new_client(&self) -> User {
        let username = unique("client");
        let (status, body) = self
            .post(
                "/api/v1/users",
                json!({"username": username, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "sign-up failed: {body}");
        self.log_in(&username, PASSWORD).await
    }

    /// The admin creates a new agent, which logs in.
    pub async fn new_agent(&self) -> User {
        let admin = self.log_in(ADMIN_USER, ADMIN_PASSWORD).await;
        let username = unique("agent");
        let (status, body) = self
            .post(
                "/api/v1/users",
                json!({"username": username, "password": PASSWORD, "role": "agent"}),
                Some(&admin.token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "agent creation failed: {body}");
        self.log_in(&username, PASSWORD).await
    }

    pub async fn admin(&self) -> User {
        self.log_in(ADMIN_USER, ADMIN_PASSWORD).await
    }

    /// The client opens a thread with a first message; returns the thread id.
    pub async fn open_thread(&self, client: &User, body: &str) -> i64 {
        let (status, resp) = self
            .post(
                "/api/v1/threads",
                json!({"thread_type": "loan", "body": body}),
                Some(&client.token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "thread not opened: {resp}");
        resp["thread"]["id"].as_i64().unwrap()
    }

    pub async fn claim(&self, agent: &User, thread: i64) {
        let (status, body) = self
            .post(
                &format!("/api/v1/threads/{thread}/claim"),
                json!({}),
                Some(&agent.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "claim failed: {body}");
    }

    /// Sends a message over REST; returns its seq.
    pub async fn send_rest(&self, user: &User, thread: i64, body: &str) -> i64 {
        let (status, resp) = self
            .post(
                &format!("/api/v1/threads/{thread}/messages"),
                json!({"body": body}),
                Some(&user.token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "send failed: {resp}");
        resp["seq"].as_i64().unwrap()
    }

    /// Every message of a thread, over REST.
    pub async fn messages(&self, user: &User, thread: i64) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!("/api/v1/threads/{thread}/messages?after_seq=0&limit=500"),
                &user.token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().unwrap().clone()
    }

    /// A new client with a thread opened by "hello", and that client's socket on it, joined
    /// (its `ready` read).
    pub async fn client_in_its_thread(&self) -> (User, i64, Socket) {
        let client = self.new_client().await;
        let thread = self.open_thread(&client, "hello").await;
        let mut ws = self
            .socket(&format!("/ws/threads/{thread}"), &client.token)
            .await;
        ws.next_of("ready").await;
        (client, thread, ws)
    }

    /// Opens a socket with `?token=`; panics if refused.
    pub async fn socket(&self, path_and_query: &str, token: &str) -> Socket {
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        Socket::connect(&self.ws_url(&format!("{path_and_query}{sep}token={token}")))
            .await
            .unwrap_or_else(|status| panic!("socket refused with {status:?}"))
    }

    /// Opens a socket with an `Authorization: Bearer` header; panics if refused.
    pub async fn socket_with_header(&self, path: &str, token: &str) -> Socket {
        let mut request = self.ws_url(path).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Socket { stream }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A logged-in user of a test.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub token: String,
}

/// How a socket ended, seen from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    Dropped,
}

/// A WebSocket client that speaks JSON frames.
pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Socket {
    /// Connects; `Err(status)` when the server refused the upgrade.
    pub async fn connect(url: &str) -> Result<Socket, (u16, String)> {
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(Socket { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                let body = resp
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((resp.status().as_u16(), body))
            }
            Err(other) => panic!("socket connection failed: {other}"),
        }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.stream
            .send(WsMessage::Text(value.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, message: WsMessage) {
        self.stream.send(message).await.unwrap();
    }

    /// The next JSON frame, or how the socket ended. Pings and other control frames are
    /// skipped, within one overall wait (a server pinging every few seconds cannot keep a test
    /// waiting forever for a frame that never comes).
    pub async fn next_frame(&mut self) -> Result<Value, Ended> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("no frame in time");
            match next {
                Some(Ok(WsMessage::Text(text))) => {
                    return Ok(serde_json::from_str(&text).expect("server frames are JSON"))
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    return Err(Ended::Closed(frame.map(|f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Dropped),
            }
        }
    }

    /// The next JSON frame; panics if the socket ended.
    pub async fn next_json(&mut self) -> Value {
        match self.next_frame().await {
            Ok(v) => v,
            Err(ended) => panic!("socket ended: {ended:?}"),
        }
    }

    /// The next frame of this type, skipping others, within one overall wait.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        let wanted = async {
            loop {
                let frame = self.next_json().await;
                if frame["type"] == kind {
                    return frame;
                }
            }
        };
        tokio::time::timeout(PATIENCE, wanted)
            .await
            .unwrap_or_else(|_| panic!("no {kind:?} frame in time"))
    }

    /// The next frame that is not a presence/claim signal (typing, read, claimed, thread.status).
    pub async fn next_significant(&mut self) -> Value {
        loop {
            let frame = self.next_json().await;
            let kind = frame["type"].as_str().unwrap_or_default();
            if !matches!(kind, "typing" | "read" | "claimed" | "thread.status") {
                return frame;
            }
        }
    }

    /// Reads frames until the socket ends; returns how, and the frames before.
    pub async fn until_end(&mut self) -> (Ended, Vec<Value>) {
        let mut frames = Vec::new();
        loop {
            match self.next_frame().await {
                Ok(frame) => frames.push(frame),
                Err(ended) => return (ended, frames),
            }
        }
    }

    /// The `message.created` frames up to and including the one with this body; panics on
    /// anything else significant.
    pub async fn messages_until(&mut self, last_body: &str) -> Vec<Value> {
        let mut got = Vec::new();
        loop {
            let frame = self.next_significant().await;
            assert_eq!(frame["type"], "message.created", "unexpected frame {frame}");
            let done = frame["message"]["body"] == last_body;
            got.push(frame);
            if done {
                return got;
            }
        }
    }

    /// The next `count` `message.created` frames; panics on anything else significant.
    pub async fn messages_until_count(&mut self, count: usize) -> Vec<Value> {
        let mut got = Vec::with_capacity(count);
        while got.len() < count {
            let frame = self.next_significant().await;
            assert_eq!(frame["type"], "message.created", "unexpected frame {frame}");
            got.push(frame);
        }
        got
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The close code a refused or ended socket reported.
pub fn close_code(ended: &Ended) -> Option<u16> {
    match ended {
        Ended::Closed(code) => *code,
        Ended::Dropped => None,
    }
}

/// The sequence numbers of `message.created` frames.
pub fn seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f["seq"].as_i64().unwrap_or(-1))
        .collect()
}

/// A TCP proxy on 127.0.0.1:`port` forwarding every connection to `upstream` (the test
/// Postgres): "the database" as the server sees it. [`Proxy::cut`] makes it an outage (the
/// port refuses connections and every proxied connection is closed), [`Proxy::restore`] ends it.
pub struct Proxy {
    port: u16,
    upstream: String,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port` (which must be free) and forwards to `upstream`.
    pub async fn start(port: u16, upstream: String) -> Self {
        let mut proxy = Proxy {
            port,
            upstream,
            running: None,
        };
        proxy.restore().await;
        proxy
    }

    /// Listens and forwards again (a no-op while it runs).
    pub async fn restore(&mut self) {
        if self.running.is_some() {
            return;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("the proxy's port is free");
        let upstream = self.upstream.clone();
        // The forwarding tasks live in a JoinSet owned by the accept loop: aborting the loop
        // drops the listener and the set, which aborts them and closes both their sockets.
        self.running = Some(tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { break };
                        let upstream = upstream.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }));
    }

    /// The outage: stops listening (connecting is refused) and closes every proxied connection.
    pub async fn cut(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            let _ = running.await;
        }
        // Let the aborted forwarding tasks be dropped (their sockets closed).
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }
}

/// A client on instance A and the agent holding its thread on instance B, both thread sockets
/// joined (their `ready` read): the shape of most two-instance scenarios.
pub struct JoinedPair {
    pub a: Instance,
    pub b: Instance,
    pub client: User,
    pub agent: User,
    pub thread: i64,
    pub client_ws: Socket,
    pub agent_ws: Socket,
}

impl JoinedPair {
    /// The client opens its thread with `first_body`, the agent claims it, both join.
    pub async fn across_two_instances(shared: &Shared, first_body: &str) -> Self {
        let a = Instance::start(shared, &[]).await;
        let b = Instance::start(shared, &[]).await;
        let client = a.new_client().await;
        let agent = b.new_agent().await;
        let thread = a.open_thread(&client, first_body).await;
        b.claim(&agent, thread).await;
        let mut client_ws = a
            .socket(&format!("/ws/threads/{thread}"), &client.token)
            .await;
        client_ws.next_of("ready").await;
        let mut agent_ws = b
            .socket(&format!("/ws/threads/{thread}"), &agent.token)
            .await;
        agent_ws.next_of("ready").await;
        JoinedPair {
            a,
            b,
            client,
            agent,
            thread,
            client_ws,
            agent_ws,
        }
    }
}

/// Runs each two-instance scenario `async fn(Shared)` twice: on the single Redis
/// (`<name>::single_redis`) and on the test binary's three-master Redis Cluster
/// (`<name>::redis_cluster`: sharded pub/sub, hash-tagged throttle and presence keys).
macro_rules! on_single_redis_and_cluster {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn single_redis() {
                    super::$name(crate::helpers::Shared::fresh()).await;
                }

                #[tokio::test]
                async fn redis_cluster() {
                    let shared = tokio::task::spawn_blocking(crate::helpers::Shared::fresh_on_cluster)
                        .await
                        .unwrap();
                    super::$name(shared).await;
                }
            }
        )*
    };
}

/// Sends a request and reads its answer: the status and the JSON body (Null if none).
async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
