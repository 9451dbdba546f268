//! Reports, computed in the database from a daily rollup (migration
//! `2026-12-01-000002_report_rollup`): `report_daily` counts each UTC day's openings, ended
//! clocks (answered, measured, met) and ratings per thread type and agent, and `report_hist`
//! counts answered clocks' seconds per bucket (`chat_domain::report::lower_bounds`) per type
//! and per agent. Triggers keep both in the same transaction as the change they count, so the
//! store's writes stay as they were and a bulk load or backfill is counted too; except that on
//! Postgres an ended clock goes to `report_inbox` first (migration
//! `2026-12-02-000000_report_inbox`), which the sweep folds into the rollup
//! (`ReportStore::fold_reports`), and a report reads the inbox's clocks of its whole days raw
//! beside the rollup, in the same snapshot, so each ended clock counts once either way.
//!
//! A report reads the whole UTC days of its range from the rollup (a few rows per day and
//! group) and its partial edge days raw from `sla_clocks`, `threads` and `ratings` (their
//! indexes by time); grouping by label reads everything raw (a thread's labels *now*). Counts
//! are exact either way. Percentiles are exact (from every value, counted by second in SQL)
//! while the report has at most `EXACT_PERCENTILES_UP_TO` values behind them; above, the
//! whole days' bucket counts and the edges' values in their buckets give them within
//! `BUCKET_ERROR`, exactly as the memory store computes them.

use std::collections::BTreeMap;

use chat_domain::ports::ReportStore;
use chat_domain::report::{
    day_key, AgentRow, Distribution, GroupBy, ReportRange, SummaryRow, EXACT_PERCENTILES_UP_TO,
};
use chat_domain::thread::ThreadType;
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;

/// One UTC day in milliseconds (the rollup's unit).
const DAY_MS: i64 = 86_400_000;

/// A zero both backends read as a `BigInt` (Postgres' plain `0` is a 4-byte integer).
const ZERO: &str = "CAST(0 AS BIGINT)";

/// What a group's key is made of, per source (`t` threads, `c` clocks, `r` ratings, `d` the
/// daily rollup, `h` the histograms), and the join each raw read needs (`tl` a thread's
/// labels: a thread with two labels counts in both groups, one without any in `none`).
struct Grouping {
    threads: &'static str,
    threads_join: &'static str,
    clocks: &'static str,
    clocks_join: &'static str,
    ratings: &'static str,
    ratings_join: &'static str,
    /// The rollup's key and histogram dimension; `None`: this grouping is read raw.
    rollup: Option<(&'static str, &'static str, &'static str)>,
}

fn grouping(group_by: GroupBy) -> Grouping {
    match group_by {
        GroupBy::Day => Grouping {
            threads: "(t.created_at_ms / 86400000)",
            threads_join: "",
            clocks: "(c.ended_at_ms / 86400000)",
            clocks_join: "",
            ratings: "(r.created_at_ms / 86400000)",
            ratings_join: "",
            rollup: Some(("d.day", "h.day", "type")),
        },
        GroupBy::Agent => Grouping {
            threads: "COALESCE(t.agent_id, -1)",
            threads_join: "",
            clocks: "COALESCE(c.agent_id, -1)",
            clocks_join: "",
            ratings: "COALESCE(r.agent_id, -1)",
            ratings_join: "",
            rollup: Some(("d.agent_id", "h.key", "agent")),
        },
        GroupBy::Type => Grouping {
            threads: "CAST(t.thread_type AS BIGINT)",
            threads_join: "",
            clocks: "CAST(c.thread_type AS BIGINT)",
            clocks_join: "",
            // A look-up per rating (an edge day has a few thousand), not a join with every
            // thread (Postgres would hash all of them).
            ratings:
                "CAST((SELECT t.thread_type FROM threads t WHERE t.id = r.thread_id) AS BIGINT)",
            ratings_join: "",
            rollup: Some(("CAST(d.thread_type AS BIGINT)", "h.key", "type")),
        },
        GroupBy::Label => Grouping {
            threads: "COALESCE(tl.label_id, -1)",
            threads_join: " LEFT JOIN thread_labels tl ON tl.thread_id = t.id",
            clocks: "COALESCE(tl.label_id, -1)",
            clocks_join: " LEFT JOIN thread_labels tl ON tl.thread_id = c.thread_id",
            ratings: "COALESCE(tl.label_id, -1)",
            ratings_join: " LEFT JOIN thread_labels tl ON tl.thread_id = r.thread_id",
            rollup: None,
        },
    }
}

fn key(group_by: GroupBy, g: i64) -> String {
    match group_by {
        GroupBy::Day => day_key(g),
        GroupBy::Agent | GroupBy::Label if g < 0 => "none".to_owned(),
        GroupBy::Agent | GroupBy::Label => g.to_string(),
        GroupBy::Type => ThreadType::from_code(g)
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|_| g.to_string()),
    }
}

/// `?N` placeholders as each backend spells them.
fn placeholders(conn: &DbConnection, sql: String) -> String {
    match conn {
        DbConnection::Postgresql(_) => sql.replace('?', "$"),
        DbConnection::Sqlite(_) => sql,
    }
}

/// A group's count of one fact, from the rollup or raw: `opened` (n threads), a clock kind
/// (n ended, answered with seconds, measured with a target, met) or `rating` (n, total score).
#[derive(QueryableByName)]
struct Fact {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = Text)]
    fact: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    measured: i64,
    #[diesel(sql_type = BigInt)]
    met: i64,
}

/// How many values `x` (seconds, or a bucket) a group has of one kind.
#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    x: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many ended clocks a fold moved into the rollup.
#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn load<T: QueryableByName<<DbConnection as diesel::Connection>::Backend> + 'static>(
    conn: &mut DbConnection,
    sql: String,
    binds: &[i64],
) -> Result<Vec<T>, StoreError> {
    let sql = placeholders(conn, sql);
    let mut query = diesel::sql_query(sql).into_boxed();
    for b in binds {
        query = query.bind::<BigInt, _>(*b);
    }
    Ok(query.load(conn)?)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A range cut at UTC midnights: the whole days `[first, end)` the rollup answers for, and the
/// partial days at either edge, read raw. A range within one day (or before 1970) is all edge.
struct Split {
    days: Option<(i64, i64)>,
    edges: Vec<ReportRange>,
}

fn split(range: ReportRange) -> Split {
    let (from, to) = (range.from.millis(), range.to.millis());
    if to <= from {
        return Split {
            days: None,
            edges: Vec::new(),
        };
    }
    let first = from.div_euclid(DAY_MS) + i64::from(from.rem_euclid(DAY_MS) != 0);
    let end = to.div_euclid(DAY_MS);
    if from < 0 || first >= end {
        return Split {
            days: None,
            edges: vec![range],
        };
    }
    let mut edges = Vec::new();
    if from < first * DAY_MS {
        edges.push(ReportRange::new(range.from, Timestamp(first * DAY_MS)));
    }
    if end * DAY_MS < to {
        edges.push(ReportRange::new(Timestamp(end * DAY_MS), range.to));
    }
    Split {
        days: Some((first, end)),
        edges,
    }
}

/// The whole days' facts, per group: the rollup's (`g` its key expression over `d`), plus the
/// inbox's ended clocks of those days, which the rollup does not count yet.
fn whole_day_facts(
    conn: &mut DbConnection,
    g: &str,
    grp: &Grouping,
    days: (i64, i64),
) -> Result<Vec<Fact>, StoreError> {
    let sql = format!(
        "SELECT {g} AS g, d.fact AS fact, CAST(SUM(d.n) AS BIGINT) AS n, \
         CAST(SUM(d.answered) AS BIGINT) AS answered, CAST(SUM(d.total) AS BIGINT) AS total, \
         CAST(SUM(d.measured) AS BIGINT) AS measured, CAST(SUM(d.met) AS BIGINT) AS met \
         FROM report_daily d WHERE d.day >= ?1 AND d.day < ?2 GROUP BY {g}, d.fact"
    );
    let mut facts: Vec<Fact> = load(conn, sql, &[days.0, days.1])?;
    if let Some(inbox) = inbox_clocks(conn, grp.clocks_join) {
        facts.extend(clock_facts(conn, grp, &inbox, whole_days(days))?);
    }
    Ok(facts)
}

/// The same facts counted raw over a range.
fn raw_facts(
    conn: &mut DbConnection,
    grp: &Grouping,
    range: ReportRange,
) -> Result<Vec<Fact>, StoreError> {
    let binds = [range.from.millis(), range.to.millis()];
    let mut facts: Vec<Fact> = load(
        conn,
        format!(
            "SELECT {g} AS g, 'opened' AS fact, COUNT(*) AS n, {zero} AS answered, \
             {zero} AS total, {zero} AS measured, {zero} AS met FROM threads t{join} \
             WHERE t.created_at_ms >= ?1 AND t.created_at_ms < ?2 GROUP BY {g}",
            g = grp.threads,
            join = grp.threads_join,
            zero = ZERO,
        ),
        &binds,
    )?;
    facts.extend(clock_facts(conn, grp, &all_clocks(grp.clocks_join), range)?);
    facts.extend(load::<Fact>(
        conn,
        format!(
            "SELECT {g} AS g, 'rating' AS fact, COUNT(*) AS n, {zero} AS answered, \
             CAST(SUM(r.score) AS BIGINT) AS total, {zero} AS measured, {zero} AS met \
             FROM ratings r{join} \
             WHERE r.created_at_ms >= ?1 AND r.created_at_ms < ?2 GROUP BY {g}",
            g = grp.ratings,
            join = grp.ratings_join,
            zero = ZERO,
        ),
        &binds,
    )?);
    Ok(facts)
}

/// Ended clocks' facts over a range, per group and kind (`source`: the clocks read, as
/// [`all_clocks`] or [`inbox_clocks`] give them).
fn clock_facts(
    conn: &mut DbConnection,
    grp: &Grouping,
    source: &str,
    range: ReportRange,
) -> Result<Vec<Fact>, StoreError> {
    load(
        conn,
        format!(
            "SELECT {g} AS g, c.kind AS fact, COUNT(*) AS n, COUNT(c.seconds) AS answered, \
             {zero} AS total, COUNT(c.met) AS measured, \
             COUNT(CASE WHEN c.met THEN 1 END) AS met \
             FROM {source} WHERE c.kind IN ('first_response', 'next_response', \
             'resolution') AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 GROUP BY {g}, c.kind",
            g = grp.clocks,
            zero = ZERO,
        ),
        &[range.from.millis(), range.to.millis()],
    )
}

/// Whether ended clocks wait in `report_inbox` until the sweep folds them into the rollup
/// (Postgres, migration `2026-12-02-000000_report_inbox`: no transaction ending a clock waits on
/// a shared rollup row); SQLite's triggers add them to the rollup directly (one writer).
fn has_inbox(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgresql(_))
}

/// Every clock (`c`), then the grouping's join.
fn all_clocks(grouping_join: &str) -> String {
    format!("sla_clocks c{grouping_join}")
}

/// Only the clocks waiting in the inbox (`c`), then the grouping's join; `None` without an
/// inbox. Read raw beside the rollup, in the same snapshot. The inbox drives the read (a
/// look-up per waiting clock): the planner, trusting an inbox it has no statistics for, chose to
/// read a month of clocks and join them with an empty inbox.
fn inbox_clocks(conn: &DbConnection, grouping_join: &str) -> Option<String> {
    has_inbox(conn).then(|| {
        format!(
            "report_inbox ri CROSS JOIN LATERAL \
             (SELECT * FROM sla_clocks WHERE sla_clocks.id = ri.clock_id) c{grouping_join}"
        )
    })
}

/// The whole days `[first, end)` as a range.
fn whole_days((first, end): (i64, i64)) -> ReportRange {
    ReportRange::new(Timestamp(first * DAY_MS), Timestamp(end * DAY_MS))
}

/// Answered clocks of `kinds` (SQL list) ended in a range, counted per group, kind and second
/// (`source`: as [`all_clocks`] or [`inbox_clocks`] give it).
fn raw_values(
    conn: &mut DbConnection,
    (g, source): (&str, &str),
    kinds: &str,
    extra: &str,
    range: ReportRange,
) -> Result<Vec<Counted>, StoreError> {
    let sql = format!(
        "SELECT {g} AS g, c.kind AS kind, c.seconds AS x, COUNT(*) AS n \
         FROM {source} WHERE c.kind IN ({kinds}) AND c.ended_at_ms >= ?1 \
         AND c.ended_at_ms < ?2 AND c.seconds IS NOT NULL{extra} GROUP BY {g}, c.kind, c.seconds"
    );
    load(conn, sql, &[range.from.millis(), range.to.millis()])
}

/// The whole days' bucket counts of `kinds` (SQL list) in one dimension, per group.
fn rollup_buckets(
    conn: &mut DbConnection,
    (g, dim): (&str, &str),
    kinds: &str,
    (first, end): (i64, i64),
) -> Result<Vec<Counted>, StoreError> {
    let sql = format!(
        "SELECT {g} AS g, h.kind AS kind, CAST(h.bucket AS BIGINT) AS x, \
         CAST(SUM(h.n) AS BIGINT) AS n FROM report_hist h \
         WHERE h.dim = '{dim}' AND h.kind IN ({kinds}) AND h.day >= ?1 AND h.day < ?2 \
         GROUP BY {g}, h.kind, h.bucket"
    );
    load(conn, sql, &[first, end])
}

/// A summary group being added up.
#[derive(Default)]
struct Tally {
    row: SummaryRow,
    /// Whether any fact counted here (a group with only moved openings has none).
    seen: bool,
    first_answered: u64,
    first: Distribution,
    resolution: Distribution,
}

impl Tally {
    fn add(&mut self, f: &Fact) {
        if f.n == 0 {
            return;
        }
        self.seen = true;
        match f.fact.as_str() {
            "opened" => self.row.opened += count(f.n),
            "rating" => {
                self.row.rating_sum += f.total;
                self.row.rating_count += count(f.n);
            }
            kind => {
                self.row.sla_measured += count(f.measured);
                self.row.sla_met += count(f.met);
                match kind {
                    "resolution" => self.row.resolved += count(f.answered),
                    "first_response" => self.first_answered += count(f.answered),
                    _ => {}
                }
            }
        }
    }

    fn add_values(&mut self, c: &Counted, buckets: bool) {
        let d = match c.kind.as_str() {
            "first_response" => &mut self.first,
            "resolution" => &mut self.resolution,
            _ => return,
        };
        if buckets {
            d.add_bucket(usize::try_from(c.x).unwrap_or(0), count(c.n));
        } else {
            d.add(c.x, count(c.n));
        }
    }
}

/// An agent's row being added up.
struct AgentTally {
    row: AgentRow,
    responses: Distribution,
}

fn agent_tally(rows: &mut BTreeMap<i64, AgentTally>, g: i64) -> &mut AgentTally {
    rows.entry(g).or_insert_with(|| AgentTally {
        row: AgentRow::new(UserId(g)),
        responses: Distribution::default(),
    })
}

impl AgentTally {
    /// Adds a fact to its agent's row (facts without an agent, and openings, count nothing).
    fn add(rows: &mut BTreeMap<i64, AgentTally>, f: &Fact) {
        if f.g < 0 {
            return;
        }
        match f.fact.as_str() {
            "rating" if f.n > 0 => {
                let r = &mut agent_tally(rows, f.g).row;
                r.rating_sum += f.total;
                r.rating_count += count(f.n);
            }
            "resolution" if f.answered > 0 => {
                agent_tally(rows, f.g).row.resolved += count(f.answered);
            }
            "first_response" | "next_response" if f.answered > 0 => {
                agent_tally(rows, f.g).row.responses += count(f.answered);
            }
            _ => {}
        }
    }
}

/// Runs a report's queries in one transaction, so the rollup and the raw edges are read from
/// one snapshot (Postgres: read-only, repeatable read, which never fails for want of
/// serialisation; SQLite: a deferred transaction, one snapshot of the WAL).
fn report<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.transaction(|conn| {
        if let DbConnection::Postgresql(_) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        f(conn)
    })
}

fn summary(
    conn: &mut DbConnection,
    range: ReportRange,
    group_by: GroupBy,
) -> Result<Vec<SummaryRow>, StoreError> {
    let grp = grouping(group_by);
    let parts = match grp.rollup {
        Some(_) => split(range),
        None => Split {
            days: None,
            edges: (range.from < range.to)
                .then_some(range)
                .into_iter()
                .collect(),
        },
    };
    let mut tallies: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut facts = Vec::new();
    if let (Some(days), Some((g, _, _))) = (parts.days, grp.rollup) {
        facts.extend(whole_day_facts(conn, g, &grp, days)?);
    }
    for edge in &parts.edges {
        facts.extend(raw_facts(conn, &grp, *edge)?);
    }
    for f in &facts {
        tallies.entry(f.g).or_default().add(f);
    }
    let values: u64 = tallies
        .values()
        .map(|t| t.first_answered + t.row.resolved)
        .sum();
    let exact = values <= EXACT_PERCENTILES_UP_TO;
    let kinds = "'first_response', 'resolution'";
    let every = all_clocks(grp.clocks_join);
    let clocks = (grp.clocks, every.as_str());
    if exact {
        for c in raw_values(conn, clocks, kinds, "", range)? {
            tallies.entry(c.g).or_default().add_values(&c, false);
        }
    } else {
        if let (Some(days), Some((_, g, dim))) = (parts.days, grp.rollup) {
            for c in rollup_buckets(conn, (g, dim), kinds, days)? {
                tallies.entry(c.g).or_default().add_values(&c, true);
            }
            if let Some(inbox) = inbox_clocks(conn, grp.clocks_join) {
                for c in raw_values(conn, (grp.clocks, &inbox), kinds, "", whole_days(days))? {
                    tallies.entry(c.g).or_default().add_values(&c, false);
                }
            }
        }
        for edge in &parts.edges {
            for c in raw_values(conn, clocks, kinds, "", *edge)? {
                tallies.entry(c.g).or_default().add_values(&c, false);
            }
        }
    }
    let mut rows: BTreeMap<String, SummaryRow> = BTreeMap::new();
    for (g, t) in tallies {
        if !t.seen {
            continue;
        }
        let mut row = t.row;
        row.key = key(group_by, g);
        row.first_response = t.first.percentiles(exact);
        row.resolution = t.resolution.percentiles(exact);
        rows.insert(row.key.clone(), row);
    }
    Ok(rows.into_values().collect())
}

fn agents(
    conn: &mut DbConnection,
    range: ReportRange,
    now: Timestamp,
) -> Result<Vec<AgentRow>, StoreError> {
    let mut rows: BTreeMap<i64, AgentTally> = BTreeMap::new();
    let held: Vec<Count> = load(
        conn,
        "SELECT t.claim_agent_id AS g, COUNT(*) AS n FROM threads t \
         WHERE t.claim_agent_id IS NOT NULL AND t.claim_until_ms > ?1 \
         GROUP BY t.claim_agent_id"
            .to_owned(),
        &[now.millis()],
    )?;
    for c in held {
        agent_tally(&mut rows, c.g).row.held = count(c.n);
    }
    let grp = grouping(GroupBy::Agent);
    let parts = split(range);
    if let Some(days) = parts.days {
        for f in whole_day_facts(conn, "d.agent_id", &grp, days)? {
            AgentTally::add(&mut rows, &f);
        }
    }
    for edge in &parts.edges {
        for f in raw_facts(conn, &grp, *edge)? {
            AgentTally::add(&mut rows, &f);
        }
    }
    let values: u64 = rows.values().map(|t| t.row.responses).sum();
    let exact = values <= EXACT_PERCENTILES_UP_TO;
    let kinds = "'first_response', 'next_response'";
    let every = all_clocks("");
    let clocks = ("c.agent_id", every.as_str());
    let agent = " AND c.agent_id IS NOT NULL";
    let mut counted = Vec::new();
    if exact {
        counted.extend(raw_values(conn, clocks, kinds, agent, range)?);
    } else {
        if let Some(days) = parts.days {
            for c in rollup_buckets(conn, ("h.key", "agent"), "'response'", days)? {
                if c.g >= 0 {
                    agent_tally(&mut rows, c.g)
                        .responses
                        .add_bucket(usize::try_from(c.x).unwrap_or(0), count(c.n));
                }
            }
            if let Some(inbox) = inbox_clocks(conn, "") {
                counted.extend(raw_values(
                    conn,
                    ("c.agent_id", &inbox),
                    kinds,
                    agent,
                    whole_days(days),
                )?);
            }
        }
        for edge in &parts.edges {
            counted.extend(raw_values(conn, clocks, kinds, agent, *edge)?);
        }
    }
    for c in counted {
        agent_tally(&mut rows, c.g).responses.add(c.x, count(c.n));
    }
    Ok(rows
        .into_values()
        .map(|t| {
            let mut row = t.row;
            row.response = t.responses.percentiles(exact);
            row
        })
        .collect())
}

impl ReportStore for SqlStore {
    fn report_summary(
        &self,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>> {
        self.run(|conn| report(conn, |conn| summary(conn, range, group_by)))
    }

    fn report_agents(&self, range: ReportRange, now: Timestamp) -> DomainResult<Vec<AgentRow>> {
        self.run(|conn| report(conn, |conn| agents(conn, range, now)))
    }

    fn fold_reports(&self, max: u32) -> DomainResult<u64> {
        self.run(|conn| {
            if !has_inbox(conn) {
                return Ok(0);
            }
            let folded: Vec<Folded> = load(
                conn,
                "SELECT CAST(report_fold(CAST(?1 AS INTEGER)) AS BIGINT) AS n".to_owned(),
                &[i64::from(max)],
            )?;
            Ok(folded.first().map_or(0, |f| count(f.n)))
        })
    }
}
