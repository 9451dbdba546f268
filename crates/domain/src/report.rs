//! Reports on the desk's work over a time range: conversations opened and resolved, response
//! and resolution times (p50/p90), the share of SLA targets met and ratings, grouped by day,
//! agent, thread type or label; and the same per agent.
//!
//! Percentiles follow one definition on every store, Postgres' `percentile_cont`: the values in
//! order `x[0..n]`, position `pos = (n - 1) * p`,
//! `x[floor(pos)] + frac(pos) * (x[floor(pos) + 1] - x[floor(pos)])`, rounded to the
//! millisecond. Every store counts the values (by second) and [`Distribution::percentiles`]
//! does the rest, so both databases and the memory store give identical numbers.
//!
//! Exact up to [`EXACT_PERCENTILES_UP_TO`] values behind a report's percentiles; above, from the
//! values' buckets ([`lower_bounds`]: one second wide up to 19 s, then 10 % of the lower bound),
//! each order statistic replaced by its bucket's [`bucket_value`]: within [`BUCKET_ERROR`]
//! (1/21, 4.8 %) of the exact figure. The SQL stores keep per-day bucket counts in a rollup so
//! a month at a million messages reads a few thousand rows instead of every clock.

use serde::Serialize;

use crate::{DomainError, DomainResult, Timestamp, UserId};

/// A half-open range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    /// First instant included.
    pub from: Timestamp,
    /// First instant excluded.
    pub to: Timestamp,
}

impl ReportRange {
    /// A range; one with `to <= from` is empty (every report of it has no rows).
    pub fn new(from: Timestamp, to: Timestamp) -> ReportRange {
        ReportRange { from, to }
    }
}

/// How a summary is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// UTC day of each event.
    Day,
    /// The agent: the thread's last agent for openings, the answering agent for responses, the
    /// thread's last agent at resolution, the rated agent for ratings.
    Agent,
    /// The thread type.
    Type,
    /// The thread's labels, by name: a thread with two labels counts in both rows, one without
    /// any in `none`.
    Label,
}

impl GroupBy {
    /// Parses `day`, `agent`, `type` or `label`.
    pub fn parse(text: &str) -> DomainResult<GroupBy> {
        match text {
            "day" => Ok(GroupBy::Day),
            "agent" => Ok(GroupBy::Agent),
            "type" => Ok(GroupBy::Type),
            "label" => Ok(GroupBy::Label),
            _ => Err(DomainError::invalid(
                "group_by",
                "expected day, agent, type or label",
            )),
        }
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Agent => "agent",
            GroupBy::Type => "type",
            GroupBy::Label => "label",
        }
    }
}

/// The two order statistics around a percentile and the fraction between them, in tenths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentilePick {
    /// Index (0-based) of the lower value.
    pub lower: i64,
    /// Tenths of the way to the next value.
    pub tenths: i64,
}

/// Where percentile `p_tenths / 10` of `n` ordered values lies.
pub fn pick(n: i64, p_tenths: i64) -> PercentilePick {
    let pos = (n - 1).max(0) * p_tenths;
    PercentilePick {
        lower: pos / 10,
        tenths: pos % 10,
    }
}

/// `lower + tenths/10 * (upper - lower)`, the one interpolation every store uses, rounded as
/// [`round_seconds`] rounds.
pub fn interpolate(lower: i64, upper: i64, tenths: i64) -> f64 {
    round_seconds(lower as f64 + (tenths as f64 / 10.0) * (upper - lower) as f64)
}

/// A percentile rounded to the millisecond: Postgres' `percentile_cont` computes in floating
/// point in another order than [`interpolate`], so both are rounded before they are compared or
/// shown (whole seconds interpolated in tenths are exact to a tenth anyway).
pub fn round_seconds(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Percentile `p_tenths / 10` of values already in ascending order (`None` when empty).
pub fn percentile(sorted: &[i64], p_tenths: i64) -> Option<f64> {
    let n = sorted.len() as i64;
    if n == 0 {
        return None;
    }
    let at = pick(n, p_tenths);
    let lower = *sorted.get(at.lower as usize)?;
    let upper = sorted.get(at.lower as usize + 1).copied().unwrap_or(lower);
    Some(interpolate(lower, upper, at.tenths))
}

/// Above this many values behind a report's percentiles (summed over its rows: first responses
/// and resolutions for the summary, responses for the agents report), every store computes them
/// from [`BUCKETS`] instead of the values: within [`BUCKET_ERROR`] of the exact figure. Up to it
/// they are exact.
pub const EXACT_PERCENTILES_UP_TO: u64 = 1_000;

/// The largest relative error of a percentile computed from buckets: each bucket `[lo, hi]` is
/// at most `lo / 10` seconds wide and stands for `2 lo hi / (lo + hi)`, within
/// `(hi - lo) / (hi + lo) < 1 / 21` of any value in it (0 to 19 seconds are exact), and an
/// interpolation between two such values is as close to the exact one.
pub const BUCKET_ERROR: f64 = 1.0 / 21.0;

/// How many buckets: lower bounds from 0 to past 2^31 seconds (68 years); the last bucket holds
/// everything from its lower bound up and stands for that bound.
pub const BUCKETS: usize = 218;

/// Every bucket's lower bound (seconds), in order: 0, 1, 2, ..., 19, then each `lo + lo / 10`.
/// Bucket `b` holds `lower_bounds()[b]..lower_bounds()[b + 1]`. The SQL stores keep the same
/// list in the table `report_buckets` (a test compares them).
pub fn lower_bounds() -> &'static [i64] {
    static BOUNDS: std::sync::OnceLock<Vec<i64>> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut out = Vec::with_capacity(BUCKETS);
        let mut lo = 0_i64;
        for _ in 0..BUCKETS {
            out.push(lo);
            lo += (lo / 10).max(1);
        }
        out
    })
}

/// The lower bound (seconds) of bucket `b` (the last bucket's for any `b` past it).
pub fn lower_bound(bucket: usize) -> i64 {
    let bounds = lower_bounds();
    bounds[bucket.min(bounds.len() - 1)]
}

/// The bucket holding `seconds` (negative seconds in the first).
pub fn bucket_of(seconds: i64) -> usize {
    lower_bounds().partition_point(|lo| *lo <= seconds).max(1) - 1
}

/// The value bucket `b` stands for: `2 lo hi / (lo + hi)` with `hi` its largest second (its
/// own value for one-second buckets; the last bucket, open above, its lower bound).
pub fn bucket_value(bucket: usize) -> f64 {
    let lo = lower_bound(bucket) as f64;
    if bucket + 1 >= BUCKETS {
        return lo;
    }
    let hi = (lower_bound(bucket + 1) - 1) as f64;
    if lo + hi <= 0.0 {
        return 0.0;
    }
    2.0 * lo * hi / (lo + hi)
}

/// The values behind one percentile figure: seconds counted exactly, and (from a store's
/// rollup) counts per bucket. [`Distribution::percentiles`] gives the exact figures or, when
/// asked to or when any bucket count is present, the bucketed ones (every value counted in its
/// bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    values: std::collections::BTreeMap<i64, u64>,
    buckets: std::collections::BTreeMap<usize, u64>,
}

impl Distribution {
    /// Counts `count` values of `seconds`.
    pub fn add(&mut self, seconds: i64, count: u64) {
        if count > 0 {
            *self.values.entry(seconds).or_default() += count;
        }
    }

    /// Counts `count` values somewhere in `bucket`.
    pub fn add_bucket(&mut self, bucket: usize, count: u64) {
        if count > 0 {
            *self.buckets.entry(bucket.min(BUCKETS - 1)).or_default() += count;
        }
    }

    /// How many values.
    pub fn len(&self) -> u64 {
        self.values.values().sum::<u64>() + self.buckets.values().sum::<u64>()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// p50 and p90 by `percentile_cont`'s definition: over the values themselves when `exact`
    /// and no bucket count was added, else over every value's bucket ([`bucket_value`]).
    pub fn percentiles(&self, exact: bool) -> Percentiles {
        if exact && self.buckets.is_empty() {
            let ordered: Vec<(f64, u64)> =
                self.values.iter().map(|(v, n)| (*v as f64, *n)).collect();
            return Percentiles::of_counted(&ordered);
        }
        let mut buckets = self.buckets.clone();
        for (v, n) in &self.values {
            *buckets.entry(bucket_of(*v)).or_default() += n;
        }
        let ordered: Vec<(f64, u64)> = buckets
            .iter()
            .map(|(b, n)| (bucket_value(*b), *n))
            .collect();
        Percentiles::of_counted(&ordered)
    }
}

/// Percentile `p_tenths / 10` of ascending values each with a count (`None` when empty).
fn percentile_counted(ordered: &[(f64, u64)], p_tenths: i64) -> Option<f64> {
    let n: u64 = ordered.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let at = pick(i64::try_from(n).ok()?, p_tenths);
    let nth = |k: i64| {
        let mut seen = 0_i64;
        for (v, c) in ordered {
            seen += i64::try_from(*c).unwrap_or(i64::MAX);
            if k < seen {
                return Some(*v);
            }
        }
        None
    };
    let lower = nth(at.lower)?;
    let upper = nth(at.lower + 1).unwrap_or(lower);
    Some(round_seconds(
        lower + (at.tenths as f64 / 10.0) * (upper - lower),
    ))
}

/// p50 and p90 of a set of seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

impl Percentiles {
    /// Of values in ascending order.
    pub fn of_sorted(sorted: &[i64]) -> Percentiles {
        Percentiles {
            p50: percentile(sorted, 5),
            p90: percentile(sorted, 9),
        }
    }

    /// Of ascending values, each with how many times it occurs.
    pub fn of_counted(ordered: &[(f64, u64)]) -> Percentiles {
        Percentiles {
            p50: percentile_counted(ordered, 5),
            p90: percentile_counted(ordered, 9),
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SummaryRow {
    /// The group: `2026-11-30`, an agent id, `none` (no agent or no label), a thread type or a
    /// label's name.
    pub key: String,
    /// Threads created in the range.
    pub opened: u64,
    /// Resolutions in the range.
    pub resolved: u64,
    /// First response seconds.
    pub first_response: Percentiles,
    /// Resolution seconds.
    pub resolution: Percentiles,
    /// Clocks with a target that ended in the range.
    pub sla_measured: u64,
    /// Of those, how many met it.
    pub sla_met: u64,
    /// Sum of ratings given in the range.
    pub rating_sum: i64,
    /// How many ratings.
    pub rating_count: u64,
}

impl SummaryRow {
    /// The share of SLA targets met (`None` when nothing was measured).
    pub fn sla_met_share(&self) -> Option<f64> {
        (self.sla_measured > 0).then(|| self.sla_met as f64 / self.sla_measured as f64)
    }

    /// The average rating (`None` without ratings).
    pub fn rating_average(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }
}

/// One agent's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    /// The agent.
    pub agent_id: UserId,
    /// Threads under the agent's live claim now.
    pub held: u64,
    /// Resolutions in the range where the agent was the thread's last agent.
    pub resolved: u64,
    /// The agent's response seconds (first and next) in the range.
    pub response: Percentiles,
    /// How many responses.
    pub responses: u64,
    /// Sum of the agent's ratings in the range.
    pub rating_sum: i64,
    /// How many ratings.
    pub rating_count: u64,
}

impl AgentRow {
    /// An agent's row with every figure empty.
    pub fn new(agent_id: UserId) -> AgentRow {
        AgentRow {
            agent_id,
            held: 0,
            resolved: 0,
            response: Percentiles::default(),
            responses: 0,
            rating_sum: 0,
            rating_count: 0,
        }
    }

    /// The average rating (`None` without ratings).
    pub fn rating_average(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }
}

/// The UTC day (`YYYY-MM-DD`) of a day number since the epoch.
pub fn day_key(day: i64) -> String {
    Timestamp(day.saturating_mul(86_400_000))
        .to_rfc3339()
        .chars()
        .take(10)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_percentile_cont() {
        assert_eq!(percentile(&[], 5), None);
        assert_eq!(percentile(&[7], 9), Some(7.0));
        assert_eq!(percentile(&[60, 120], 5), Some(90.0));
        // n = 4: p90 at 2.7 -> 300 + 0.7 * 100.
        assert_eq!(percentile(&[60, 120, 300, 400], 9), Some(370.0));
        assert_eq!(percentile(&[60, 120, 300, 400], 5), Some(210.0));
    }

    #[test]
    fn buckets_cover_every_second_within_the_error_bound() {
        let bounds = lower_bounds();
        assert_eq!(bounds.len(), BUCKETS);
        assert_eq!(
            &bounds[..22],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22]
        );
        assert!(bounds[BUCKETS - 2] < 1 << 31 && bounds[BUCKETS - 1] > 1 << 31);
        for b in 0..BUCKETS - 1 {
            let (lo, hi) = (bounds[b], bounds[b + 1] - 1);
            assert!(lo <= hi);
            assert_eq!((bucket_of(lo), bucket_of(hi)), (b, b));
            let v = bucket_value(b);
            for x in [lo, hi] {
                if x > 0 {
                    let err = (v - x as f64).abs() / x as f64;
                    assert!(err < BUCKET_ERROR, "bucket {b} [{lo}, {hi}] stands for {v}");
                }
            }
        }
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_of(i64::MAX), BUCKETS - 1);
        // Up to 19 seconds a bucket is one value.
        assert!((0..20).all(|s| bucket_value(bucket_of(s)) == s as f64));
    }

    #[test]
    fn distributions_give_exact_or_bucketed_percentiles() {
        let mut d = Distribution::default();
        for s in [60, 120, 300, 400, 900] {
            d.add(s, 1);
        }
        assert_eq!(
            d.percentiles(true),
            Percentiles::of_sorted(&[60, 120, 300, 400, 900])
        );
        let mut counted = Distribution::default();
        counted.add(7, 3);
        counted.add(2, 1);
        assert_eq!(
            counted.percentiles(true),
            Percentiles::of_sorted(&[2, 7, 7, 7])
        );
        assert_eq!(
            Distribution::default().percentiles(false),
            Percentiles::default()
        );
        // Bucketed: within the bound of the exact figures, and the same whether the values
        // came one by one or as bucket counts.
        let mut values = Vec::new();
        let mut by_value = Distribution::default();
        let mut by_bucket = Distribution::default();
        for i in 0..5_000_i64 {
            let s = (i * 7_919) % 90_000 + 30;
            values.push(s);
            by_value.add(s, 1);
            by_bucket.add_bucket(bucket_of(s), 1);
        }
        values.sort_unstable();
        let exact = Percentiles::of_sorted(&values);
        let approx = by_value.percentiles(false);
        assert_eq!(approx, by_bucket.percentiles(true));
        for (e, a) in [(exact.p50, approx.p50), (exact.p90, approx.p90)] {
            let (e, a) = (e.unwrap(), a.unwrap());
            assert!((a - e).abs() / e < BUCKET_ERROR, "{a} vs {e}");
        }
        assert_eq!(by_bucket.len(), 5_000);
    }

    #[test]
    fn days_and_groups() {
        assert_eq!(day_key(0), "1970-01-01");
        assert_eq!(GroupBy::parse("type"), Ok(GroupBy::Type));
        assert_eq!(GroupBy::parse("label"), Ok(GroupBy::Label));
        assert!(GroupBy::parse("week").is_err());
        for g in [GroupBy::Day, GroupBy::Agent, GroupBy::Type, GroupBy::Label] {
            assert_eq!(GroupBy::parse(g.as_str()), Ok(g));
        }
    }
}
