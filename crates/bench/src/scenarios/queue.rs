//! `queue`: the agents' queue (GET /api/v1/queue?limit=50) as stored messages grow. Each level
//! is seeded in bulk straight into Postgres with `generate_series` SQL through `psql` (no client
//! round trip per row), shaped like real traffic so the queue is meaningful: one client and one
//! thread per 10 messages; 60 % of threads waiting (their last 4 messages from the client, with
//! urgency score, reasons and rank key computed as the server computes them), 30 % answered
//! (pending), 10 % resolved.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::cluster::Backend;
use crate::report::Sink;
use crate::stats::Latencies;
use crate::Ctx;

/// Messages per seeded thread.
const PER_THREAD: u64 = 10;
/// Entries per queue page (the console's page).
const PAGE: u32 = 50;

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("queue");
    if ctx.cluster.backend() != Backend::Postgres {
        sink.note("skipped: bulk seeding needs the Postgres backend (run without --embedded)");
        return Ok(sink);
    }
    let p = ctx.params.clone();
    let mut levels = p.queue_levels.clone();
    levels.sort_unstable();
    let mut seeded: u64 = 0;
    for (batch, level) in levels.iter().enumerate() {
        let add = level.saturating_sub(seeded);
        if add > 0 {
            let t = Instant::now();
            seed(ctx, batch, add / PER_THREAD).await?;
            seeded += add / PER_THREAD * PER_THREAD;
            sink.note(format!(
                "seeded {} messages in {} threads in {:.1} s",
                add / PER_THREAD * PER_THREAD,
                add / PER_THREAD,
                t.elapsed().as_secs_f64()
            ));
        }
        let stored: u64 = ctx
            .cluster
            .psql("SELECT count(*) FROM messages")
            .await?
            .parse()
            .context("counting messages")?;
        let waiting: u64 = ctx
            .cluster
            .psql("SELECT count(*) FROM threads WHERE waiting_since_ms IS NOT NULL AND status <> 'resolved'")
            .await?
            .parse()
            .context("counting waiting threads")?;

        // Warm up, then time sequential requests alternating between the instances.
        let mut latencies = Latencies::new();
        let mut failures = 0;
        let mut listed = 0;
        for i in 0..(p.queue_requests + 10) {
            let t0 = Instant::now();
            let result = ctx.api.queue(&ctx.base(i), &ctx.admin.token, PAGE).await;
            let took = t0.elapsed();
            match result {
                Ok((status, n)) if status.is_success() => {
                    listed = n;
                    if i >= 10 {
                        latencies.record(took);
                    }
                }
                _ => failures += 1,
            }
        }
        let what = format!(
            "GET /api/v1/queue?limit={PAGE} with {} stored messages",
            human(stored)
        );
        let target = (stored >= 1_000_000).then_some(10.0);
        sink.latency(&what, &latencies.summary(), None, target);
        sink.note(format!(
            "{}: {waiting} threads waiting, {listed} listed per page, {failures} failed requests",
            human(stored)
        ));
        if let Ok(plan_ms) = explain_queue(ctx).await {
            sink.figure(
                format!(
                    "queue SQL alone (EXPLAIN ANALYZE) with {} stored messages",
                    human(stored)
                ),
                plan_ms,
                "ms",
                None,
            );
        }
        sink.check(
            format!("queue answers with {} stored messages", human(stored)),
            failures == 0 && listed > 0,
            format!("{failures} failures; {listed} entries on the last page"),
        );
    }
    Ok(sink)
}

/// Adds `threads` threads of [`PER_THREAD`] messages each, with one new client per thread.
async fn seed(ctx: &Ctx, batch: usize, threads: u64) -> Result<()> {
    if threads == 0 {
        return Ok(());
    }
    let prefix = format!("q{}-{batch}-", ctx.tag);
    let agent = ctx.admin.user_id;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // Not a valid bcrypt hash: seeded clients cannot log in, and no time goes into hashing.
    let sql = format!(
        r#"
BEGIN;
INSERT INTO users (username, password_hash, role, created_at_ms)
SELECT '{prefix}' || g, '!seeded-no-login', 'client', {now_ms} - 4 * 86400000
FROM generate_series(1, {threads}) AS g;

CREATE TEMP TABLE seed_threads ON COMMIT DROP AS
SELECT u.id AS client_id, x.g, x.tt, x.base,
       CASE WHEN x.g % 10 < 6 THEN 'open' WHEN x.g % 10 < 9 THEN 'pending' ELSE 'resolved' END AS status,
       (CASE x.tt WHEN 1 THEN 10 WHEN 2 THEN 5 ELSE 0 END) + (CASE WHEN x.g % 7 = 0 THEN 160 ELSE 60 END) + 60 AS score,
       x.g % 7 = 0 AS blocked
FROM users u
CROSS JOIN LATERAL (
    SELECT substr(u.username, {plen})::bigint AS g,
           1 + substr(u.username, {plen})::bigint % 3 AS tt,
           {now_ms} - 60000 - (substr(u.username, {plen})::bigint * 7919) % 259200000 AS base
) x
WHERE u.username LIKE '{prefix}%';

INSERT INTO threads (client_id, thread_type, status, agent_id, created_at_ms, last_activity_at_ms,
                     last_seq, waiting_since_ms, urgency_score, urgency_reasons, rank_key)
SELECT client_id, tt, status,
       {agent},
       base, base + {per} * 1000, {per},
       CASE WHEN status = 'open' THEN base + 7000 END,
       CASE WHEN status = 'open' THEN score ELSE 0 END,
       CASE WHEN status = 'open' THEN
            '[' || (CASE WHEN blocked THEN '"account blocked"' ELSE '"no sign of urgency"' END)
            || (CASE tt WHEN 1 THEN ',"loan topic (+10)"' WHEN 2 THEN ',"payment topic (+5)"' ELSE '' END)
            || ',"4 unanswered messages"]'
            ELSE '[]' END,
       CASE WHEN status = 'open' THEN score * 60000 - (base + 7000) ELSE -9223372036854775808 END
FROM seed_threads;

INSERT INTO messages (thread_id, seq, sender_id, sender_role, body, created_at_ms, is_read)
SELECT t.id, s,
       CASE WHEN (s <= 6 AND s % 2 = 0) OR (t.status <> 'open' AND s = {per}) THEN {agent} ELSE t.client_id END,
       CASE WHEN (s <= 6 AND s % 2 = 0) OR (t.status <> 'open' AND s = {per}) THEN 'admin' ELSE 'client' END,
       CASE WHEN st.blocked AND s = 7 THEN 'my card is blocked, thread ' || t.id
            ELSE 'question ' || s || ' about my account, thread ' || t.id || ' ' || md5(t.id::text || s::text) END,
       t.created_at_ms + s * 1000,
       t.status <> 'open' OR s < 7
FROM threads t
JOIN seed_threads st ON st.client_id = t.client_id
CROSS JOIN generate_series(1, {per}) AS s;
COMMIT;
ANALYZE users; ANALYZE threads; ANALYZE messages;
"#,
        plen = prefix.len() + 1,
        per = PER_THREAD,
    );
    ctx.cluster.psql(&sql).await.context("bulk seeding")?;
    Ok(())
}

/// The store's queue query under EXPLAIN ANALYZE; its execution time in ms.
async fn explain_queue(ctx: &Ctx) -> Result<f64> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let plan = ctx
        .cluster
        .psql(&format!(
            "EXPLAIN (ANALYZE, FORMAT TEXT) SELECT * FROM threads \
             WHERE status <> 'resolved' AND waiting_since_ms IS NOT NULL \
             AND (claim_until_ms IS NULL OR claim_until_ms <= {now_ms}) \
             ORDER BY rank_key DESC, waiting_since_ms ASC, id ASC LIMIT {PAGE}"
        ))
        .await?;
    let line = plan
        .lines()
        .find(|l| l.trim_start().starts_with("Execution Time:"))
        .context("no execution time in the plan")?;
    let ms = line
        .split_whitespace()
        .nth(2)
        .and_then(|v| v.parse::<f64>().ok())
        .context("unreadable execution time")?;
    Ok(ms)
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
