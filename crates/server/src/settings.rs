//! Typed settings, in layers: `config/default.toml`, then the optional `config/local.toml`, then
//! environment variables `CHAT__SECTION__KEY`. `CHAT_CONFIG_DIR` points at another directory.
//!
//! Every field has a default in code (the same values as `config/default.toml`), so a missing
//! file still gives a working server. Secrets print as `***`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_domain::attachment::{AttachmentPolicy, FileType};
use chat_domain::claim::ClaimPolicy;
use chat_domain::credentials::CredentialCachePolicy;
use chat_domain::session_cache::SessionCachePolicy;
use chat_domain::urgency::{PhraseRule, UrgencyRules};
use chat_domain::ChatConfig;
use chat_memory::BcryptHasher;
use serde::Deserialize;

/// A value that never appears in logs or debug output.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret text, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("***")
        }
    }
}

/// All settings of the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Where to listen.
    pub server: ServerSettings,
    /// Which store.
    pub database: DatabaseSettings,
    /// Which event bus.
    pub redis: RedisSettings,
    /// Passwords and sessions.
    pub auth: AuthSettings,
    /// Claim leases.
    pub claims: ClaimSettings,
    /// Availability, presence, capacity and automatic assignment.
    pub routing: RoutingSettings,
    /// The desk's housekeeping (auto-resolve).
    pub desk: DeskSettings,
    /// Urgency rules and weights.
    pub urgency: UrgencySettings,
    /// Logging.
    pub log: LogSettings,
    /// The bootstrap admin, created at start when no admin exists.
    pub admin: Option<AdminSettings>,
    /// Live sockets: heartbeat, limits, timeouts.
    pub ws: crate::ws::WsSettings,
    /// SLA targets, business hours, the at-risk rule.
    pub sla: crate::sla_settings::SlaSettings,
    /// `GET /metrics`.
    pub metrics: MetricsSettings,
    /// Webhook deliveries.
    pub webhooks: WebhookSettings,
    /// Files attached to messages.
    pub attachments: AttachmentSettings,
}

/// Webhook deliveries (docs/WEBHOOKS.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Allow endpoints on private, loopback and link-local addresses (never in production:
    /// server-side request forgery). Tests turn it on for their local receivers.
    pub allow_private_targets: bool,
    /// How long a delivery is retried after its event, in seconds.
    pub retry_for_seconds: i64,
    /// The most attempts per delivery; then it fails and its endpoint is disabled.
    pub max_attempts: i64,
    /// The first retry's wait, in milliseconds (doubling, with jitter, up to `max_backoff_ms`).
    pub initial_backoff_ms: i64,
    /// The longest wait between attempts, in milliseconds.
    pub max_backoff_ms: i64,
    /// One attempt's timeout, in milliseconds.
    pub timeout_ms: u64,
    /// How often the worker looks for due deliveries, in milliseconds.
    pub poll_interval_ms: u64,
    /// The most deliveries a worker leases (and sends at once) per round.
    pub batch: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_targets: false,
            retry_for_seconds: 24 * 60 * 60,
            max_attempts: 30,
            initial_backoff_ms: 1000,
            max_backoff_ms: 10 * 60 * 1000,
            timeout_ms: 10_000,
            poll_interval_ms: 500,
            batch: 32,
        }
    }
}

/// Files attached to messages: limits and where their bytes go.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AttachmentSettings {
    /// Largest file, in bytes (413 above it; the upload stops reading there).
    pub max_bytes: u64,
    /// Accepted types, recognised from the content: `png`, `jpeg`, `gif`, `webp`, `pdf`, `txt`.
    pub allowed_types: Vec<String>,
    /// `filesystem` or `s3`.
    pub backend: String,
    /// The filesystem backend's directory; empty: `attachments/` beside `database.sqlite_path`.
    pub dir: String,
    /// The `s3` backend.
    pub s3: S3Settings,
    /// Uploads never sent with a message are removed after this many hours (0: kept).
    pub unattached_ttl_hours: i64,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        AttachmentSettings {
            max_bytes: 10 * 1024 * 1024,
            allowed_types: FileType::ALL.iter().map(|t| t.name().to_owned()).collect(),
            backend: "filesystem".to_owned(),
            dir: String::new(),
            s3: S3Settings::default(),
            unattached_ttl_hours: 24,
        }
    }
}

impl WebhookSettings {
    /// The use cases' and the worker's policy.
    pub fn policy(&self) -> chat_domain::WebhookPolicy {
        chat_domain::WebhookPolicy {
            allow_private_targets: self.allow_private_targets,
            retry: chat_domain::webhook::RetryPolicy {
                base_ms: self.initial_backoff_ms.max(1),
                max_backoff_ms: self.max_backoff_ms.max(1),
                retry_for_ms: self.retry_for_seconds.saturating_mul(1000),
                max_attempts: self.max_attempts.max(1),
            },
        }
    }
}

/// An S3-compatible bucket (AWS S3, MinIO, Ceph...).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region.
    pub region: String,
    /// The endpoint of an S3-compatible server; empty for AWS.
    pub endpoint: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Allow a plain `http://` endpoint.
    pub allow_http: bool,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            endpoint: String::new(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            allow_http: false,
        }
    }
}

impl AttachmentSettings {
    /// The size and type limits, or the setting at fault.
    pub fn policy(&self) -> Result<AttachmentPolicy, SettingsError> {
        let mut allowed = Vec::new();
        for name in &self.allowed_types {
            let t = FileType::from_name(name).ok_or_else(|| SettingsError::Invalid {
                key: "attachments.allowed_types",
                message: format!("unknown type {name:?}; known: png, jpeg, gif, webp, pdf, txt"),
            })?;
            allowed.push(t);
        }
        if self.max_bytes == 0 {
            return Err(SettingsError::Invalid {
                key: "attachments.max_bytes",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.unattached_ttl_hours < 0 {
            return Err(SettingsError::Invalid {
                key: "attachments.unattached_ttl_hours",
                message: "must be 0 (keep them) or more".to_owned(),
            });
        }
        Ok(AttachmentPolicy {
            max_bytes: self.max_bytes,
            allowed,
            unattached_ttl_ms: (self.unattached_ttl_hours > 0)
                .then(|| self.unattached_ttl_hours.saturating_mul(3_600_000)),
        })
    }

    /// The filesystem backend's directory.
    pub fn directory(&self, database: &DatabaseSettings) -> PathBuf {
        if self.dir.is_empty() {
            database
                .sqlite_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("attachments")
        } else {
            PathBuf::from(&self.dir)
        }
    }
}

/// `GET /metrics` (Prometheus text format).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// When set, a scrape must bring `Authorization: Bearer <token>` (401 otherwise); empty
    /// leaves `/metrics` open (keep it off the public network then).
    pub token: Secret,
}

/// Where to listen.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 = any free port).
    pub port: u16,
    /// Worker threads (0 = one per core).
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Take the client's IP from the last `X-Forwarded-For` entry (only behind a proxy that
    /// sets it; otherwise clients could pick their own address and dodge the log-in throttle).
    pub trust_forwarded_for: bool,
    /// On SIGTERM/SIGINT, how long in-flight requests get to finish.
    pub shutdown_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".to_owned(),
            port: 8000,
            workers: 0,
            max_body_bytes: 64 * 1024,
            trust_forwarded_for: false,
            shutdown_timeout_seconds: 30,
        }
    }
}

/// Which store, and how to reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://...`, `sqlite://path`, or empty for the embedded SQLite store at
    /// [`DatabaseSettings::sqlite_path`]. May hold a password, so it is a secret.
    pub url: Secret,
    /// The embedded store's file.
    pub sqlite_path: PathBuf,
    /// Connections in the pool.
    pub pool_size: u32,
    /// Postgres only: when the database cannot be reached at start-up, the server serves anyway
    /// (not ready) and retries every 100 ms, doubling up to this many milliseconds.
    pub connect_retry_max_ms: u64,
    /// How long a request waits for a pooled connection before it is answered 503
    /// `unavailable` (with `Retry-After`): while the database is down, how long a request takes
    /// to fail; with every connection busy, how long it queues.
    pub checkout_timeout_ms: u64,
    /// Postgres only: the most sends stored in one transaction (group commit); 0 or 1 stores
    /// each send in a transaction of its own.
    pub append_batch_max: usize,
    /// Postgres only: how long, in microseconds, a batch waits for more sends after its first
    /// when fewer than `append_batch_max` are queued. 0: a batch is whatever queued while the
    /// previous one was being stored, so a lone send never waits.
    pub append_batch_wait_us: u64,
    /// Postgres only: how many batches may be stored at once, each on its own connection, for
    /// its own threads (a thread's id modulo this picks its lane). 1 to 16; at most `pool_size`.
    pub append_batch_lanes: usize,
}

impl DatabaseSettings {
    /// [`DatabaseSettings::checkout_timeout_ms`] as a duration.
    pub fn checkout_timeout(&self) -> Duration {
        Duration::from_millis(self.checkout_timeout_ms)
    }

    /// How the Postgres store batches appends.
    pub fn append_batching(&self) -> chat_sql::AppendBatching {
        chat_sql::AppendBatching {
            max_batch: self.append_batch_max,
            max_wait: Duration::from_micros(self.append_batch_wait_us),
            lanes: self.append_batch_lanes,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: Secret::default(),
            sqlite_path: PathBuf::from("data/chat.db"),
            pool_size: 10,
            connect_retry_max_ms: 2000,
            checkout_timeout_ms: 1000,
            append_batch_max: 64,
            append_batch_wait_us: 0,
            append_batch_lanes: 1,
        }
    }
}

/// What the instances share in Redis: the event bus and the log-in throttle.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://...`, or empty for in-process events and log-in counts (one instance only).
    pub url: Secret,
    /// Prefix of the pub/sub channels and throttle keys (lets several deployments or tests share
    /// one Redis).
    pub channel_prefix: String,
    /// How often the pub/sub connection must answer a round trip (within 2 s) before it is
    /// considered dead and replaced, in milliseconds.
    pub probe_interval_ms: u64,
    /// A Redis Cluster instead of `url`, by the URLs of some of its masters (any reachable one
    /// finds the rest): a TOML array, or one comma-separated string
    /// (`CHAT__REDIS__CLUSTER_URLS=redis://a:7000,redis://b:7001`). Non-empty wins over `url`.
    #[serde(deserialize_with = "url_list")]
    pub cluster_urls: Vec<Secret>,
}

impl RedisSettings {
    /// The Redis the instances share: the cluster when `cluster_urls` is set, else the server
    /// at `url`, else none (in-process adapters).
    pub fn target(&self) -> Option<chat_redis::RedisTarget> {
        let nodes: Vec<String> = self
            .cluster_urls
            .iter()
            .map(|u| u.expose().to_owned())
            .collect();
        chat_redis::RedisTarget::from_settings(self.url.expose(), &nodes)
    }
}

/// A list of URLs from a TOML array or a comma-separated string (environment variables).
fn url_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<String>),
        One(String),
    }
    let urls = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(urls) => urls,
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(urls
        .into_iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .map(Secret::new)
        .collect())
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            url: Secret::default(),
            channel_prefix: "chat".to_owned(),
            probe_interval_ms: 5_000,
            cluster_urls: Vec::new(),
        }
    }
}

/// Passwords and sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// bcrypt cost (4 to 31; at least 10 unless `allow_insecure_cost`).
    pub bcrypt_cost: u32,
    /// Allows a bcrypt cost below 10 (tests only).
    pub allow_insecure_cost: bool,
    /// How long a log-in lasts.
    pub session_ttl_minutes: i64,
    /// Failed password checks of one username, within `login_window_seconds`, that lock it.
    pub login_max_failures_per_username: u32,
    /// Failed password checks from one client IP, within `login_window_seconds`, that lock it
    /// (higher than per username: offices share an address).
    pub login_max_failures_per_ip: u32,
    /// The window failures are counted in.
    pub login_window_seconds: i64,
    /// How long a locked username or IP is refused (429), from the failure that locked it.
    pub login_lockout_seconds: i64,
    /// Most usernames and IPs the in-process throttle (or the Redis throttle's local fallback)
    /// remembers at once.
    pub login_throttle_max_entries: usize,
    /// How long a username + password verified on a seed endpoint is accepted again without
    /// bcrypt (same user, same stored hash); 0 checks bcrypt on every request.
    pub seed_credential_cache_seconds: i64,
    /// Most users the verified-credential cache remembers at once.
    pub seed_credential_cache_max_entries: usize,
    /// How long a bearer token's session, once read from the store, is used without reading it
    /// again (ended sessions are forgotten at once on their instance, and on the others when
    /// the bus tells them); 0 reads the store on every request.
    pub session_cache_seconds: i64,
    /// Most tokens the session cache remembers at once.
    pub session_cache_max_entries: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            bcrypt_cost: BcryptHasher::DEFAULT_COST,
            allow_insecure_cost: false,
            session_ttl_minutes: 7 * 24 * 60,
            login_max_failures_per_username: 10,
            login_max_failures_per_ip: 100,
            login_window_seconds: 15 * 60,
            login_lockout_seconds: 15 * 60,
            login_throttle_max_entries: 100_000,
            seed_credential_cache_seconds: 60,
            seed_credential_cache_max_entries: 10_000,
            session_cache_seconds: 30,
            session_cache_max_entries: 100_000,
        }
    }
}

/// Claim leases.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ClaimSettings {
    /// How long a claim lasts without renewal.
    pub lease_seconds: i64,
    /// How often expired claims are swept (and announced).
    pub sweep_interval_seconds: u64,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        ClaimSettings {
            lease_seconds: 300,
            sweep_interval_seconds: 5,
        }
    }
}

/// Availability, presence, capacity and automatic assignment.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RoutingSettings {
    /// `manual` (agents pull from the queue) or `auto` (the router assigns): the mode until an
    /// admin sets one at run time (`PUT /api/v1/routing`, stored).
    pub mode: String,
    /// Conversations an agent holds at once unless an admin set their own capacity (0-100).
    pub default_capacity: u32,
    /// An agent with no live socket on any instance for this long becomes offline.
    pub offline_after_seconds: u64,
    /// An offline agent's conversations go back to the router after this long (auto mode).
    pub reassign_after_seconds: u64,
    /// How often each instance's router beats presence, renews its connected agents' claims,
    /// sweeps absent agents and assigns (a safety net: events wake it at once).
    pub sweep_interval_ms: u64,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            mode: "manual".to_owned(),
            default_capacity: 5,
            offline_after_seconds: 60,
            reassign_after_seconds: 120,
            sweep_interval_ms: 1000,
        }
    }
}

impl RoutingSettings {
    /// The domain's routing policy (the mode checked by [`Settings::validate`]).
    pub fn policy(&self) -> chat_domain::routing::RoutingPolicy {
        chat_domain::routing::RoutingPolicy {
            default_mode: chat_domain::routing::RoutingMode::parse(&self.mode)
                .unwrap_or(chat_domain::routing::RoutingMode::Manual),
            default_capacity: self.default_capacity,
            offline_after_ms: i64::try_from(self.offline_after_seconds.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            reassign_after_ms: i64::try_from(self.reassign_after_seconds.saturating_mul(1000))
                .unwrap_or(i64::MAX),
        }
    }
}

/// The desk's housekeeping.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct DeskSettings {
    /// A pending thread (waiting on its client) idle this many minutes is resolved with a
    /// message to the client, by the claim sweep (every `claims.sweep_interval_seconds`); 0 = off.
    pub auto_resolve_after_minutes: i64,
}

/// Urgency rules and weights (see `chat_domain::urgency`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct UrgencySettings {
    /// Points for a loan thread.
    pub loan_weight: i64,
    /// Points for a payment thread.
    pub payment_weight: i64,
    /// Points for any other thread.
    pub other_weight: i64,
    /// Points per minute a client has waited.
    pub points_per_minute_waiting: i64,
    /// Content rules.
    pub phrases: Vec<PhraseSetting>,
}

/// One content rule.
#[derive(Debug, Clone, Deserialize)]
pub struct PhraseSetting {
    /// Matched case-insensitively anywhere in a message.
    pub phrase: String,
    /// Points it adds.
    pub weight: i64,
}

impl Default for UrgencySettings {
    fn default() -> Self {
        let rules = UrgencyRules::default();
        UrgencySettings {
            loan_weight: rules.loan_weight,
            payment_weight: rules.payment_weight,
            other_weight: rules.other_weight,
            points_per_minute_waiting: rules.points_per_minute_waiting,
            phrases: rules
                .phrases
                .into_iter()
                .map(|p| PhraseSetting {
                    phrase: p.phrase,
                    weight: p.weight,
                })
                .collect(),
        }
    }
}

impl UrgencySettings {
    /// The domain's rules.
    pub fn rules(&self) -> UrgencyRules {
        UrgencyRules {
            loan_weight: self.loan_weight,
            payment_weight: self.payment_weight,
            other_weight: self.other_weight,
            points_per_minute_waiting: self.points_per_minute_waiting,
            phrases: self
                .phrases
                .iter()
                .map(|p| PhraseRule {
                    phrase: p.phrase.clone(),
                    weight: p.weight,
                })
                .collect(),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// Human-readable or JSON.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `chat_server=debug,info` (`RUST_LOG` overrides it).
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Human,
            level: "info".to_owned(),
        }
    }
}

/// The bootstrap admin.
#[derive(Debug, Clone, Deserialize)]
pub struct AdminSettings {
    /// Its username.
    pub username: String,
    /// Its password.
    pub password: Secret,
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file or variable could not be read or parsed.
    #[error("cannot read settings: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of range.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Settings {
    /// Loads settings from `CHAT_CONFIG_DIR` (default `config`) and the environment.
    pub fn load() -> Result<Self, SettingsError> {
        let dir = std::env::var_os("CHAT_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Self::load_from(&dir)
    }

    /// Loads `default.toml` and `local.toml` from `dir` (both optional), then `CHAT__...`
    /// variables, and checks the values.
    pub fn load_from(dir: &Path) -> Result<Self, SettingsError> {
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")).required(false))
            .add_source(config::File::from(dir.join("local.toml")).required(false))
            .add_source(
                config::Environment::with_prefix("CHAT")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?
            .try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks ranges that the types do not.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.attachments.policy()?;
        if !matches!(self.attachments.backend.as_str(), "filesystem" | "s3") {
            return Err(SettingsError::Invalid {
                key: "attachments.backend",
                message: "must be filesystem or s3".to_owned(),
            });
        }
        let cost = self.auth.bcrypt_cost;
        if !(4..=31).contains(&cost) {
            return Err(SettingsError::Invalid {
                key: "auth.bcrypt_cost",
                message: "must be between 4 and 31".to_owned(),
            });
        }
        if cost < BcryptHasher::MIN_PRODUCTION_COST && !self.auth.allow_insecure_cost {
            return Err(SettingsError::Invalid {
                key: "auth.bcrypt_cost",
                message: format!(
                    "{cost} is too weak; use at least {} (or set auth.allow_insecure_cost = true in tests)",
                    BcryptHasher::MIN_PRODUCTION_COST
                ),
            });
        }
        if self.database.append_batch_wait_us > 100_000 {
            return Err(SettingsError::Invalid {
                key: "database.append_batch_wait_us",
                message: "must be at most 100000 (0.1 s): every send of a batch waits for it"
                    .to_owned(),
            });
        }
        let lanes = self.database.append_batch_lanes;
        if !(1..=16).contains(&lanes) || lanes > self.database.pool_size as usize {
            return Err(SettingsError::Invalid {
                key: "database.append_batch_lanes",
                message: format!(
                    "must be 1 to 16 and at most database.pool_size ({}): each lane stores on a connection of its own",
                    self.database.pool_size
                ),
            });
        }
        if self.database.checkout_timeout_ms < 1 {
            return Err(SettingsError::Invalid {
                key: "database.checkout_timeout_ms",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.claims.lease_seconds < 1 {
            return Err(SettingsError::Invalid {
                key: "claims.lease_seconds",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.desk.auto_resolve_after_minutes < 0 {
            return Err(SettingsError::Invalid {
                key: "desk.auto_resolve_after_minutes",
                message: "must be 0 (off) or more".into(),
            });
        }
        if self.claims.sweep_interval_seconds < 1 {
            return Err(SettingsError::Invalid {
                key: "claims.sweep_interval_seconds",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.auth.login_max_failures_per_username < 1 || self.auth.login_max_failures_per_ip < 1
        {
            return Err(SettingsError::Invalid {
                key: "auth.login_max_failures_per_username",
                message: "log-in failure limits must be at least 1".to_owned(),
            });
        }
        if self.auth.login_window_seconds < 1 || self.auth.login_lockout_seconds < 1 {
            return Err(SettingsError::Invalid {
                key: "auth.login_window_seconds",
                message: "the log-in window and lockout must be at least 1 second".to_owned(),
            });
        }
        if self.auth.login_throttle_max_entries < 1 {
            return Err(SettingsError::Invalid {
                key: "auth.login_throttle_max_entries",
                message: "must be at least 1".to_owned(),
            });
        }
        if self.auth.seed_credential_cache_seconds < 0
            || self.auth.seed_credential_cache_max_entries < 1
        {
            return Err(SettingsError::Invalid {
                key: "auth.seed_credential_cache_seconds",
                message: "the cache's seconds must be 0 or more and its entries at least 1"
                    .to_owned(),
            });
        }
        if self.auth.session_cache_seconds < 0 || self.auth.session_cache_max_entries < 1 {
            return Err(SettingsError::Invalid {
                key: "auth.session_cache_seconds",
                message: "the cache's seconds must be 0 or more and its entries at least 1"
                    .to_owned(),
            });
        }
        if chat_domain::routing::RoutingMode::parse(&self.routing.mode).is_err() {
            return Err(SettingsError::Invalid {
                key: "routing.mode",
                message: "must be auto or manual".to_owned(),
            });
        }
        if self.routing.default_capacity > chat_domain::routing::MAX_CAPACITY {
            return Err(SettingsError::Invalid {
                key: "routing.default_capacity",
                message: format!("must be 0 to {}", chat_domain::routing::MAX_CAPACITY),
            });
        }
        if self.routing.offline_after_seconds < 1 || self.routing.sweep_interval_ms < 10 {
            return Err(SettingsError::Invalid {
                key: "routing.offline_after_seconds",
                message: "must be at least 1 (and routing.sweep_interval_ms at least 10)"
                    .to_owned(),
            });
        }
        if let Err(err) = self.sla.policy() {
            return Err(SettingsError::Invalid {
                key: "sla",
                message: err.to_string(),
            });
        }
        if self.auth.session_ttl_minutes < 1 {
            return Err(SettingsError::Invalid {
                key: "auth.session_ttl_minutes",
                message: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }

    /// The log-in throttle's limits.
    pub fn throttle_policy(&self) -> chat_domain::throttle::ThrottlePolicy {
        chat_domain::throttle::ThrottlePolicy {
            max_failures_per_username: self.auth.login_max_failures_per_username,
            max_failures_per_ip: self.auth.login_max_failures_per_ip,
            window_ms: self.auth.login_window_seconds.saturating_mul(1000),
            lockout_ms: self.auth.login_lockout_seconds.saturating_mul(1000),
        }
    }

    /// The use cases' settings.
    pub fn chat_config(&self) -> ChatConfig {
        ChatConfig {
            session_ttl_ms: self.auth.session_ttl_minutes.saturating_mul(60_000),
            claims: ClaimPolicy {
                lease_ms: self.claims.lease_seconds.saturating_mul(1000),
            },
            urgency: self.urgency.rules(),
            auto_resolve_after_ms: (self.desk.auto_resolve_after_minutes > 0)
                .then(|| self.desk.auto_resolve_after_minutes.saturating_mul(60_000)),
            credential_cache: (self.auth.seed_credential_cache_seconds > 0).then(|| {
                CredentialCachePolicy {
                    ttl_ms: self.auth.seed_credential_cache_seconds.saturating_mul(1000),
                    max_entries: self.auth.seed_credential_cache_max_entries,
                }
            }),
            session_cache: (self.auth.session_cache_seconds > 0).then(|| SessionCachePolicy {
                ttl_ms: self.auth.session_cache_seconds.saturating_mul(1000),
                max_entries: self.auth.session_cache_max_entries,
            }),
            routing: self.routing.policy(),
            // Checked by `validate`; a bad schedule there stops the server before this.
            sla: self.sla.policy().unwrap_or_default(),
            webhooks: self.webhooks.policy(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_toml_matches_the_defaults_in_code() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let text = std::fs::read_to_string(dir.join("default.toml")).unwrap();
        let from_file: Settings = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Toml))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        let defaults = Settings::default();
        assert_eq!(from_file.urgency.rules(), UrgencyRules::default());
        assert_eq!(from_file.urgency.rules(), defaults.urgency.rules());
        assert_eq!(from_file.server.port, defaults.server.port);
        assert_eq!(from_file.auth.bcrypt_cost, defaults.auth.bcrypt_cost);
        assert_eq!(
            from_file.claims.lease_seconds,
            defaults.claims.lease_seconds
        );
        assert_eq!(from_file.throttle_policy(), defaults.throttle_policy());
        assert_eq!(from_file.routing.policy(), defaults.routing.policy());
        assert_eq!(
            from_file.routing.sweep_interval_ms,
            defaults.routing.sweep_interval_ms
        );
        assert_eq!(
            from_file.server.shutdown_timeout_seconds,
            defaults.server.shutdown_timeout_seconds
        );
        assert_eq!(
            from_file.database.sqlite_path,
            defaults.database.sqlite_path
        );
        assert_eq!(from_file.database.pool_size, defaults.database.pool_size);
        assert_eq!(
            from_file.database.connect_retry_max_ms,
            defaults.database.connect_retry_max_ms
        );
        // Stated in the file, not just defaulted by serde.
        assert!(text.contains("\ncheckout_timeout_ms = "), "default.toml");
        assert_eq!(
            from_file.database.checkout_timeout_ms,
            defaults.database.checkout_timeout_ms
        );
        assert_eq!(
            from_file.database.append_batching(),
            defaults.database.append_batching()
        );
        assert_eq!(
            defaults.database.append_batching(),
            chat_sql::AppendBatching::default()
        );
    }

    #[test]
    fn weak_bcrypt_cost_is_refused_unless_allowed() {
        let mut s = Settings::default();
        s.auth.bcrypt_cost = 4;
        assert!(s.validate().is_err());
        s.auth.allow_insecure_cost = true;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn append_batch_lanes_are_refused_outside_one_to_sixteen_or_past_the_pool() {
        let with = |lanes: usize, pool_size: u32| {
            let mut s = Settings::default();
            s.database.append_batch_lanes = lanes;
            s.database.pool_size = pool_size;
            s.validate()
        };
        assert!(with(1, 10).is_ok());
        assert!(with(4, 4).is_ok());
        assert!(with(16, 20).is_ok());
        for (lanes, pool_size) in [(0, 10), (17, 20), (5, 4)] {
            let err = with(lanes, pool_size).unwrap_err().to_string();
            assert!(err.contains("database.append_batch_lanes"), "{err}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let mut s = Settings::default();
        s.database.url = Secret::new("postgres://u:hunter2@db/x");
        s.admin = Some(AdminSettings {
            username: "root".to_owned(),
            password: Secret::new("hunter2"),
        });
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    fn redis_from(toml: &str, env: &[(&str, &str)]) -> RedisSettings {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("CHAT")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env)),
            )
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        settings.redis
    }

    #[test]
    fn cluster_urls_come_from_a_toml_array_or_a_comma_separated_variable_and_win_over_url() {
        use chat_redis::RedisTarget;
        let single = redis_from(
            "[redis]\nurl = \"redis://one:6379\"\ncluster_urls = []\n",
            &[],
        );
        assert_eq!(
            single.target(),
            Some(RedisTarget::Single("redis://one:6379".to_owned()))
        );
        let from_toml = redis_from(
            "[redis]\nurl = \"redis://one:6379\"\ncluster_urls = [\"redis://a:7000\", \"redis://b:7001\"]\n",
            &[],
        );
        let both = vec!["redis://a:7000".to_owned(), "redis://b:7001".to_owned()];
        assert_eq!(from_toml.target(), Some(RedisTarget::Cluster(both.clone())));
        let from_env = redis_from(
            "[redis]\ncluster_urls = []\n",
            &[(
                "CHAT__REDIS__CLUSTER_URLS",
                "redis://a:7000, redis://b:7001",
            )],
        );
        assert_eq!(from_env.target(), Some(RedisTarget::Cluster(both)));
        assert_eq!(redis_from("", &[]).target(), None);
        let secret = RedisSettings {
            cluster_urls: vec![Secret::new("redis://:hunter2@a:7000")],
            ..RedisSettings::default()
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
