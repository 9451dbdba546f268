//! `reports`: the summary and agents reports (`GET /api/v1/reports/*`) and a staff list with
//! two filters (`GET /api/v1/threads?status=open&assignee=<id>`) over a bulk-seeded desk: by
//! default 100k threads with 10 messages each (1M messages), seeded straight into Postgres with
//! `generate_series` through `psql` as the `queue` scenario does, over the last 30 days: 20
//! agents, 30 % of threads open and 20 % pending (held by their agent), 50 % resolved; per
//! thread a first response and four next responses (SLA clocks ended, 30 s to 15 min), a
//! resolution clock and a rating for resolved ones.

use std::time::Instant;

use anyhow::{Context, Result};
use reqwest::StatusCode;

use crate::cluster::Backend;
use crate::report::Sink;
use crate::stats::Latencies;
use crate::Ctx;

/// Messages per seeded thread.
const PER_THREAD: u64 = 10;
/// Seeded agents.
const AGENTS: u64 = 20;

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("reports");
    if ctx.cluster.backend() != Backend::Postgres {
        sink.note("skipped: bulk seeding needs the Postgres backend (run without --embedded)");
        return Ok(sink);
    }
    let threads = ctx.params.reports_threads;
    let requests = ctx.params.reports_requests;
    let t = Instant::now();
    let agent = seed(ctx, threads).await?;
    let stored: u64 = ctx
        .cluster
        .psql("SELECT count(*) FROM messages")
        .await?
        .parse()
        .context("counting messages")?;
    sink.note(format!(
        "seeded {threads} threads ({} messages) in {:.1} s; {stored} messages stored",
        threads * PER_THREAD,
        t.elapsed().as_secs_f64()
    ));
    let now_ms = now_ms();
    let range = format!(
        "from={}&to={}",
        rfc3339(now_ms - 31 * 86_400_000),
        rfc3339(now_ms + 60_000)
    );
    let full = stored >= 1_000_000;
    let cases = [
        (
            format!("/api/v1/reports/summary?{range}&group_by=day"),
            "GET /api/v1/reports/summary?group_by=day (31 days)",
            100.0,
        ),
        (
            format!("/api/v1/reports/summary?{range}&group_by=agent"),
            "GET /api/v1/reports/summary?group_by=agent (31 days)",
            100.0,
        ),
        (
            format!("/api/v1/reports/summary?{range}&group_by=type"),
            "GET /api/v1/reports/summary?group_by=type (31 days)",
            100.0,
        ),
        (
            format!("/api/v1/reports/agents?{range}"),
            "GET /api/v1/reports/agents (31 days)",
            100.0,
        ),
        (
            format!("/api/v1/threads?status=open&assignee={agent}&limit=50"),
            "GET /api/v1/threads?status=open&assignee=<agent>&limit=50",
            20.0,
        ),
    ];
    for (path, what, target) in cases {
        let mut latencies = Latencies::new();
        let mut failures = 0;
        let mut last = String::new();
        for i in 0..(requests + 5) {
            let t0 = Instant::now();
            let resp = ctx
                .api
                .get_text(&format!("{}{path}", ctx.base(i)), &ctx.admin.token)
                .await;
            let took = t0.elapsed();
            match resp {
                Ok((StatusCode::OK, text)) => {
                    last = text;
                    if i >= 5 {
                        latencies.record(took);
                    }
                }
                Ok((status, text)) => {
                    failures += 1;
                    last = format!("{status}: {text}");
                }
                Err(e) => {
                    failures += 1;
                    last = e.to_string();
                }
            }
        }
        let what = format!("{what} over {} stored messages", human(stored));
        sink.latency(&what, &latencies.summary(), None, full.then_some(target));
        let answered = failures == 0 && last.len() > 20 && !last.contains("\"rows\":[]");
        sink.check(
            format!("{what} answers with figures"),
            answered,
            format!("{failures} failures; last answer {}", truncate(&last, 160)),
        );
    }
    Ok(sink)
}

/// Seeds `threads` threads over the last 30 days; returns one seeded agent's id (it holds the
/// open threads of its share).
async fn seed(ctx: &Ctx, threads: u64) -> Result<i64> {
    let prefix = format!("r{}-", ctx.tag);
    let now = now_ms();
    let sql = format!(
        r#"
BEGIN;
INSERT INTO users (username, password_hash, role, created_at_ms)
SELECT '{prefix}a' || g, '!seeded-no-login', 'agent', {now} - 40::bigint * 86400000
FROM generate_series(1, {AGENTS}) AS g;
INSERT INTO users (username, password_hash, role, created_at_ms)
SELECT '{prefix}c' || g, '!seeded-no-login', 'client', {now} - 40::bigint * 86400000
FROM generate_series(1, {threads}) AS g;

CREATE TEMP TABLE seed_agents ON COMMIT DROP AS
SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS k FROM users WHERE username LIKE '{prefix}a%';

CREATE TEMP TABLE seed_threads ON COMMIT DROP AS
SELECT u.id AS client_id, x.g, 1 + x.g % 3 AS tt,
       {now} - 120000 - (x.g * 7919) % (30::bigint * 86400000) AS base,
       CASE WHEN x.g % 10 < 3 THEN 'open' WHEN x.g % 10 < 5 THEN 'pending' ELSE 'resolved' END AS status,
       a.id AS agent
FROM users u
CROSS JOIN LATERAL (SELECT substr(u.username, {plen})::bigint AS g) x
JOIN seed_agents a ON a.k = x.g % {AGENTS}
WHERE u.username LIKE '{prefix}c%';

INSERT INTO threads (client_id, thread_type, status, claim_agent_id, claim_until_ms, agent_id,
                     created_at_ms, last_activity_at_ms, last_seq, waiting_since_ms, urgency_score,
                     urgency_reasons, rank_key)
SELECT client_id, tt, status,
       CASE WHEN status <> 'resolved' THEN agent END,
       CASE WHEN status <> 'resolved' THEN {now} + 86400000 END,
       agent, base, base + {per} * 1000, {per}, NULL, 0, '[]', -9223372036854775808
FROM seed_threads;

INSERT INTO messages (thread_id, seq, sender_id, sender_role, body, created_at_ms, is_read)
SELECT t.id, s,
       CASE WHEN s % 2 = 1 THEN t.client_id ELSE t.agent_id END,
       CASE WHEN s % 2 = 1 THEN 'client' ELSE 'agent' END,
       'message ' || s || ' about my account, thread ' || t.id,
       t.created_at_ms + s * 1000, true
FROM threads t
JOIN seed_threads st ON st.client_id = t.client_id
CROSS JOIN generate_series(1, {per}) AS s;

INSERT INTO sla_clocks (thread_id, thread_type, kind, track, started_at_ms, target_seconds,
                        due_at_ms, ended_at_ms, agent_id, seconds, met)
SELECT t.id, t.thread_type, CASE WHEN k = 0 THEN 'first_response' ELSE 'next_response' END,
       'response', t.created_at_ms + k * 2000, 300, t.created_at_ms + k * 2000 + 300000,
       t.created_at_ms + k * 2000 + v.sec * 1000, t.agent_id, v.sec, v.sec <= 300
FROM threads t
JOIN seed_threads st ON st.client_id = t.client_id
CROSS JOIN generate_series(0, 4) AS k
CROSS JOIN LATERAL (SELECT (st.g * 13 + k * 97) % 900 + 30 AS sec) v;

INSERT INTO sla_clocks (thread_id, thread_type, kind, track, started_at_ms, target_seconds,
                        due_at_ms, ended_at_ms, agent_id, seconds, met)
SELECT t.id, t.thread_type, 'resolution', 'resolution', t.created_at_ms, 28800,
       t.created_at_ms + 28800000, t.created_at_ms + v.sec * 1000, t.agent_id, v.sec, v.sec <= 28800
FROM threads t
JOIN seed_threads st ON st.client_id = t.client_id
CROSS JOIN LATERAL (SELECT (st.g * 31) % 86400 + 600 AS sec) v
WHERE st.status = 'resolved';

INSERT INTO ratings (thread_id, client_id, agent_id, score, comment, resolution_seq, created_at_ms)
SELECT t.id, t.client_id, t.agent_id, 1 + st.g % 5, NULL, {per}, t.created_at_ms + 90000000
FROM threads t
JOIN seed_threads st ON st.client_id = t.client_id
WHERE st.status = 'resolved';
COMMIT;
ANALYZE users; ANALYZE threads; ANALYZE messages; ANALYZE sla_clocks; ANALYZE ratings;
SELECT min(id) FROM users WHERE username LIKE '{prefix}a%';
"#,
        plen = prefix.len() + 2,
        per = PER_THREAD,
    );
    let out = ctx.cluster.psql(&sql).await.context("bulk seeding")?;
    // The seeded clocks ended in the inbox; the instances' sweep would fold them into the
    // rollup a batch per tick. Folded at once here, so the timed reports start from a settled
    // desk (its inbox holds the last second's clock ends, not a month's).
    ctx.cluster
        .psql("SELECT report_fold(2000000000)")
        .await
        .context("folding the seeded clocks into the rollup")?;
    // What autovacuum does soon after a bulk insert (its insert threshold): the visibility map
    // lets the reports read `sla_clocks_report` by index-only scans, the rollup the seed's
    // inserts filled (through its triggers and the fold) gets its statistics, and the inbox
    // loses the 550k rows the fold deleted (every report reads the inbox). A statement of its
    // own: VACUUM cannot run inside the seeding's transaction block.
    ctx.cluster
        .psql(
            "VACUUM (ANALYZE) threads, sla_clocks, ratings, report_daily, report_hist, \
             report_inbox",
        )
        .await
        .context("vacuuming the seeded tables")?;
    out.lines()
        .rev()
        .find_map(|l| l.trim().parse::<i64>().ok())
        .context("no seeded agent id")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
