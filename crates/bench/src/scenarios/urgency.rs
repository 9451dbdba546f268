//! `urgency`: does the queue put urgent conversations first? Each labelled message of the
//! urgency corpus (tiers 1 act now .. 4 low; see `docs/BENCHMARKS.md`) is posted by its own new
//! client as the first message of a new thread, all within a few seconds, through the public
//! API; then the whole queue is read as an admin and compared with the tiers:
//! - pairwise accuracy: of all pairs of different tiers, the share the queue puts the right way
//!   round (a pair with equal scores counts half);
//! - tier-1 recall in the top N (N = number of tier-1 messages; a tie across the cut counts pro
//!   rata);
//! - tier-4 messages in the top quarter.
//!
//! Scoring time per message is measured in-process on the default rules (what a send pays).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use futures_util::{stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;

use crate::report::{Sink, Target};
use crate::Ctx;

/// One labelled message.
#[derive(Debug, Clone, Deserialize)]
struct Labelled {
    id: String,
    thread_type: String,
    body: String,
    tier: u8,
}

/// Where the corpus is looked for when `--urgency-corpus` is not given, from the repository.
const DEFAULT_CORPORA: [&str; 2] = [
    "crates/domain/tests/data/urgency_corpus.jsonl",
    "../shared/urgency/corpus.jsonl",
];

pub async fn run(ctx: &mut Ctx) -> Result<Sink> {
    let mut sink = Sink::new("urgency");
    let Some(path) = corpus_path(ctx.urgency_corpus.as_deref()) else {
        sink.note(format!(
            "skipped: no corpus (give --urgency-corpus; looked in {})",
            DEFAULT_CORPORA.join(", ")
        ));
        return Ok(sink);
    };
    let corpus = read_corpus(&path)?;
    sink.note(format!(
        "{} labelled messages from {}",
        corpus.len(),
        path.display()
    ));

    // Post every message as its own client's first message, concurrently.
    let bases = ctx.bases();
    let tag = ctx.tag.clone();
    let started = Instant::now();
    let posted: Vec<Result<(i64, (u8, bool))>> = stream::iter(corpus.iter().cloned().enumerate())
        .map(|(i, m)| {
            let api = ctx.api.clone();
            let base = bases
                .get(i % bases.len().max(1))
                .cloned()
                .unwrap_or_default();
            let username = format!("b{tag}-u{i}");
            async move {
                let session = api.new_user(&base, &username, "client", None).await?;
                let thread = api
                    .open_thread(&base, &session.token, &m.thread_type, &m.body)
                    .await
                    .with_context(|| format!("posting {}", m.id))?;
                Ok((thread, (m.tier, held_out(&m.id))))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut label_of = HashMap::new();
    for result in posted {
        let (thread, label) = result?;
        label_of.insert(thread, label);
    }
    sink.note(format!(
        "posted in {:.1} s (sign-up, log-in and first message per client)",
        started.elapsed().as_secs_f64()
    ));

    // The queue, whole, as the admin sees it; only this scenario's threads count.
    let labelled = read_queue(ctx, &label_of).await?;
    if labelled.len() != label_of.len() {
        bail!(
            "the queue listed {} of the {} posted threads",
            labelled.len(),
            label_of.len()
        );
    }
    // The rules were tuned on the odd ids: the even ones, in the queue's order, are the
    // held-out measure; the whole corpus is reported beside it.
    let held: Vec<(u8, i64)> = labelled
        .iter()
        .filter(|l| l.1)
        .map(|l| (l.0, l.2))
        .collect();
    let all: Vec<(u8, i64)> = labelled.iter().map(|l| (l.0, l.2)).collect();
    for (part, order) in [("held-out half (even ids)", &held), ("whole corpus", &all)] {
        let m = measure(order);
        sink.figure(
            format!("{part}: pairwise accuracy"),
            m.pairwise,
            "",
            Some(Target::at_least(0.90)),
        );
        sink.figure(
            format!("{part}: tier-1 recall in the top {}", m.top_n),
            m.tier1_recall,
            "",
            Some(Target::at_least(0.90)),
        );
        sink.figure(
            format!(
                "{part}: tier-4 messages in the top quarter ({})",
                order.len() / 4
            ),
            m.tier4_in_top_quarter,
            "",
            Some(Target::at_most(2.0)),
        );
    }
    sink.figure(
        "scoring time per message (default rules, in-process)",
        scoring_micros(&corpus),
        "µs",
        None,
    );
    Ok(sink)
}

fn corpus_path(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_owned()),
        None => DEFAULT_CORPORA
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
    }
}

fn read_corpus(path: &Path) -> Result<Vec<Labelled>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the urgency corpus {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line).with_context(|| {
                format!(
                    "{}: line {} is not a labelled message",
                    path.display(),
                    n + 1
                )
            })
        })
        .collect()
}

/// Whether a corpus id (`u042`) is in the held-out half: the even numbers (the urgency rules
/// were tuned on the odd ones; see docs/ARCHITECTURE.md).
fn held_out(id: &str) -> bool {
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    digits.parse::<u64>().is_ok_and(|n| n % 2 == 0)
}

/// (tier, held out, score) of this scenario's threads, in queue order.
async fn read_queue(
    ctx: &Ctx,
    label_of: &HashMap<i64, (u8, bool)>,
) -> Result<Vec<(u8, bool, i64)>> {
    const PAGE: usize = 100;
    let mut order = Vec::new();
    let mut offset = 0;
    loop {
        let resp = ctx
            .api
            .http()
            .get(format!(
                "{}/api/v1/queue?limit={PAGE}&offset={offset}",
                ctx.base(0)
            ))
            .bearer_auth(&ctx.admin.token)
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("the queue answered {}", resp.status());
        }
        let body: Value = resp.json().await?;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            let id = item["thread"]["id"].as_i64().unwrap_or_default();
            if let Some((tier, held)) = label_of.get(&id) {
                let score = item["urgency"]["score"].as_i64().unwrap_or_default();
                order.push((*tier, *held, score));
            }
        }
        if items.len() < PAGE {
            return Ok(order);
        }
        offset += PAGE;
    }
}

/// The measures of the corpus's README.
#[derive(Debug, Clone, PartialEq)]
struct Measures {
    pairwise: f64,
    top_n: usize,
    tier1_recall: f64,
    tier4_in_top_quarter: f64,
}

/// `order`: (tier, score) in queue order (most urgent first).
fn measure(order: &[(u8, i64)]) -> Measures {
    let mut right = 0.0;
    let mut pairs = 0.0;
    for (i, a) in order.iter().enumerate() {
        for b in &order[i + 1..] {
            if a.0 == b.0 {
                continue;
            }
            pairs += 1.0;
            if a.1 == b.1 {
                right += 0.5;
            } else if a.0 < b.0 {
                right += 1.0;
            }
        }
    }
    let top_n = order.iter().filter(|(t, _)| *t == 1).count();
    let quarter = order.len() / 4;
    Measures {
        pairwise: if pairs > 0.0 { right / pairs } else { 1.0 },
        top_n,
        tier1_recall: if top_n > 0 {
            expected_in_top(order, top_n, 1) / top_n as f64
        } else {
            1.0
        },
        tier4_in_top_quarter: expected_in_top(order, quarter, 4),
    }
}

/// How many messages of `tier` sit in the first `n`, a group of equal scores straddling the cut
/// counting pro rata (its order is only posting order).
fn expected_in_top(order: &[(u8, i64)], n: usize, tier: u8) -> f64 {
    let mut count = 0.0;
    let mut start = 0;
    while start < order.len() && start < n {
        let score = order[start].1;
        let end = order[start..]
            .iter()
            .position(|(_, s)| *s != score)
            .map_or(order.len(), |k| start + k);
        let group = &order[start..end];
        let of_tier = group.iter().filter(|(t, _)| *t == tier).count() as f64;
        let taken = (n.min(end) - start) as f64;
        count += of_tier * taken / group.len() as f64;
        start = end;
    }
    count
}

/// Mean time the default rules take to score one corpus message, in microseconds.
fn scoring_micros(corpus: &[Labelled]) -> f64 {
    use chat_domain::thread::ThreadType;
    let rules = chat_domain::urgency::UrgencyRules::default();
    let typed: Vec<(ThreadType, &str)> = corpus
        .iter()
        .map(|m| {
            (
                ThreadType::parse(&m.thread_type).unwrap_or(ThreadType::Other),
                m.body.as_str(),
            )
        })
        .collect();
    let rounds = 200;
    let t = Instant::now();
    let mut total = 0i64;
    for _ in 0..rounds {
        for (kind, body) in &typed {
            total = total.wrapping_add(rules.assess(*kind, body).score);
        }
    }
    std::hint::black_box(total);
    t.elapsed().as_secs_f64() * 1e6 / (rounds * typed.len().max(1)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_order_scores_one_and_a_reversed_one_zero() {
        let perfect = [
            (1, 40),
            (1, 39),
            (2, 30),
            (3, 20),
            (4, 10),
            (4, 9),
            (4, 8),
            (4, 7),
        ];
        let m = measure(&perfect);
        assert_eq!(m.pairwise, 1.0);
        assert_eq!(m.tier1_recall, 1.0);
        assert_eq!(m.tier4_in_top_quarter, 0.0);
        let mut reversed = perfect;
        reversed.reverse();
        let m = measure(&reversed);
        assert_eq!(m.pairwise, 0.0);
        assert_eq!(m.tier1_recall, 0.0);
        assert_eq!(m.tier4_in_top_quarter, 2.0);
    }

    #[test]
    fn the_held_out_half_is_the_even_ids() {
        assert!(held_out("u002") && held_out("u160"));
        assert!(!held_out("u001") && !held_out("u159") && !held_out("x"));
    }

    #[test]
    fn ties_count_half_and_pro_rata() {
        // All equal: every pair half right; the top 2 of 4 hold half of each tier.
        let flat = [(1, 5), (4, 5), (1, 5), (4, 5)];
        let m = measure(&flat);
        assert_eq!(m.pairwise, 0.5);
        assert_eq!(m.tier1_recall, 0.5);
        assert_eq!(m.tier4_in_top_quarter, 0.5);
    }
}
