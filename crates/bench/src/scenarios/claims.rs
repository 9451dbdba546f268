//! `claims`: many agents race for the same threads, round after round. Per round every agent
//! tries every thread (each in its own order, spread over the instances); exactly one attempt
//! per thread may win (200), every other must be a 409 naming the winner. The winners then
//! release, and the next round starts.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use futures_util::{stream, StreamExt};

use crate::api::ClaimOutcome;
use crate::population;
use crate::report::Sink;
use crate::Ctx;

/// Attempts each agent keeps in flight.
const PER_AGENT_IN_FLIGHT: usize = 4;

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("claims");
    let p = ctx.params.clone();
    let bases = ctx.bases();
    let prefix = format!("b{}-cl", ctx.tag);
    let clients = population::clients(
        &ctx.api,
        &bases,
        &prefix,
        p.claim_threads,
        p.setup_concurrency,
    )
    .await?;
    let agents = population::agents(
        &ctx.api,
        &bases,
        &ctx.admin.token,
        &prefix,
        p.claim_agents,
        p.setup_concurrency,
    )
    .await?;
    let threads: Vec<i64> = clients.iter().map(|c| c.thread).collect();

    let mut attempts = 0u64;
    let mut racing = 0f64;
    let mut double_wins = 0u64;
    let mut no_winner = 0u64;
    let mut wrong_holder = 0u64;
    let mut errors = 0u64;
    for round in 0..p.claim_rounds {
        let start = Instant::now();
        let tasks: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(a, agent)| {
                let api = ctx.api.clone();
                let token = agent.token.clone();
                let agent_id = agent.user_id;
                let base = bases[a % bases.len()].clone();
                // Each agent walks the threads from its own starting point.
                let n = threads.len();
                let order: Vec<i64> = (0..n)
                    .map(|k| threads[(k + a * n / agents.len().max(1)) % n])
                    .collect();
                tokio::spawn(async move {
                    stream::iter(order)
                        .map(|thread| {
                            let (api, token, base) = (api.clone(), token.clone(), base.clone());
                            async move {
                                let outcome = api
                                    .claim(&base, &token, thread)
                                    .await
                                    .unwrap_or(ClaimOutcome::Other(0));
                                (thread, agent_id, outcome)
                            }
                        })
                        .buffer_unordered(PER_AGENT_IN_FLIGHT)
                        .collect::<Vec<_>>()
                        .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.extend(t.await.unwrap_or_default());
        }
        racing += start.elapsed().as_secs_f64();
        attempts += results.len() as u64;

        let mut winners: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
        for (thread, agent, outcome) in &results {
            if *outcome == ClaimOutcome::Won {
                let token = agents
                    .iter()
                    .find(|s| s.user_id == *agent)
                    .map(|s| s.token.clone())
                    .unwrap_or_default();
                winners.entry(*thread).or_default().push((*agent, token));
            }
        }
        for thread in &threads {
            match winners.get(thread).map(Vec::len).unwrap_or(0) {
                1 => {}
                0 => no_winner += 1,
                _ => double_wins += 1,
            }
        }
        for (thread, _agent, outcome) in &results {
            match outcome {
                ClaimOutcome::Won => {}
                ClaimOutcome::Held { holder } => {
                    let winner = winners.get(thread).and_then(|w| w.first()).map(|w| w.0);
                    if holder.is_some() && *holder != winner {
                        wrong_holder += 1;
                    }
                }
                ClaimOutcome::Other(_) => errors += 1,
            }
        }
        // The winners let go, so the next round races for free threads again.
        if round + 1 < p.claim_rounds {
            let releases: Vec<(i64, String)> = winners
                .iter()
                .filter_map(|(thread, w)| w.first().map(|(_, token)| (*thread, token.clone())))
                .collect();
            let api = ctx.api.clone();
            let released: Vec<Result<()>> = stream::iter(releases.into_iter().enumerate())
                .map(|(i, (thread, token))| {
                    let (api, base) = (api.clone(), bases[i % bases.len()].clone());
                    async move { api.release(&base, &token, thread).await }
                })
                .buffer_unordered(p.setup_concurrency)
                .collect()
                .await;
            if let Some(Err(e)) = released.into_iter().find(|r| r.is_err()) {
                sink.note(format!("a release failed: {e:#}"));
                errors += 1;
            }
        }
    }
    sink.figure(
        format!(
            "claim attempts/s ({} agents x {} threads x {} rounds)",
            agents.len(),
            threads.len(),
            p.claim_rounds
        ),
        attempts as f64 / racing.max(1e-9),
        "req/s",
        None,
    );
    sink.figure("claim errors (not 200/409)", errors as f64, "", None);
    sink.check(
        "exactly one holder per thread per round",
        double_wins == 0 && no_winner == 0,
        format!(
            "{} thread-rounds: {double_wins} with two or more 200s, {no_winner} with none",
            threads.len() * p.claim_rounds
        ),
    );
    sink.check(
        "every 409 names the round's winner",
        wrong_holder == 0,
        format!("{wrong_holder} of {attempts} answers named another holder"),
    );
    sink.check(
        "no claim errors",
        errors == 0,
        format!("{errors} answers other than 200/409 (or failed releases)"),
    );
    Ok(sink)
}
