//! Reports, computed in the database: counts and sums grouped there, and percentiles there too.
//! Postgres reads each report's clocks in one pass (counts, `percentile_cont` with `FILTER`,
//! `work_mem` raised for the transaction so the sorts stay in memory); SQLite, which has no
//! `percentile_cont`, picks the two order statistics around p50 and p90 with a window function
//! (`ROW_NUMBER` over each group's ordered values) and `chat_domain::report::interpolate` does
//! the rest. Both follow `percentile_cont`'s definition, rounded by
//! `chat_domain::report::round_seconds`, so every store gives the same figure.

use std::collections::{BTreeMap, HashMap};

use chat_domain::ports::ReportStore;
use chat_domain::report::{
    day_key, interpolate, pick, round_seconds, AgentRow, GroupBy, Percentiles, ReportRange,
    SummaryRow,
};
use chat_domain::thread::ThreadType;
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable};

use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;

/// What a group's key is made of, per source table (`t` threads, `c` clocks, `r` ratings), and
/// the join each needs (`tl` a thread's labels: a thread with two labels counts in both groups,
/// one without any in `none`).
struct Grouping {
    threads: &'static str,
    threads_join: &'static str,
    clocks: &'static str,
    clocks_join: &'static str,
    ratings: &'static str,
    ratings_join: &'static str,
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
        },
        GroupBy::Agent => Grouping {
            threads: "COALESCE(t.agent_id, -1)",
            threads_join: "",
            clocks: "COALESCE(c.agent_id, -1)",
            clocks_join: "",
            ratings: "COALESCE(r.agent_id, -1)",
            ratings_join: "",
        },
        GroupBy::Type => Grouping {
            threads: "CAST(t.thread_type AS BIGINT)",
            threads_join: "",
            clocks: "CAST(c.thread_type AS BIGINT)",
            clocks_join: "",
            ratings: "CAST(t.thread_type AS BIGINT)",
            ratings_join: " JOIN threads t ON t.id = r.thread_id",
        },
        GroupBy::Label => Grouping {
            threads: "COALESCE(tl.label_id, -1)",
            threads_join: " LEFT JOIN thread_labels tl ON tl.thread_id = t.id",
            clocks: "COALESCE(tl.label_id, -1)",
            clocks_join: " LEFT JOIN thread_labels tl ON tl.thread_id = c.thread_id",
            ratings: "COALESCE(tl.label_id, -1)",
            ratings_join: " LEFT JOIN thread_labels tl ON tl.thread_id = r.thread_id",
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

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct ClockCounts {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    resolved: i64,
    #[diesel(sql_type = BigInt)]
    measured: i64,
    #[diesel(sql_type = BigInt)]
    met: i64,
}

#[derive(QueryableByName)]
struct Rating {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct OrderStat {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    rn: i64,
    #[diesel(sql_type = BigInt)]
    x: i64,
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

/// Per group: the count and p50/p90 of `seconds` of the clocks of `kinds` ended in the range.
fn percentiles(
    conn: &mut DbConnection,
    (group, join): (&str, &str),
    kinds: &str,
    extra: &str,
    range: ReportRange,
) -> Result<HashMap<i64, (u64, Percentiles)>, StoreError> {
    let sql = format!(
        "SELECT g, n, rn, x FROM (SELECT {group} AS g, c.seconds AS x, \
         ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY c.seconds) AS rn, \
         COUNT(*) OVER (PARTITION BY {group}) AS n \
         FROM sla_clocks c{join} WHERE c.kind IN ({kinds}) AND c.ended_at_ms >= ?1 \
         AND c.ended_at_ms < ?2 AND c.seconds IS NOT NULL{extra}) r \
         WHERE rn - 1 IN ((n - 1) * 5 / 10, (n - 1) * 5 / 10 + 1, (n - 1) * 9 / 10, \
         (n - 1) * 9 / 10 + 1)"
    );
    let rows: Vec<OrderStat> = load(conn, sql, &[range.from.millis(), range.to.millis()])?;
    let mut groups: HashMap<i64, (i64, HashMap<i64, i64>)> = HashMap::new();
    for row in rows {
        let entry = groups.entry(row.g).or_insert((row.n, HashMap::new()));
        entry.1.insert(row.rn - 1, row.x);
    }
    Ok(groups
        .into_iter()
        .map(|(g, (n, stats))| {
            let at = |tenths: i64| {
                let p = pick(n, tenths);
                let lower = stats.get(&p.lower).copied()?;
                let upper = stats.get(&(p.lower + 1)).copied().unwrap_or(lower);
                Some(interpolate(lower, upper, p.tenths))
            };
            let count = u64::try_from(n).unwrap_or(0);
            (
                g,
                (
                    count,
                    Percentiles {
                        p50: at(5),
                        p90: at(9),
                    },
                ),
            )
        })
        .collect())
}

fn ratings(
    conn: &mut DbConnection,
    (group, join): (&str, &str),
    range: ReportRange,
) -> Result<Vec<Rating>, StoreError> {
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(r.score) AS BIGINT) AS total, COUNT(*) AS n \
         FROM ratings r{join} \
         WHERE r.created_at_ms >= ?1 AND r.created_at_ms < ?2 GROUP BY {group}"
    );
    load(conn, sql, &[range.from.millis(), range.to.millis()])
}

fn summary_row(
    rows: &mut BTreeMap<String, SummaryRow>,
    group_by: GroupBy,
    g: i64,
) -> &mut SummaryRow {
    let k = key(group_by, g);
    rows.entry(k.clone()).or_insert_with(|| SummaryRow {
        key: k,
        ..SummaryRow::default()
    })
}

fn agent_row(rows: &mut BTreeMap<i64, AgentRow>, g: i64) -> &mut AgentRow {
    rows.entry(g).or_insert_with(|| AgentRow::new(UserId(g)))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A group's percentiles as Postgres computes them.
#[derive(QueryableByName)]
struct PgPercentiles {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = Nullable<Double>)]
    first_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    first_p90: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    resolution_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    resolution_p90: Option<f64>,
}

/// An agent's clock figures as Postgres computes them in one pass.
#[derive(QueryableByName)]
struct PgAgentClocks {
    #[diesel(sql_type = BigInt)]
    g: i64,
    #[diesel(sql_type = BigInt)]
    resolved: i64,
    #[diesel(sql_type = BigInt)]
    responses: i64,
    #[diesel(sql_type = Nullable<Double>)]
    p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p90: Option<f64>,
}

fn percentiles_of(p50: Option<f64>, p90: Option<f64>) -> Percentiles {
    Percentiles {
        p50: p50.map(round_seconds),
        p90: p90.map(round_seconds),
    }
}

/// `p` of `seconds` over the rows `filter` keeps, as Postgres spells it.
fn pg_percentile(p: &str, filter: &str) -> String {
    format!("percentile_cont({p}) WITHIN GROUP (ORDER BY c.seconds) FILTER (WHERE {filter})")
}

/// The summary's clock figures on Postgres: the counts (a hash aggregate, no sort), then the
/// percentiles of first responses and resolutions only (an index-only scan of
/// `sla_clocks_report`; next responses, four in five clocks, only count).
fn pg_summary_clocks(
    conn: &mut DbConnection,
    grp: &Grouping,
    range: ReportRange,
    rows: &mut BTreeMap<String, SummaryRow>,
    group_by: GroupBy,
) -> Result<(), StoreError> {
    let counts = format!(
        "SELECT {g} AS g, \
         COUNT(*) FILTER (WHERE c.kind = 'resolution' AND c.seconds IS NOT NULL) AS resolved, \
         COUNT(c.met) AS measured, COUNT(*) FILTER (WHERE c.met) AS met \
         FROM sla_clocks c{join} WHERE c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 GROUP BY {g}",
        g = grp.clocks,
        join = grp.clocks_join,
    );
    let clocks: Vec<ClockCounts> = load(conn, counts, &[range.from.millis(), range.to.millis()])?;
    for c in clocks {
        let r = summary_row(rows, group_by, c.g);
        r.resolved = count(c.resolved);
        r.sla_measured = count(c.measured);
        r.sla_met = count(c.met);
    }
    let first = "c.kind = 'first_response'";
    let resolution = "c.kind = 'resolution'";
    let sql = format!(
        "SELECT {g} AS g, {f50} AS first_p50, {f90} AS first_p90, \
         {r50} AS resolution_p50, {r90} AS resolution_p90 \
         FROM sla_clocks c{join} WHERE c.kind IN ('first_response', 'resolution') \
         AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 AND c.seconds IS NOT NULL GROUP BY {g}",
        g = grp.clocks,
        join = grp.clocks_join,
        f50 = pg_percentile("0.5", first),
        f90 = pg_percentile("0.9", first),
        r50 = pg_percentile("0.5", resolution),
        r90 = pg_percentile("0.9", resolution),
    );
    let stats: Vec<PgPercentiles> = load(conn, sql, &[range.from.millis(), range.to.millis()])?;
    for c in stats {
        let r = summary_row(rows, group_by, c.g);
        r.first_response = percentiles_of(c.first_p50, c.first_p90);
        r.resolution = percentiles_of(c.resolution_p50, c.resolution_p90);
    }
    Ok(())
}

/// The summary's clock figures on SQLite: counts, then each kind's order statistics.
fn sqlite_summary_clocks(
    conn: &mut DbConnection,
    grp: &Grouping,
    range: ReportRange,
    rows: &mut BTreeMap<String, SummaryRow>,
    group_by: GroupBy,
) -> Result<(), StoreError> {
    let clocks: Vec<ClockCounts> = load(
        conn,
        format!(
            "SELECT {g} AS g, \
             COALESCE(SUM(CASE WHEN c.kind = 'resolution' AND c.seconds IS NOT NULL THEN 1 ELSE 0 END), 0) AS resolved, \
             COALESCE(SUM(CASE WHEN c.met IS NOT NULL THEN 1 ELSE 0 END), 0) AS measured, \
             COALESCE(SUM(CASE WHEN c.met THEN 1 ELSE 0 END), 0) AS met \
             FROM sla_clocks c{join} WHERE c.kind IN ('first_response', 'next_response', 'resolution') \
             AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 GROUP BY {g}",
            g = grp.clocks,
            join = grp.clocks_join,
        ),
        &[range.from.millis(), range.to.millis()],
    )?;
    for c in clocks {
        let r = summary_row(rows, group_by, c.g);
        r.resolved = count(c.resolved);
        r.sla_measured = count(c.measured);
        r.sla_met = count(c.met);
    }
    let by = (grp.clocks, grp.clocks_join);
    for (g, (_, p)) in percentiles(conn, by, "'first_response'", "", range)? {
        summary_row(rows, group_by, g).first_response = p;
    }
    for (g, (_, p)) in percentiles(conn, by, "'resolution'", "", range)? {
        summary_row(rows, group_by, g).resolution = p;
    }
    Ok(())
}

/// Resolutions and responses per agent on Postgres: one pass over the clocks ended in the range.
fn pg_agent_clocks(
    conn: &mut DbConnection,
    range: ReportRange,
    rows: &mut BTreeMap<i64, AgentRow>,
) -> Result<(), StoreError> {
    let response = "c.kind <> 'resolution'";
    let sql = format!(
        "SELECT c.agent_id AS g, COUNT(*) FILTER (WHERE c.kind = 'resolution') AS resolved, \
         COUNT(*) FILTER (WHERE {response}) AS responses, {p50} AS p50, {p90} AS p90 \
         FROM sla_clocks c WHERE c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 \
         AND c.seconds IS NOT NULL AND c.agent_id IS NOT NULL GROUP BY c.agent_id",
        p50 = pg_percentile("0.5", response),
        p90 = pg_percentile("0.9", response),
    );
    let clocks: Vec<PgAgentClocks> = load(conn, sql, &[range.from.millis(), range.to.millis()])?;
    for c in clocks {
        let r = agent_row(rows, c.g);
        r.resolved = count(c.resolved);
        r.responses = count(c.responses);
        r.response = percentiles_of(c.p50, c.p90);
    }
    Ok(())
}

/// Resolutions and responses per agent on SQLite.
fn sqlite_agent_clocks(
    conn: &mut DbConnection,
    range: ReportRange,
    rows: &mut BTreeMap<i64, AgentRow>,
) -> Result<(), StoreError> {
    let resolved: Vec<Count> = load(
        conn,
        "SELECT c.agent_id AS g, COUNT(*) AS n FROM sla_clocks c \
         WHERE c.kind = 'resolution' AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 \
         AND c.seconds IS NOT NULL AND c.agent_id IS NOT NULL GROUP BY c.agent_id"
            .to_owned(),
        &[range.from.millis(), range.to.millis()],
    )?;
    for c in resolved {
        agent_row(rows, c.g).resolved = count(c.n);
    }
    let responses = percentiles(
        conn,
        ("c.agent_id", ""),
        "'first_response', 'next_response'",
        " AND c.agent_id IS NOT NULL",
        range,
    )?;
    for (g, (n, p)) in responses {
        let r = agent_row(rows, g);
        r.responses = n;
        r.response = p;
    }
    Ok(())
}

/// Runs a report's queries: on Postgres in one read-only transaction whose `work_mem` lets the
/// percentile sorts (100k to 500k values at 1M messages) stay in memory.
fn report<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match conn {
        DbConnection::Postgresql(_) => conn.transaction(|conn| {
            diesel::sql_query("SET TRANSACTION READ ONLY").execute(conn)?;
            diesel::sql_query("SET LOCAL work_mem = '64MB'").execute(conn)?;
            f(conn)
        }),
        DbConnection::Sqlite(_) => f(conn),
    }
}

impl ReportStore for SqlStore {
    fn report_summary(
        &self,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>> {
        let grp = grouping(group_by);
        self.run(|conn| {
            report(conn, |conn| {
                let mut rows: BTreeMap<String, SummaryRow> = BTreeMap::new();
                let opened: Vec<Count> = load(
                    conn,
                    format!(
                        "SELECT {g} AS g, COUNT(*) AS n FROM threads t{join} \
                         WHERE t.created_at_ms >= ?1 AND t.created_at_ms < ?2 GROUP BY {g}",
                        g = grp.threads,
                        join = grp.threads_join,
                    ),
                    &[range.from.millis(), range.to.millis()],
                )?;
                for c in opened {
                    summary_row(&mut rows, group_by, c.g).opened = count(c.n);
                }
                match conn {
                    DbConnection::Postgresql(_) => {
                        pg_summary_clocks(conn, &grp, range, &mut rows, group_by)?
                    }
                    DbConnection::Sqlite(_) => {
                        sqlite_summary_clocks(conn, &grp, range, &mut rows, group_by)?
                    }
                }
                for r in ratings(conn, (grp.ratings, grp.ratings_join), range)? {
                    let entry = summary_row(&mut rows, group_by, r.g);
                    entry.rating_sum = r.total;
                    entry.rating_count = count(r.n);
                }
                Ok(rows.into_values().collect())
            })
        })
    }

    fn report_agents(&self, range: ReportRange, now: Timestamp) -> DomainResult<Vec<AgentRow>> {
        self.run(|conn| {
            report(conn, |conn| {
                let mut rows: BTreeMap<i64, AgentRow> = BTreeMap::new();
                let held: Vec<Count> = load(
                    conn,
                    "SELECT t.claim_agent_id AS g, COUNT(*) AS n FROM threads t \
                     WHERE t.claim_agent_id IS NOT NULL AND t.claim_until_ms > ?1 \
                     GROUP BY t.claim_agent_id"
                        .to_owned(),
                    &[now.millis()],
                )?;
                for c in held {
                    agent_row(&mut rows, c.g).held = count(c.n);
                }
                match conn {
                    DbConnection::Postgresql(_) => pg_agent_clocks(conn, range, &mut rows)?,
                    DbConnection::Sqlite(_) => sqlite_agent_clocks(conn, range, &mut rows)?,
                }
                for r in ratings(conn, ("COALESCE(r.agent_id, -1)", ""), range)? {
                    if r.g > 0 {
                        let entry = agent_row(&mut rows, r.g);
                        entry.rating_sum = r.total;
                        entry.rating_count = count(r.n);
                    }
                }
                Ok(rows.into_values().collect())
            })
        })
    }
}
