//! Reports, computed in the database: counts and sums grouped there, and percentiles picked
//! there by a window function (`ROW_NUMBER` over each group's ordered values keeps only the two
//! order statistics around p50 and p90), then interpolated by `chat_domain::report::interpolate`.
//! One SQL text for both backends (Postgres has `percentile_cont`, SQLite has none; this way
//! both give the same figure by the same definition).

use std::collections::{BTreeMap, HashMap};

use chat_domain::ports::ReportStore;
use chat_domain::report::{
    day_key, interpolate, pick, AgentRow, GroupBy, Percentiles, ReportRange, SummaryRow,
};
use chat_domain::thread::ThreadType;
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;

/// What a group's key is made of, per source table (`t` threads, `c` clocks, `r` ratings).
struct Grouping {
    threads: &'static str,
    clocks: &'static str,
    ratings: &'static str,
}

fn grouping(group_by: GroupBy) -> Grouping {
    match group_by {
        GroupBy::Day => Grouping {
            threads: "(t.created_at_ms / 86400000)",
            clocks: "(c.ended_at_ms / 86400000)",
            ratings: "(r.created_at_ms / 86400000)",
        },
        GroupBy::Agent => Grouping {
            threads: "COALESCE(t.agent_id, -1)",
            clocks: "COALESCE(c.agent_id, -1)",
            ratings: "COALESCE(r.agent_id, -1)",
        },
        GroupBy::Type => Grouping {
            threads: "CAST(t.thread_type AS BIGINT)",
            clocks: "CAST(c.thread_type AS BIGINT)",
            ratings: "CAST(t.thread_type AS BIGINT)",
        },
    }
}

fn key(group_by: GroupBy, g: i64) -> String {
    match group_by {
        GroupBy::Day => day_key(g),
        GroupBy::Agent if g < 0 => "none".to_owned(),
        GroupBy::Agent => g.to_string(),
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
    group: &str,
    kinds: &str,
    extra: &str,
    range: ReportRange,
) -> Result<HashMap<i64, (u64, Percentiles)>, StoreError> {
    let sql = format!(
        "SELECT g, n, rn, x FROM (SELECT {group} AS g, c.seconds AS x, \
         ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY c.seconds) AS rn, \
         COUNT(*) OVER (PARTITION BY {group}) AS n \
         FROM sla_clocks c WHERE c.kind IN ({kinds}) AND c.ended_at_ms >= ?1 \
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
    group: &str,
    range: ReportRange,
) -> Result<Vec<Rating>, StoreError> {
    let sql = format!(
        "SELECT {group} AS g, CAST(SUM(r.score) AS BIGINT) AS total, COUNT(*) AS n \
         FROM ratings r JOIN threads t ON t.id = r.thread_id \
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

impl ReportStore for SqlStore {
    fn report_summary(
        &self,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>> {
        let grp = grouping(group_by);
        self.run(|conn| {
            let mut rows: BTreeMap<String, SummaryRow> = BTreeMap::new();
            let opened: Vec<Count> = load(
                conn,
                format!(
                    "SELECT {g} AS g, COUNT(*) AS n FROM threads t \
                     WHERE t.created_at_ms >= ?1 AND t.created_at_ms < ?2 GROUP BY {g}",
                    g = grp.threads
                ),
                &[range.from.millis(), range.to.millis()],
            )?;
            for c in opened {
                summary_row(&mut rows, group_by, c.g).opened = count(c.n);
            }
            let clocks: Vec<ClockCounts> = load(
                conn,
                format!(
                    "SELECT {g} AS g, \
                     COALESCE(SUM(CASE WHEN c.kind = 'resolution' AND c.seconds IS NOT NULL THEN 1 ELSE 0 END), 0) AS resolved, \
                     COALESCE(SUM(CASE WHEN c.met IS NOT NULL THEN 1 ELSE 0 END), 0) AS measured, \
                     COALESCE(SUM(CASE WHEN c.met THEN 1 ELSE 0 END), 0) AS met \
                     FROM sla_clocks c WHERE c.kind IN ('first_response', 'next_response', 'resolution') \
                     AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 GROUP BY {g}",
                    g = grp.clocks
                ),
                &[range.from.millis(), range.to.millis()],
            )?;
            for c in clocks {
                let r = summary_row(&mut rows, group_by, c.g);
                r.resolved = count(c.resolved);
                r.sla_measured = count(c.measured);
                r.sla_met = count(c.met);
            }
            for (g, (_, p)) in percentiles(conn, grp.clocks, "'first_response'", "", range)? {
                summary_row(&mut rows, group_by, g).first_response = p;
            }
            for (g, (_, p)) in percentiles(conn, grp.clocks, "'resolution'", "", range)? {
                summary_row(&mut rows, group_by, g).resolution = p;
            }
            for r in ratings(conn, grp.ratings, range)? {
                let entry = summary_row(&mut rows, group_by, r.g);
                entry.rating_sum = r.total;
                entry.rating_count = count(r.n);
            }
            Ok(rows.into_values().collect())
        })
    }

    fn report_agents(&self, range: ReportRange, now: Timestamp) -> DomainResult<Vec<AgentRow>> {
        self.run(|conn| {
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
            let resolved: Vec<Count> = load(
                conn,
                "SELECT c.agent_id AS g, COUNT(*) AS n FROM sla_clocks c \
                 WHERE c.kind = 'resolution' AND c.ended_at_ms >= ?1 AND c.ended_at_ms < ?2 \
                 AND c.seconds IS NOT NULL AND c.agent_id IS NOT NULL GROUP BY c.agent_id"
                    .to_owned(),
                &[range.from.millis(), range.to.millis()],
            )?;
            for c in resolved {
                agent_row(&mut rows, c.g).resolved = count(c.n);
            }
            let responses = percentiles(
                conn,
                "c.agent_id",
                "'first_response', 'next_response'",
                " AND c.agent_id IS NOT NULL",
                range,
            )?;
            for (g, (n, p)) in responses {
                let r = agent_row(&mut rows, g);
                r.responses = n;
                r.response = p;
            }
            for r in ratings(conn, "COALESCE(r.agent_id, -1)", range)? {
                if r.g > 0 {
                    let entry = agent_row(&mut rows, r.g);
                    entry.rating_sum = r.total;
                    entry.rating_count = count(r.n);
                }
            }
            Ok(rows.into_values().collect())
        })
    }
}
