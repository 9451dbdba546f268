//! Reports on the desk's work over a time range: conversations opened and resolved, response
//! and resolution times (p50/p90), the share of SLA targets met and ratings, grouped by day,
//! agent, thread type or label; and the same per agent.
//!
//! Percentiles follow one definition on every store, Postgres' `percentile_cont`: the values in
//! order `x[0..n]`, position `pos = (n - 1) * p`, `x[floor(pos)] + frac(pos) * (x[floor(pos) + 1]
//! - x[floor(pos)])`. A store picks the two order statistics (a window function in SQL) and
//! [`interpolate`] does the rest, so both databases and the memory store give identical numbers.

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
