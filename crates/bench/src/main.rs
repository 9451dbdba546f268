//! `chat-bench`: the load generator behind `make bench` and `make bench-smoke`.
//!
//! It starts the servers it needs (two instances on a fresh Postgres database and Redis with a
//! unique channel prefix, or one embedded instance on a temporary SQLite file), runs the
//! scenarios, stops everything (on errors and Ctrl-C too), and writes
//! `target/bench/results.md` and `target/bench/results.json`. It exits non-zero when the harness
//! breaks or a correctness check fails (gaps, duplicates, double claim holders); speed figures
//! are reported against the targets but never fail the run.

mod api;
mod cluster;
mod machine;
mod pacer;
mod params;
mod population;
mod report;
mod scenarios;
mod services;
mod socket;
mod socket_worker;
mod stats;

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::api::{Api, Session};
use crate::cluster::{Backend, Cluster, ClusterSpec};
use crate::machine::Machine;
use crate::params::{Cli, Params, Scenario};
use crate::report::Report;
use crate::socket::IdlePool;

/// What every scenario works with.
pub struct Ctx {
    /// HTTP client.
    pub api: Api,
    /// The servers.
    pub cluster: Cluster,
    /// The bootstrap admin, logged in.
    pub admin: Session,
    /// Sizes.
    pub params: Params,
    /// A tag unique to this run, for usernames.
    pub tag: String,
    /// Idle sockets opened by `connections`, kept open for `fanout`.
    pub idle: Option<IdlePool>,
    /// Users whose password hash has the measured (production) bcrypt cost.
    pub seed_users: Vec<Session>,
    /// The urgency scenario's labelled corpus, if given on the command line.
    pub urgency_corpus: Option<std::path::PathBuf>,
    /// The chaos scenario's private Postgres and Redis (dropped after the cluster).
    pub services: Option<services::PrivateServices>,
}

impl Ctx {
    /// Base URLs of the instances.
    pub fn bases(&self) -> Vec<String> {
        self.cluster
            .instances
            .iter()
            .map(|i| i.base.clone())
            .collect()
    }

    /// The base URL of instance `i` (modulo the number of instances).
    pub fn base(&self, i: usize) -> String {
        let n = self.cluster.instances.len().max(1);
        self.cluster
            .instances
            .get(i % n)
            .map(|x| x.base.clone())
            .unwrap_or_default()
    }

    /// CPU time each instance has used so far (clock ticks).
    pub fn cpu_ticks(&self) -> Vec<u64> {
        self.cluster
            .instances
            .iter()
            .map(|i| machine::cpu_ticks(i.pid).unwrap_or(0))
            .collect()
    }

    /// CPU time this load generator has used so far (clock ticks).
    pub fn own_cpu_ticks() -> u64 {
        machine::cpu_ticks(std::process::id()).unwrap_or(0)
    }

    /// Average CPU use of all instances since `before` (from [`Ctx::cpu_ticks`]), in percent of
    /// one core.
    pub fn cpu_percent_since(&self, before: &[u64], elapsed: std::time::Duration) -> f64 {
        let used: u64 = self
            .cpu_ticks()
            .iter()
            .zip(before)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum();
        // Linux reports 100 ticks per second.
        used as f64 / elapsed.as_secs_f64().max(1e-9)
    }

    /// The address of instance `i` (modulo the number of instances).
    pub fn addr(&self, i: usize) -> std::net::SocketAddr {
        let n = self.cluster.instances.len().max(1);
        self.cluster
            .instances
            .get(i % n)
            .map(|x| x.addr)
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat-bench: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if cli.socket_worker {
        return match runtime.block_on(socket_worker::serve()) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chat-bench socket worker: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = run(cli) => r,
            _ = tokio::signal::ctrl_c() => {
                // Dropping `run` drops the cluster, which kills the servers and drops the database.
                Err(anyhow::anyhow!("interrupted"))
            }
        }
    });
    // Let the servers' kill and the database drop finish before exiting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("chat-bench: a scenario failed or a correctness check did not hold");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("chat-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn selected(cli: &Cli) -> Result<Vec<Scenario>> {
    let names: Vec<String> = cli
        .scenario
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || names.iter().any(|s| s == "all") {
        return Ok(Scenario::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for name in &names {
        match Scenario::NAMED.iter().find(|s| s.name() == name) {
            Some(s) => chosen.push(*s),
            None => bail!(
                "unknown scenario {name:?}; expected all or one of {}",
                Scenario::NAMED.map(Scenario::name).join(", ")
            ),
        }
    }
    if chosen.contains(&Scenario::Chaos) && chosen.len() > 1 {
        bail!("chaos stops and starts Postgres and Redis: run it alone (--scenario chaos)");
    }
    // Run in the canonical order whatever order they were given in.
    Ok(Scenario::NAMED
        .into_iter()
        .filter(|s| chosen.contains(s))
        .collect())
}

async fn run(cli: Cli) -> Result<bool> {
    let started = Instant::now();
    let started_at = chrono_like_now();
    let scenarios = selected(&cli)?;
    let params = Params::resolve(cli.smoke, &cli.sizes);
    let nofile = machine::raise_nofile_limit();
    eprintln!(
        "chat-bench: {} profile, scenarios {:?}, open-file limit {:?}",
        params.profile,
        scenarios.iter().map(|s| s.name()).collect::<Vec<_>>(),
        nofile
    );
    if !cli.server_bin.is_file() {
        bail!(
            "no server binary at {} (build it: cargo build --release -p chat-server)",
            cli.server_bin.display()
        );
    }
    let backend = if cli.embedded {
        Backend::Embedded
    } else {
        Backend::Postgres
    };
    // The chaos scenario stops and starts its dependencies: it gets a Postgres cluster and a
    // Redis server of its own, never the machine's.
    let services = if scenarios.contains(&Scenario::Chaos) {
        if backend == Backend::Embedded {
            bail!("chaos runs on Postgres + Redis with two instances, not --embedded");
        }
        eprintln!(
            "chaos: starting a private Postgres cluster and Redis server (the machine's own are \
             not touched); they are stopped and starting again during the run"
        );
        Some(
            services::PrivateServices::start()
                .await
                .context("starting the private Postgres and Redis for chaos")?,
        )
    } else {
        None
    };
    let (database_url, redis_url) = match &services {
        Some(s) => (s.postgres.url(), s.redis.url()),
        None => (cli.database_url.clone(), cli.redis_url.clone()),
    };
    let instances = instances_for(&cli, &scenarios, &params);
    if instances > cli.instances {
        eprintln!(
            "chat-bench: {instances} instances (not {}) to hold {} sockets at most {} each",
            cli.instances, params.sockets, params.sockets_per_process
        );
    }
    let on_redis_cluster = services.is_none() && !cli.redis_cluster_urls.trim().is_empty();
    let spec = ClusterSpec {
        backend,
        instances,
        server_bin: cli.server_bin.clone(),
        database_url,
        redis_url,
        // Chaos stops and starts its own single Redis: never a cluster there.
        redis_cluster_urls: if on_redis_cluster {
            cli.redis_cluster_urls.trim().to_owned()
        } else {
            String::new()
        },
        log_dir: cli.out.join("logs"),
        nofile: machine::hard_nofile_limit(),
        keep_database: cli.keep_database,
    };
    let mut cluster = Cluster::prepare(spec).await?;
    let load_before = machine::load_average();
    if let (Some(mode), Backend::Postgres) = (&cli.synchronous_commit, backend) {
        cluster
            .psql(&format!(
                "ALTER DATABASE \"{}\" SET synchronous_commit = '{}'",
                cluster
                    .database
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                mode.replace('\'', "")
            ))
            .await?;
    }
    let setup = match backend {
        Backend::Postgres => format!(
            "postgres + {}, {} instances (fresh database, channel prefix {})",
            if on_redis_cluster {
                "redis cluster (sharded pub/sub)"
            } else {
                "redis"
            },
            instances,
            cluster.redis_prefix
        ),
        Backend::Embedded => "embedded: 1 instance, SQLite file, in-process bus".to_owned(),
    };
    let mut report = Report {
        machine: Machine::detect(),
        setup,
        profile: params.profile.to_owned(),
        started_at,
        elapsed_s: 0.0,
        parameters: serde_json::to_value(&params)?,
        figures: Vec::new(),
        checks: Vec::new(),
        failures: Vec::new(),
        notes: Vec::new(),
    };

    // Phase 0, at the production bcrypt cost: the bootstrap admin and the seed-auth users get
    // cost-12 hashes (a bcrypt check costs what the stored hash says, not what the server is
    // configured with). Then the instances restart with a cheap cost so thousands of bulk users
    // sign up and log in quickly; no measured request hashes or checks their passwords.
    let api = Api::new();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    cluster.start(cli.measured_bcrypt_cost).await?;
    let (admin_user, admin_pw) = cluster.admin.clone();
    let first = cluster
        .instances
        .first()
        .map(|i| i.base.clone())
        .unwrap_or_default();
    let admin = api
        .log_in(&first, &admin_user, &admin_pw)
        .await
        .context("logging in as the bootstrap admin")?;
    let mut seed_users = Vec::new();
    if scenarios.contains(&Scenario::RestSend) {
        let bases: Vec<String> = cluster.instances.iter().map(|i| i.base.clone()).collect();
        let clients = population::clients(
            &api,
            &bases,
            &format!("b{tag}-seed"),
            params.seed_users,
            params.seed_users,
        )
        .await
        .context("creating the seed-auth users")?;
        seed_users = clients.into_iter().map(|c| c.session).collect();
    }
    let mut admin = admin;
    if cli.setup_bcrypt_cost != cli.measured_bcrypt_cost {
        cluster.stop().await;
        cluster.start(cli.setup_bcrypt_cost).await?;
        let first = cluster
            .instances
            .first()
            .map(|i| i.base.clone())
            .unwrap_or_default();
        admin = api.log_in(&first, &admin_user, &admin_pw).await.context(
            "logging in as the admin after the restart (does the store keep data across restarts?)",
        )?;
        report.notes.push(format!(
            "setup: the admin and the seed-auth users were created with bcrypt cost {}; the \
             instances then restarted with cost {} so bulk users sign up fast (measured requests \
             use tokens, except the seed-auth phase, which checks the cost-{} hashes)",
            cli.measured_bcrypt_cost, cli.setup_bcrypt_cost, cli.measured_bcrypt_cost
        ));
    }

    let mut ctx = Ctx {
        api,
        cluster,
        admin,
        params,
        tag,
        idle: None,
        seed_users,
        urgency_corpus: cli.urgency_corpus.clone(),
        services,
    };
    for scenario in scenarios {
        eprintln!("== {}", scenario.name());
        let t = Instant::now();
        match scenarios::run(scenario, &mut ctx).await {
            Ok(sink) => report.absorb(sink),
            Err(e) => {
                eprintln!("[{}] FAILED: {e:#}", scenario.name());
                report.failures.push(format!("{}: {e:#}", scenario.name()));
            }
        }
        eprintln!(
            "== {} done in {:.1} s",
            scenario.name(),
            t.elapsed().as_secs_f64()
        );
    }
    ctx.idle = None;
    ctx.cluster.stop().await;
    report.elapsed_s = started.elapsed().as_secs_f64();
    report.notes.push(format!(
        "load average (1/5/15 min) before: {load_before}; after: {} (other work on the machine \
         shares the cores)",
        machine::load_average()
    ));
    if let Some(mode) = &cli.synchronous_commit {
        report.notes.push(format!(
            "the run's database had synchronous_commit = {mode}"
        ));
    }
    if let Some(db) = &ctx.cluster.database {
        let tls = if db.url.contains("sslmode=disable") {
            "off (sslmode=disable: Postgres on this machine)"
        } else {
            "as the URL's sslmode says (libpq's default, prefer, uses TLS where the server offers it)"
        };
        report
            .notes
            .push(format!("the servers' Postgres connections: TLS {tls}"));
    }
    report.write(&cli.out)?;
    eprintln!(
        "results: {} and {}",
        cli.out.join("results.md").display(),
        cli.out.join("results.json").display()
    );
    Ok(report.passed())
}

/// Instances to start: as asked, or as many as the sockets need when each server process may
/// hold at most `sockets_per_process` of them (its descriptor limit).
fn instances_for(cli: &Cli, scenarios: &[Scenario], params: &Params) -> usize {
    let sockets_scenario = scenarios
        .iter()
        .any(|s| matches!(s, Scenario::Connections | Scenario::Fanout));
    if cli.embedded || !sockets_scenario {
        return cli.instances;
    }
    let sockets = params.sockets + 2 * params.pairs;
    // The smoke profile's tiny per-process figure exercises the generator's workers only.
    let per_server = if params.profile == "smoke" {
        sockets
    } else {
        params.sockets_per_process
    };
    cli.instances.max(sockets.div_ceil(per_server.max(1)))
}

fn chrono_like_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_run_in_canonical_order_and_unknown_names_fail() {
        let cli = Cli::parse_from(["chat-bench", "--scenario", "fanout,rest-send"]);
        assert_eq!(
            selected(&cli).unwrap(),
            vec![Scenario::RestSend, Scenario::Fanout]
        );
        let cli = Cli::parse_from(["chat-bench", "--scenario", "nope"]);
        assert!(selected(&cli).is_err());
        let cli = Cli::parse_from(["chat-bench"]);
        let all = selected(&cli).unwrap();
        assert_eq!(all.len(), 8);
        assert!(
            !all.contains(&Scenario::Chaos),
            "chaos runs only when named"
        );
        let cli = Cli::parse_from(["chat-bench", "--scenario", "chaos"]);
        assert_eq!(selected(&cli).unwrap(), vec![Scenario::Chaos]);
        let cli = Cli::parse_from(["chat-bench", "--scenario", "chaos,queue"]);
        assert!(selected(&cli).is_err(), "chaos runs alone");
    }

    #[test]
    fn the_date_is_rfc3339_shaped() {
        let now = chrono_like_now();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20"));
    }
}
