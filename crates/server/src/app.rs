//! Wiring: the adapters chosen by settings, the use cases over them, the HTTP server, and the
//! background tasks: start-up while Postgres cannot be reached yet ([`crate::startup`]), then
//! the sweep of expired claims.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use anyhow::Context;
use chat_blobs::{ObjectBlobStore, S3Config};
use chat_domain::ports::{BlobStore, EventBus, LoginThrottle, Presence, Store};
use chat_domain::{Chat, Clock, DomainError, SystemClock};
use chat_embedded::InProcessBus;
use chat_memory::{BcryptHasher, InProcessPresence, InProcessThrottle, MemoryStore};
use chat_redis::presence::RedisPresence;
use chat_redis::throttle::{RedisThrottle, RedisThrottleOptions};
use chat_redis::{RedisBus, RedisBusOptions};
use chat_sql::SqlStore;
use tracing_actix_web::TracingLogger;

use crate::telemetry::RedactingRootSpan;

use crate::error;
use crate::metrics::bus::MeteredBus;
use crate::metrics::{self, Metrics};
use crate::router::Router;
use crate::routes;
use crate::routes::seed::input::BodyLimit;
use crate::security_headers::security_headers;
use crate::settings::Settings;
use crate::shutdown::{termination_signal, Shutdown};
use crate::startup::{self, PendingPostgres, Readiness, StartupError};
use crate::webhook_worker::WebhookWorker;
use crate::ws::{self, WsState};

/// Which store the settings select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// `postgres://` or `postgresql://`.
    Postgres(String),
    /// `sqlite://path`, or an empty URL (then `database.sqlite_path`).
    Sqlite(PathBuf),
    /// `memory://`: nothing survives a restart (demos and development only).
    Memory,
}

impl StoreChoice {
    /// Reads `database.url` (and `database.sqlite_path` when it is empty).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings.database.url.expose().trim();
        if url.is_empty() {
            return Ok(StoreChoice::Sqlite(settings.database.sqlite_path.clone()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreChoice::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(StoreChoice::Sqlite(PathBuf::from(path)));
        }
        if url == "memory://" {
            return Ok(StoreChoice::Memory);
        }
        anyhow::bail!("database.url must start with postgres://, postgresql://, sqlite:// or be memory:// or empty")
    }
}

/// Opens the selected store (applying migrations). Blocking: call it off the async workers.
pub fn open_store(choice: &StoreChoice, settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    open_store_watched(choice, settings, None)
}

/// [`open_store`], an SQL store's pool and checkouts reported to `metrics` when given.
fn open_store_watched(
    choice: &StoreChoice,
    settings: &Settings,
    metrics: Option<&Metrics>,
) -> anyhow::Result<Arc<dyn Store>> {
    let watch = |store: SqlStore| match metrics {
        Some(metrics) => metrics.watch_store(store),
        None => store,
    };
    let pool_size = settings.database.pool_size;
    let checkout_timeout = settings.database.checkout_timeout();
    Ok(match choice {
        StoreChoice::Postgres(url) => Arc::new(watch(
            chat_postgres::connect(url, pool_size)
                .context("opening the Postgres store")?
                .with_checkout_timeout(checkout_timeout)
                .with_append_batching(settings.database.append_batching()),
        )),
        StoreChoice::Sqlite(path) => Arc::new(watch(
            chat_embedded::open(path, pool_size)
                .with_context(|| format!("opening the SQLite store at {}", path.display()))?
                .with_checkout_timeout(checkout_timeout),
        )),
        StoreChoice::Memory => {
            tracing::warn!("in-memory store: nothing survives a restart");
            Arc::new(MemoryStore::new())
        }
    })
}

/// Applies the selected store's migrations (the `migrate` subcommand). Returns the versions
/// applied. Blocking.
pub fn migrate(choice: &StoreChoice) -> anyhow::Result<Vec<String>> {
    Ok(match choice {
        StoreChoice::Postgres(url) => chat_postgres::migrate(url)?,
        StoreChoice::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            chat_embedded::migrate(path)?
        }
        StoreChoice::Memory => Vec::new(),
    })
}

/// Opens the selected event bus: Redis when `redis.url` or `redis.cluster_urls` is set (the
/// cluster first), else in-process. Runs the Redis
/// bus's background tasks on the current Tokio runtime.
pub async fn open_bus(settings: &Settings) -> anyhow::Result<Arc<dyn EventBus>> {
    open_bus_watched(settings, None).await
}

/// [`open_bus`], the Redis bus's counters read by `metrics` when given.
async fn open_bus_watched(
    settings: &Settings,
    metrics: Option<&Metrics>,
) -> anyhow::Result<Arc<dyn EventBus>> {
    let Some(target) = settings.redis.target() else {
        return Ok(Arc::new(InProcessBus::default()));
    };
    let options = RedisBusOptions {
        probe_interval: Duration::from_millis(settings.redis.probe_interval_ms.max(100)),
        ..RedisBusOptions::default()
    };
    // Redis down at start: the bus starts anyway and connects by itself; `/readyz` reports not
    // ready until it has.
    let bus = RedisBus::open(&target, &settings.redis.channel_prefix, options, true)
        .await
        .context("opening the Redis event bus (redis.url or redis.cluster_urls)")?;
    let bus = Arc::new(bus);
    if let Some(metrics) = metrics {
        metrics.watch_redis(&bus);
    }
    Ok(bus)
}

/// The use cases over the store the settings select and an in-process bus, on the given clock
/// (for one-off commands). Blocking.
pub fn build_chat(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Chat> {
    build_chat_on(settings, clock, Arc::new(InProcessBus::default()))
}

/// The use cases over the store the settings select and the given bus. Blocking.
pub fn build_chat_on(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<Chat> {
    settings.validate()?;
    let choice = StoreChoice::from_settings(settings)?;
    let store = open_store(&choice, settings)?;
    chat_on(store, settings, clock, bus)
}

/// The use cases over `store` and `bus`. Does not touch the store.
fn chat_on(
    store: Arc<dyn Store>,
    settings: &Settings,
    clock: Arc<dyn Clock>,
    bus: Arc<dyn EventBus>,
) -> anyhow::Result<Chat> {
    let hasher = Arc::new(BcryptHasher::new(settings.auth.bcrypt_cost)?);
    let chat = Chat::new(store, bus, clock, hasher, settings.chat_config())?
        .with_attachments(open_blobs(settings)?, settings.attachments.policy()?);
    tracing::info!(
        store = chat.store().backend_name(),
        bus = chat.bus().backend_name(),
        bcrypt_cost = settings.auth.bcrypt_cost,
        "adapters ready"
    );
    Ok(chat)
}

/// Where attachments' bytes go: `attachments.backend`.
fn open_blobs(settings: &Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    let a = &settings.attachments;
    let blobs = if a.backend == "s3" {
        let s3 = &a.s3;
        ObjectBlobStore::s3(&S3Config {
            bucket: s3.bucket.clone(),
            region: s3.region.clone(),
            endpoint: s3.endpoint.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.expose().to_owned(),
            allow_http: s3.allow_http,
        })?
    } else {
        ObjectBlobStore::filesystem(&a.directory(&settings.database))?
    };
    tracing::info!(blobs = blobs.backend_name(), "attachment store ready");
    Ok(Arc::new(blobs))
}

/// The log-in throttle: with `redis.url` or `redis.cluster_urls` set, the counts every instance shares in Redis (keys
/// under `redis.channel_prefix`; this instance's own counts while Redis cannot be reached);
/// otherwise this process's counts (one instance). Blocking: it pings Redis once; when Redis
/// does not answer, the throttle starts anyway on this instance's counts and uses Redis once it
/// answers. Fails only on a bad URL.
pub fn login_throttle(settings: &Settings) -> anyhow::Result<Arc<dyn LoginThrottle>> {
    let policy = settings.throttle_policy();
    let max_entries = settings.auth.login_throttle_max_entries;
    let throttle: Arc<dyn LoginThrottle> = if let Some(target) = settings.redis.target() {
        let options = RedisThrottleOptions {
            fallback_max_entries: max_entries,
            ..RedisThrottleOptions::default()
        };
        let prefix = &settings.redis.channel_prefix;
        let throttle = match RedisThrottle::connect_to(&target, prefix, policy, options) {
            Ok(throttle) => throttle,
            Err(e) => {
                tracing::warn!(error = %e, "redis not reachable yet: the log-in throttle counts on this instance until it is");
                RedisThrottle::new_on(&target, prefix, policy, options)
                    .context("the log-in throttle's Redis URL (redis.url or redis.cluster_urls)")?
            }
        };
        Arc::new(throttle)
    } else {
        Arc::new(InProcessThrottle::new(policy, max_entries))
    };
    tracing::info!(throttle = throttle.backend_name(), "log-in throttle ready");
    Ok(throttle)
}

/// Presence: with `redis.url` or `redis.cluster_urls` set, shared by every instance in Redis (keys under
/// `redis.channel_prefix`); otherwise this process's. Blocking: it pings Redis once; when Redis
/// does not answer, presence starts anyway (its calls fail as unavailable until Redis answers,
/// and the router's sweep retries). Fails only on a bad URL.
pub fn presence(settings: &Settings) -> anyhow::Result<Arc<dyn Presence>> {
    let presence: Arc<dyn Presence> = if let Some(target) = settings.redis.target() {
        let prefix = &settings.redis.channel_prefix;
        match RedisPresence::connect_to(&target, prefix) {
            Ok(presence) => Arc::new(presence),
            Err(e) => {
                tracing::warn!(error = %e, "redis not reachable yet: presence starts without it");
                Arc::new(
                    RedisPresence::new_on(&target, prefix)
                        .context("the presence Redis URL (redis.url or redis.cluster_urls)")?,
                )
            }
        }
    } else {
        Arc::new(InProcessPresence::new())
    };
    tracing::info!(presence = presence.backend_name(), "presence ready");
    Ok(presence)
}

/// Creates the configured bootstrap admin when no admin exists yet. Blocking.
pub fn ensure_bootstrap_admin(chat: &Chat, settings: &Settings) -> anyhow::Result<()> {
    let Some(admin) = &settings.admin else {
        return Ok(());
    };
    if chat.has_admin()? {
        return Ok(());
    }
    match chat.create_admin(&admin.username, admin.password.expose()) {
        Ok(user) => {
            tracing::info!(user_id = %user.id, username = %admin.username, "bootstrap admin created");
            Ok(())
        }
        Err(DomainError::Conflict(_)) => {
            tracing::warn!(username = %admin.username, "bootstrap admin not created: username taken");
            Ok(())
        }
        Err(e) => Err(e).context("creating the bootstrap admin"),
    }
}

/// A running server: its address, its use cases, and the future that serves until stopped.
pub struct Application {
    address: SocketAddr,
    chat: Chat,
    metrics: Metrics,
    server: Server,
    shutdown: Shutdown,
    readiness: Readiness,
    /// Start-up (while Postgres was not reachable), then the claim sweeper.
    background: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Application {
    /// Builds the server on the system clock and binds `server.host:server.port` (port 0 picks
    /// a free port: see [`Application::address`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Builds the server on the given clock (tests move time without sleeping).
    ///
    /// The store is opened and the start-up work done (bootstrap admin, urgency re-score)
    /// before the server listens, and any failure is returned, except for a Postgres store
    /// that cannot be reached: then the server listens anyway, not ready, and a background
    /// task retries with backoff ([`startup::wait_for_store`]).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        settings.validate()?;
        let choice = StoreChoice::from_settings(&settings)?;
        let metrics = Metrics::new().context("registering the metrics")?;
        let bus: Arc<dyn EventBus> = Arc::new(MeteredBus::new(
            open_bus_watched(&settings, Some(&metrics)).await?,
            metrics.clone(),
            Arc::clone(&clock),
        ));
        let max_delay = Duration::from_millis(settings.database.connect_retry_max_ms);
        let (chat, throttle, presence, waiting) = {
            let settings = Arc::clone(&settings);
            let metrics = metrics.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let (store, pending): (Arc<dyn Store>, _) = match &choice {
                    StoreChoice::Postgres(url) => {
                        let store = metrics.watch_store(
                            chat_postgres::pending()
                                .with_checkout_timeout(settings.database.checkout_timeout())
                                .with_append_batching(settings.database.append_batching()),
                        );
                        let pending = PendingPostgres {
                            store: store.clone(),
                            url: url.clone(),
                            pool_size: settings.database.pool_size,
                        };
                        (Arc::new(store), Some(pending))
                    }
                    _ => (
                        open_store_watched(&choice, &settings, Some(&metrics))?,
                        None,
                    ),
                };
                let chat = chat_on(store, &settings, clock, bus)?;
                let waiting = match startup::prepare(&chat, &settings, pending.as_ref()) {
                    Ok(()) => None,
                    Err(StartupError::Retry(e)) if pending.is_some() => {
                        tracing::warn!(
                            attempt = 1,
                            error = %startup::one_line(&e),
                            retry_in_ms = u64::try_from(startup::FIRST_RETRY_DELAY.as_millis())
                                .unwrap_or(u64::MAX),
                            "store not reachable yet; serving, not ready, retrying"
                        );
                        pending
                    }
                    Err(e) => return Err(e.into()),
                };
                Ok((
                    chat,
                    login_throttle(&settings)?,
                    presence(&settings)?,
                    waiting,
                ))
            })
            .await
            .context("start-up task failed")??
        };
        let readiness = if waiting.is_some() {
            Readiness::starting(max_delay.as_millis().div_ceil(1000).try_into().unwrap_or(1))
        } else {
            Readiness::ready()
        };
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let address = listener.local_addr()?;
        let shutdown = Shutdown::new();
        let ws_state = WsState::new(settings.ws.clone(), metrics.clone());
        let router = Router::new(
            chat.clone(),
            presence,
            ws_state.sockets.clone(),
            instance_id(address),
            &settings,
        );
        let server = http_server(
            listener,
            Served {
                chat: chat.clone(),
                settings: Arc::clone(&settings),
                throttle,
                ws_state,
                metrics: metrics.clone(),
                shutdown: shutdown.clone(),
                readiness: readiness.clone(),
            },
        )?;
        let webhooks = WebhookWorker::new(chat.clone(), metrics.clone(), &settings.webhooks);
        let background = tokio::spawn(background_tasks(
            chat.clone(),
            Arc::clone(&settings),
            router,
            webhooks,
            waiting,
            readiness.clone(),
            shutdown.clone(),
        ));
        tracing::info!(%address, ready = readiness.is_ready(), "listening");
        Ok(Application {
            address,
            chat,
            metrics,
            server,
            shutdown,
            readiness,
            background,
        })
    }

    /// Whether start-up has finished (at once unless Postgres could not be reached at start).
    pub fn is_ready(&self) -> bool {
        self.readiness.is_ready()
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The use cases the server runs.
    pub fn chat(&self) -> &Chat {
        &self.chat
    }

    /// The server's metrics (what `GET /metrics` serves), for hooks such as
    /// [`Metrics::assignment`].
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The shutdown signal: triggering it stops the server gracefully, as SIGTERM does.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM, SIGINT or [`Application::shutdown`]: then triggers the shutdown
    /// signal (sockets and background tasks end), stops accepting connections, lets in-flight
    /// requests finish (up to `server.shutdown_timeout_seconds`), and waits for the background
    /// tasks. Fails if start-up in the background failed in a way retrying cannot mend (which
    /// also stops the server).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown.clone();
        let stopper = tokio::spawn(async move {
            tokio::select! {
                () = termination_signal() => shutdown.trigger(),
                () = shutdown.wait() => {}
            }
            handle.stop(true).await;
        });
        let mut result = self.server.await;
        self.shutdown.trigger();
        match self.background.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                if result.is_ok() {
                    result = Err(std::io::Error::other(format!("{e:#}")));
                }
            }
            Err(e) => tracing::warn!(error = %e, "background tasks ended abnormally"),
        }
        if let Err(e) = stopper.await {
            tracing::warn!(error = %e, "shutdown task ended abnormally");
        }
        tracing::info!("stopped");
        result
    }
}

/// What every request handler shares (the actix app data).
struct Served {
    chat: Chat,
    settings: Arc<Settings>,
    throttle: Arc<dyn LoginThrottle>,
    ws_state: WsState,
    metrics: Metrics,
    shutdown: Shutdown,
    readiness: Readiness,
}

/// The actix app factory: shared state, extractor limits, every route, JSON 404 and 405.
fn http_server(listener: TcpListener, served: Served) -> anyhow::Result<Server> {
    let Served {
        chat,
        settings,
        throttle,
        ws_state,
        metrics,
        shutdown,
        readiness,
    } = served;
    let limit = settings.server.max_body_bytes;
    let chat = web::Data::new(chat);
    let settings_data = web::Data::from(Arc::clone(&settings));
    let throttle = web::Data::from(throttle);
    let shutdown = web::Data::new(shutdown);
    let readiness = web::Data::new(readiness);
    let ws_state = web::Data::new(ws_state);
    let metrics = web::Data::new(metrics);
    let app = move || {
        App::new()
            .wrap(from_fn(startup::gate))
            .wrap(from_fn(error::method_not_allowed))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(metrics::http::observe))
            .wrap(TracingLogger::<RedactingRootSpan>::new())
            .app_data(chat.clone())
            .app_data(settings_data.clone())
            .app_data(throttle.clone())
            .app_data(shutdown.clone())
            .app_data(readiness.clone())
            .app_data(ws_state.clone())
            .app_data(metrics.clone())
            .app_data(BodyLimit(limit))
            .configure(|cfg| error::extractor_configs(cfg, limit))
            .configure(routes::configure)
            .default_service(web::to(error::no_route))
    };
    let address = listener.local_addr()?;
    // Signals are handled in `Application::run_until_stopped`, which tells sockets and
    // background tasks before draining requests.
    let mut builder = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.server.shutdown_timeout_seconds);
    if settings.server.workers > 0 {
        builder = builder.workers(settings.server.workers);
    }
    let draining = builder.graceful_shutdown_signal();
    // What `actix_web::HttpServer` builds, plus the upgrade hook that hands a WebSocket's
    // connection to the socket's own framing once its `101` is written (`ws::upgrades`).
    let builder = builder.listen("chat-http", listener, move || {
        let draining = draining.clone();
        HttpService::build()
            // idle keep-alive connections end when a graceful stop begins
            .graceful_shutdown_signal(move || {
                let draining = draining.clone();
                async move { draining.notified().await }
            })
            // A connection whose response is complete but whose request stream is not (a
            // request refused before its body was read) is closed at once rather than waiting
            // ("lingering") for the client to hang up. Zero, not a short wait: actix's clock
            // ticks every 500 ms, and a linger deadline already past when set is never woken
            // (actix-http 3.20). The cost: a body the server never read may make the close a
            // reset (bodies here are small JSON that handlers read).
            .client_disconnect_timeout(Duration::ZERO)
            .local_addr(address)
            .upgrade(ws::upgrades(app().into_factory()))
            .finish(map_config(app().into_factory(), |()| AppConfig::default()))
            .tcp()
    })?;
    Ok(builder.run())
}

/// This instance's name in presence: its address, process and start time.
fn instance_id(address: SocketAddr) -> String {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{address}/{}/{started}", std::process::id())
}

/// The background tasks: when start-up is `waiting` for Postgres, that first
/// ([`startup::wait_for_store`]; a failure retrying cannot mend stops the server), then the
/// sweep of expired claims, the router ([`crate::router`]), the session cache's listener
/// ([`crate::session_watch`]) and the webhook worker ([`crate::webhook_worker`]), until
/// shutdown.
async fn background_tasks(
    chat: Chat,
    settings: Arc<Settings>,
    router: Router,
    webhooks: WebhookWorker,
    waiting: Option<PendingPostgres>,
    readiness: Readiness,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    if let Some(pending) = waiting {
        let max_delay = Duration::from_millis(settings.database.connect_retry_max_ms);
        let started = startup::wait_for_store(
            chat.clone(),
            Arc::clone(&settings),
            Some(pending),
            readiness,
            max_delay,
            shutdown.clone(),
        )
        .await;
        match started {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "start-up failed: stopping");
                shutdown.trigger();
                return Err(e);
            }
        }
    }
    let chat_for_sessions = chat.clone();
    tokio::join!(
        sweep_expired_claims(
            chat,
            Duration::from_secs(settings.claims.sweep_interval_seconds),
            shutdown.clone(),
        ),
        router.run(shutdown.clone()),
        crate::session_watch::run(chat_for_sessions, Duration::from_secs(1), shutdown.clone()),
        webhooks.run(shutdown),
    );
    Ok(())
}

/// Frees expired claims every `every` (safe on many instances at once: each expiry is reported
/// by exactly one), then resolves pending threads idle past `desk.auto_resolve_after_minutes`
/// (each by exactly one instance), handles SLA clocks at risk or breached, and removes uploads
/// never sent past `attachments.unattached_ttl_hours`, until shutdown.
async fn sweep_expired_claims(chat: Chat, every: Duration, shutdown: Shutdown) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.wait() => return,
        }
        if let Some(n @ 1..) = sweep_step(&chat, "claim", Chat::expire_claims).await {
            tracing::info!(expired = n, "claims expired");
        }
        if let Some(n @ 1..) = sweep_step(&chat, "auto-resolve", Chat::auto_resolve_idle).await {
            tracing::info!(resolved = n, "idle pending threads auto-resolved");
        }
        // SLA clocks at risk or breached, on the same timer (each handled exactly once).
        match sweep_step(&chat, "SLA", Chat::sweep_sla).await {
            Some(sweep) if sweep != chat_domain::service::SlaSweep::default() => {
                tracing::info!(
                    at_risk = sweep.at_risk,
                    breached = sweep.breached,
                    "SLA sweep"
                );
            }
            _ => {}
        }
        if let Some(n @ 1..) =
            sweep_step(&chat, "unattached upload", Chat::sweep_unattached_uploads).await
        {
            tracing::info!(removed = n, "unattached uploads removed");
        }
        // Ended SLA clocks into the reports' rollup (reports count them either way).
        if let Some(n @ 1..) = sweep_step(&chat, "report fold", Chat::fold_reports).await {
            tracing::debug!(
                folded = n,
                "ended SLA clocks folded into the reports' rollup"
            );
        }
    }
}

/// Runs one sweep off the async workers; its result, or `None` (logged) if it failed.
async fn sweep_step<T: Send + 'static>(
    chat: &Chat,
    what: &'static str,
    step: fn(&Chat) -> chat_domain::DomainResult<T>,
) -> Option<T> {
    let sweeper = chat.clone();
    match tokio::task::spawn_blocking(move || step(&sweeper)).await {
        Ok(Ok(done)) => Some(done),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, sweep = what, "sweep failed");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, sweep = what, "sweep task failed");
            None
        }
    }
}
