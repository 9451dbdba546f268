//! Command line and the sizes of each scenario (full run or smoke run, with overrides).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use serde::Serialize;

/// The scenarios, in the order a full run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// REST sends with a token (at a rate and at max) and through the seed endpoint (bcrypt).
    RestSend,
    /// Agents racing to claim the same threads.
    Claims,
    /// N authenticated sockets across the instances.
    Connections,
    /// Clients and agents chatting over sockets, with N sockets open.
    Fanout,
    /// Queue latency as stored messages grow.
    Queue,
    /// Reports and a two-filter staff list over a bulk-seeded desk (1M messages).
    Reports,
    /// How well the queue orders the labelled urgency corpus.
    Urgency,
    /// Automatic assignment: new conversations to online agents with capacity.
    Routing,
    /// Conversations under load through kill -9, Redis and Postgres outages and SIGTERM, on a
    /// private Postgres and Redis. Never part of `all`: it runs only when named, alone.
    Chaos,
}

impl Scenario {
    /// Every scenario that may be named, in run order.
    pub const NAMED: [Scenario; 9] = [
        Scenario::RestSend,
        Scenario::Claims,
        Scenario::Connections,
        Scenario::Fanout,
        Scenario::Queue,
        Scenario::Reports,
        Scenario::Urgency,
        Scenario::Routing,
        Scenario::Chaos,
    ];

    /// The scenarios of `all`, in run order.
    pub const ALL: [Scenario; 8] = [
        Scenario::RestSend,
        Scenario::Claims,
        Scenario::Connections,
        Scenario::Fanout,
        Scenario::Queue,
        Scenario::Reports,
        Scenario::Urgency,
        Scenario::Routing,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::RestSend => "rest-send",
            Scenario::Claims => "claims",
            Scenario::Connections => "connections",
            Scenario::Fanout => "fanout",
            Scenario::Queue => "queue",
            Scenario::Reports => "reports",
            Scenario::Urgency => "urgency",
            Scenario::Chaos => "chaos",
            Scenario::Routing => "routing",
        }
    }
}

/// `chat-bench`: starts the servers, runs the scenarios, writes target/bench/results.{md,json}.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// One embedded instance on a temporary SQLite file instead of two instances on Postgres + Redis.
    #[arg(long)]
    pub embedded: bool,
    /// Small sizes and short durations (seconds): proves the harness and the correctness checks.
    #[arg(long)]
    pub smoke: bool,
    /// Scenarios to run, comma-separated, or `all`.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub scenario: Vec<String>,
    /// The server binary.
    #[arg(long, default_value = "target/release/chat-server")]
    pub server_bin: PathBuf,
    /// Where results and server logs go.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// Postgres to create the run's database in.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Redis for the instances' fan-out.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// A Redis Cluster for the instances instead of `--redis-url` (comma-separated node URLs,
    /// their `redis.cluster_urls`): live events on sharded pub/sub.
    #[arg(long, env = "REDIS_CLUSTER_URLS", default_value = "")]
    pub redis_cluster_urls: String,
    /// Server instances (Postgres backend).
    #[arg(long, default_value_t = 2)]
    pub instances: usize,
    /// Keep the run's database afterwards.
    #[arg(long)]
    pub keep_database: bool,
    /// bcrypt cost for the seed-auth users (the figure's point: the production default).
    #[arg(long, default_value_t = 12)]
    pub measured_bcrypt_cost: u32,
    /// bcrypt cost the instances run with while the bulk users sign up and log in.
    #[arg(long, default_value_t = 4)]
    pub setup_bcrypt_cost: u32,
    /// Sets `synchronous_commit` on the run's database (e.g. `off`, to show what commit flushes
    /// cost; the default leaves the server's setting).
    #[arg(long)]
    pub synchronous_commit: Option<String>,
    /// urgency: the labelled corpus (JSON lines of id, thread_type, body, tier); by default
    /// crates/domain/tests/data/urgency_corpus.jsonl, else ../shared/urgency/corpus.jsonl.
    #[arg(long)]
    pub urgency_corpus: Option<PathBuf>,
    /// Internal: run as a socket worker (a child the generator starts to hold more sockets
    /// than one process may; see socket_worker.rs).
    #[arg(long, hide = true)]
    pub socket_worker: bool,
    #[command(flatten)]
    pub sizes: SizeOverrides,
}

/// Overrides of the profile's sizes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SizeOverrides {
    /// rest-send: clients posting.
    #[arg(long)]
    pub clients: Option<usize>,
    /// rest-send: target rate, requests/s.
    #[arg(long)]
    pub rate: Option<u64>,
    /// rest-send: seconds per phase.
    #[arg(long)]
    pub duration: Option<u64>,
    /// rest-send: concurrent senders in the max-throughput phase.
    #[arg(long)]
    pub max_concurrency: Option<usize>,
    /// rest-send: the high target rate (issue 16: 5,000 msg/s), requests/s.
    #[arg(long)]
    pub high_rate: Option<u64>,
    /// rest-send: users (and concurrent senders) for the seed-endpoint phase.
    #[arg(long)]
    pub seed_users: Option<usize>,
    /// connections: idle sockets to open (fanout's pairs come on top).
    #[arg(long)]
    pub sockets: Option<usize>,
    /// connections: idle sockets one process holds; past it they spread over worker processes
    /// (and the instances over as many as hold them: see `--instances`).
    #[arg(long)]
    pub sockets_per_process: Option<usize>,
    /// fanout: client/agent pairs chatting.
    #[arg(long)]
    pub pairs: Option<usize>,
    /// fanout: agents sharing those pairs' threads (keep pairs/agents <= 8: the server allows 8
    /// sockets per user per instance by default).
    #[arg(long)]
    pub agents: Option<usize>,
    /// fanout: total messages/s.
    #[arg(long)]
    pub fanout_rate: Option<u64>,
    /// fanout: seconds.
    #[arg(long)]
    pub fanout_duration: Option<u64>,
    /// claims: threads raced for.
    #[arg(long)]
    pub claim_threads: Option<usize>,
    /// claims: agents racing.
    #[arg(long)]
    pub claim_agents: Option<usize>,
    /// claims: rounds.
    #[arg(long)]
    pub claim_rounds: Option<usize>,
    /// queue: stored-message levels, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub queue_levels: Option<Vec<u64>>,
    /// queue: requests per level.
    #[arg(long)]
    pub queue_requests: Option<usize>,
    /// chaos: conversations (a client and an agent each).
    #[arg(long)]
    pub chaos_conversations: Option<usize>,
    /// chaos: total messages/s.
    #[arg(long)]
    pub chaos_rate: Option<u64>,
    /// chaos: seconds Redis and Postgres stay down.
    #[arg(long)]
    pub outage: Option<u64>,
    /// chaos: seconds of load before the first fault and between faults.
    #[arg(long)]
    pub settle: Option<u64>,
}

/// The sizes in force.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// `full` or `smoke`.
    pub profile: &'static str,
    /// rest-send clients.
    pub clients: usize,
    /// rest-send target rate.
    pub rate: u64,
    /// rest-send seconds per phase.
    pub duration_s: u64,
    /// rest-send max-phase senders.
    pub max_concurrency: usize,
    /// rest-send high target rate.
    pub high_rate: u64,
    /// seed-auth users.
    pub seed_users: usize,
    /// idle sockets.
    pub sockets: usize,
    /// idle sockets one process (the generator, a socket worker, a server) holds at most.
    pub sockets_per_process: usize,
    /// connections: seconds the idle sockets' CPU cost is measured over (one heartbeat
    /// interval pings each socket once).
    pub idle_window_s: u64,
    /// fanout pairs.
    pub pairs: usize,
    /// fanout agents.
    pub agents: usize,
    /// fanout messages/s.
    pub fanout_rate: u64,
    /// fanout seconds.
    pub fanout_duration_s: u64,
    /// claims threads.
    pub claim_threads: usize,
    /// claims agents.
    pub claim_agents: usize,
    /// claims rounds.
    pub claim_rounds: usize,
    /// queue levels.
    pub queue_levels: Vec<u64>,
    /// queue requests per level.
    pub queue_requests: usize,
    /// reports: seeded threads (10 messages each).
    pub reports_threads: u64,
    /// reports: requests per measured route.
    pub reports_requests: usize,
    /// chaos conversations.
    pub chaos_conversations: usize,
    /// chaos messages/s.
    pub chaos_rate: u64,
    /// chaos outage seconds.
    pub chaos_outage_s: u64,
    /// chaos seconds between faults.
    pub chaos_settle_s: u64,
    /// routing: agents online.
    pub routing_agents: usize,
    /// routing: each agent's capacity.
    pub routing_capacity: u32,
    /// routing: new conversations per second.
    pub routing_rate: u64,
    /// routing: seconds of new conversations.
    pub routing_duration_s: u64,
    /// routing: how long an agent keeps a conversation before resolving it (ms).
    pub routing_hold_ms: u64,
    /// Users created at once during set-up.
    pub setup_concurrency: usize,
}

impl Params {
    /// The profile's sizes with the overrides applied.
    pub fn resolve(smoke: bool, o: &SizeOverrides) -> Self {
        let base = if smoke { Self::smoke() } else { Self::full() };
        Params {
            clients: o.clients.unwrap_or(base.clients),
            rate: o.rate.unwrap_or(base.rate),
            duration_s: o.duration.unwrap_or(base.duration_s),
            max_concurrency: o.max_concurrency.unwrap_or(base.max_concurrency),
            high_rate: o.high_rate.unwrap_or(base.high_rate),
            seed_users: o.seed_users.unwrap_or(base.seed_users),
            sockets: o.sockets.unwrap_or(base.sockets),
            sockets_per_process: o.sockets_per_process.unwrap_or(base.sockets_per_process),
            pairs: o.pairs.unwrap_or(base.pairs),
            agents: o.agents.unwrap_or(base.agents),
            fanout_rate: o.fanout_rate.unwrap_or(base.fanout_rate),
            fanout_duration_s: o.fanout_duration.unwrap_or(base.fanout_duration_s),
            claim_threads: o.claim_threads.unwrap_or(base.claim_threads),
            claim_agents: o.claim_agents.unwrap_or(base.claim_agents),
            claim_rounds: o.claim_rounds.unwrap_or(base.claim_rounds),
            queue_levels: o.queue_levels.clone().unwrap_or(base.queue_levels.clone()),
            queue_requests: o.queue_requests.unwrap_or(base.queue_requests),
            chaos_conversations: o.chaos_conversations.unwrap_or(base.chaos_conversations),
            chaos_rate: o.chaos_rate.unwrap_or(base.chaos_rate),
            chaos_outage_s: o.outage.unwrap_or(base.chaos_outage_s),
            chaos_settle_s: o.settle.unwrap_or(base.chaos_settle_s),
            ..base
        }
    }

    /// Issue 7's targets.
    pub fn full() -> Self {
        Params {
            profile: "full",
            clients: 200,
            rate: 1000,
            duration_s: 20,
            max_concurrency: 64,
            high_rate: 5000,
            seed_users: 64,
            sockets: 10_000,
            // 20,000 descriptors per process at most here; keep room for pools and the pairs.
            sockets_per_process: 16_000,
            // The servers' default `ws.heartbeat_interval_ms`.
            idle_window_s: 30,
            pairs: 500,
            agents: 125,
            fanout_rate: 1000,
            fanout_duration_s: 30,
            claim_threads: 200,
            claim_agents: 20,
            claim_rounds: 3,
            queue_levels: vec![10_000, 100_000, 1_000_000],
            queue_requests: 300,
            reports_threads: 100_000,
            reports_requests: 200,
            chaos_conversations: 60,
            chaos_rate: 200,
            chaos_outage_s: 8,
            chaos_settle_s: 8,
            routing_agents: 100,
            routing_capacity: 5,
            routing_rate: 20,
            routing_duration_s: 60,
            routing_hold_ms: 10_000,
            setup_concurrency: 32,
        }
    }

    /// Seconds, small N.
    pub fn smoke() -> Self {
        Params {
            profile: "smoke",
            clients: 10,
            rate: 50,
            duration_s: 2,
            max_concurrency: 8,
            high_rate: 100,
            seed_users: 2,
            sockets: 100,
            // Small, so the smoke run exercises the socket workers.
            sockets_per_process: 60,
            idle_window_s: 1,
            pairs: 20,
            agents: 4,
            fanout_rate: 100,
            fanout_duration_s: 3,
            claim_threads: 20,
            claim_agents: 5,
            claim_rounds: 2,
            queue_levels: vec![2_000],
            queue_requests: 30,
            reports_threads: 1_000,
            reports_requests: 20,
            chaos_conversations: 6,
            chaos_rate: 30,
            chaos_outage_s: 2,
            chaos_settle_s: 2,
            routing_agents: 6,
            routing_capacity: 2,
            routing_rate: 10,
            routing_duration_s: 3,
            routing_hold_ms: 1_500,
            setup_concurrency: 16,
        }
    }
}
