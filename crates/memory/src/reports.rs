//! Reports in memory (the reference of [`ReportStore`]): every value is kept, and a report with
//! more than `EXACT_PERCENTILES_UP_TO` values behind its percentiles buckets them, as the SQL
//! stores' rollup does.

use std::collections::BTreeMap;

use chat_domain::ports::ReportStore;
use chat_domain::report::{
    day_key, AgentRow, Distribution, GroupBy, ReportRange, SummaryRow, EXACT_PERCENTILES_UP_TO,
};
use chat_domain::sla::{SlaClock, SlaKind};
use chat_domain::thread::ThreadType;
use chat_domain::{DomainResult, LabelId, ThreadId, Timestamp, UserId};

use crate::store::MemoryStore;

fn within(range: ReportRange, at: Timestamp) -> bool {
    range.from <= at && at < range.to
}

/// What a fact (an opening, a clock, a rating) is grouped by.
struct Fact {
    at: Timestamp,
    agent: Option<UserId>,
    thread: ThreadId,
    thread_type: ThreadType,
}

/// The groups a fact counts in: one, or for labels one per label of its thread (`none` without).
fn keys(group_by: GroupBy, fact: &Fact, thread_labels: &[(ThreadId, LabelId)]) -> Vec<String> {
    match group_by {
        GroupBy::Day => vec![day_key(fact.at.millis().div_euclid(86_400_000))],
        GroupBy::Agent => vec![fact
            .agent
            .map_or_else(|| "none".to_owned(), |a| a.0.to_string())],
        GroupBy::Type => vec![fact.thread_type.as_str().to_owned()],
        GroupBy::Label => {
            let labels: Vec<String> = thread_labels
                .iter()
                .filter(|(t, _)| *t == fact.thread)
                .map(|(_, l)| l.0.to_string())
                .collect();
            if labels.is_empty() {
                vec!["none".to_owned()]
            } else {
                labels
            }
        }
    }
}

fn ended_in(range: ReportRange, c: &SlaClock) -> Option<Timestamp> {
    c.ended_at.filter(|at| within(range, *at))
}

impl ReportStore for MemoryStore {
    fn report_summary(
        &self,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>> {
        let s = self.lock();
        let mut rows: BTreeMap<String, (SummaryRow, Distribution, Distribution)> = BTreeMap::new();
        let labels = &s.thread_labels;
        for (t, _) in &s.threads {
            if within(range, t.created_at) {
                let fact = Fact {
                    at: t.created_at,
                    agent: t.agent_id,
                    thread: t.id,
                    thread_type: t.thread_type,
                };
                for k in keys(group_by, &fact, labels) {
                    let e = rows.entry(k.clone()).or_default();
                    e.0.key = k;
                    e.0.opened += 1;
                }
            }
        }
        for c in &s.sla_clocks {
            let Some(at) = ended_in(range, c) else {
                continue;
            };
            let fact = Fact {
                at,
                agent: c.agent_id,
                thread: c.thread_id,
                thread_type: c.thread_type,
            };
            for k in keys(group_by, &fact, labels) {
                let e = rows.entry(k.clone()).or_default();
                e.0.key = k;
                if let Some(met) = c.met {
                    e.0.sla_measured += 1;
                    e.0.sla_met += u64::from(met);
                }
                match (c.kind, c.seconds) {
                    (SlaKind::FirstResponse, Some(sec)) => e.1.add(sec, 1),
                    (SlaKind::Resolution, Some(sec)) => {
                        e.0.resolved += 1;
                        e.2.add(sec, 1);
                    }
                    _ => {}
                }
            }
        }
        for r in &s.ratings {
            if !within(range, r.created_at) {
                continue;
            }
            let Some((t, _)) = s.threads.iter().find(|(t, _)| t.id == r.thread_id) else {
                continue;
            };
            // By the rating's day and agent, and its thread's type (as the SQL stores group).
            let fact = Fact {
                at: r.created_at,
                agent: r.agent_id,
                thread: t.id,
                thread_type: t.thread_type,
            };
            for k in keys(group_by, &fact, labels) {
                let e = rows.entry(k.clone()).or_default();
                e.0.key = k;
                e.0.rating_sum += i64::from(r.score);
                e.0.rating_count += 1;
            }
        }
        let values: u64 = rows.values().map(|(_, f, r)| f.len() + r.len()).sum();
        let exact = values <= EXACT_PERCENTILES_UP_TO;
        Ok(rows
            .into_values()
            .map(|(mut r, first, resolution)| {
                r.first_response = first.percentiles(exact);
                r.resolution = resolution.percentiles(exact);
                r
            })
            .collect())
    }

    fn report_agents(&self, range: ReportRange, now: Timestamp) -> DomainResult<Vec<AgentRow>> {
        let s = self.lock();
        let mut rows: BTreeMap<i64, (AgentRow, Distribution)> = BTreeMap::new();
        for (t, _) in &s.threads {
            if let Some(claim) = t.live_claim(now) {
                let e = rows
                    .entry(claim.agent_id.0)
                    .or_insert_with(|| (AgentRow::new(claim.agent_id), Distribution::default()));
                e.0.held += 1;
            }
        }
        for c in &s.sla_clocks {
            let (Some(_), Some(agent), Some(sec)) = (ended_in(range, c), c.agent_id, c.seconds)
            else {
                continue;
            };
            let e = rows
                .entry(agent.0)
                .or_insert_with(|| (AgentRow::new(agent), Distribution::default()));
            match c.kind {
                SlaKind::Resolution => e.0.resolved += 1,
                SlaKind::FirstResponse | SlaKind::NextResponse => {
                    e.0.responses += 1;
                    e.1.add(sec, 1);
                }
            }
        }
        for r in &s.ratings {
            let (true, Some(agent)) = (within(range, r.created_at), r.agent_id) else {
                continue;
            };
            let e = rows
                .entry(agent.0)
                .or_insert_with(|| (AgentRow::new(agent), Distribution::default()));
            e.0.rating_sum += i64::from(r.score);
            e.0.rating_count += 1;
        }
        let values: u64 = rows.values().map(|(_, d)| d.len()).sum();
        let exact = values <= EXACT_PERCENTILES_UP_TO;
        Ok(rows
            .into_values()
            .map(|(mut r, responses)| {
                r.response = responses.percentiles(exact);
                r
            })
            .collect())
    }

    /// The memory store computes every report from its rows: nothing waits for a rollup.
    fn fold_reports(&self, _max: u32) -> DomainResult<u64> {
        Ok(0)
    }
}
