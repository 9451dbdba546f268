//! Measures the urgency model on a labelled corpus (JSON lines with `thread_type`, `body`, `tier`
//! and `id`), on the tuning half (odd ids), the held-out half (even ids) and the whole.
//!
//! ```text
//! cargo run -p chat-domain --example urgency_eval -- [corpus.jsonl] [--list]
//! ```
//!
//! The corpus defaults to `../shared/urgency/corpus.jsonl` relative to the repository (the copy
//! in `crates/domain/tests/data/urgency_corpus.jsonl` is the same file). `--list` prints every
//! message with its score and reasons, most urgent first.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use chat_domain::thread::ThreadType;
use chat_domain::urgency::evaluation::{measure, Measures, Scored};
use chat_domain::urgency::UrgencyRules;
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    id: String,
    thread_type: String,
    body: String,
    tier: u8,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = args.iter().any(|a| a == "--list");
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/urgency/corpus.jsonl")
        });
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let rules = UrgencyRules::default();
    let started = Instant::now();
    let mut scored = Vec::new();
    for line in &lines {
        let thread_type = ThreadType::parse(&line.thread_type)?;
        scored.push((line, rules.assess(thread_type, &line.body)));
    }
    let per_message = started.elapsed() / lines.len().max(1) as u32;
    let number = |l: &Line| {
        l.id.trim_start_matches(|c: char| !c.is_ascii_digit())
            .parse::<u32>()
            .unwrap_or(0)
    };
    let half = |odd: Option<bool>| -> Measures {
        let items: Vec<Scored> = scored
            .iter()
            .filter(|(l, _)| odd.is_none_or(|odd| (number(l) % 2 == 1) == odd))
            .map(|(l, u)| Scored {
                tier: l.tier,
                score: u.score,
            })
            .collect();
        measure(&items)
    };
    println!("corpus: {}", path.display());
    println!(
        "{:<22} {:>4} {:>9} {:>13} {:>14}",
        "set", "n", "pairwise", "tier-1 recall", "tier-4 in top¼"
    );
    for (name, odd) in [
        ("tuning (odd ids)", Some(true)),
        ("held-out (even ids)", Some(false)),
        ("full corpus", None),
    ] {
        let m = half(odd);
        println!(
            "{name:<22} {:>4} {:>9.3} {:>13.3} {:>14.2}",
            m.messages, m.pairwise, m.tier1_recall, m.tier4_in_top_quarter
        );
    }
    println!("assess: {per_message:?} per message (this build)");
    if list {
        scored.sort_by_key(|(_, u)| -u.score);
        for (l, u) in &scored {
            println!(
                "{:>5} t{} {} {} | {}",
                u.score,
                l.tier,
                l.id,
                l.body,
                u.reasons.join("; ")
            );
        }
    }
    Ok(())
}
