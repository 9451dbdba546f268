//! The urgency model against the labelled corpus (a copy of the project's
//! `shared/urgency/corpus.jsonl` in `tests/data`): the held-out half (even ids) and the whole
//! must stay above the targets. `cargo run -p chat-domain --example urgency_eval` prints the
//! figures. `tests/data/urgency_other_styles.jsonl` holds our own messages in other styles
//! (texting, formal letters, non-native English), which must meet the same targets.
//! `tests/data/urgency_blind_1.jsonl` was written blind to the model and the corpus (from the
//! corpus README's tier definitions only) and scored before any change for it: 0.892 pairwise,
//! 0.80 tier-1 recall, 4 tier-4 in the top quarter; the generic fixes it showed brought it to the
//! targets, and it stays here as a regression set. `urgency_blind_2.jsonl` likewise (another
//! writer, other styles): 0.858 / 0.76 / 2 before its fixes. `urgency_blind_3.jsonl` (a third
//! writer: an ordinary Monday queue) was scored once, after all the fixes, and never tuned on:
//! 0.947 / 0.92 / 0, the honest estimate on new text. Keep it untouched by tuning; write a new
//! blind set to judge a change.

#![allow(clippy::unwrap_used)] // test helpers: a malformed corpus line should fail the test loudly

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

const CORPUS: &str = include_str!("data/urgency_corpus.jsonl");
const OTHER_STYLES: &str = include_str!("data/urgency_other_styles.jsonl");
const BLIND_1: &str = include_str!("data/urgency_blind_1.jsonl");
const BLIND_2: &str = include_str!("data/urgency_blind_2.jsonl");
const BLIND_3: &str = include_str!("data/urgency_blind_3.jsonl");

fn lines(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn measured(text: &str, keep: impl Fn(u32) -> bool) -> Measures {
    let rules = UrgencyRules::default();
    let items: Vec<Scored> = lines(text)
        .iter()
        .filter(|l| keep(l.id[1..].parse().unwrap()))
        .map(|l| Scored {
            tier: l.tier,
            score: rules
                .assess(ThreadType::parse(&l.thread_type).unwrap(), &l.body)
                .score,
        })
        .collect();
    measure(&items)
}

fn assert_targets(name: &str, m: Measures) {
    assert!(m.pairwise >= 0.90, "{name}: {m:?}");
    assert!(m.tier1_recall >= 0.90, "{name}: {m:?}");
    assert!(m.tier4_in_top_quarter <= 2.0, "{name}: {m:?}");
}

#[test]
fn the_held_out_half_meets_the_targets() {
    let m = measured(CORPUS, |id| id % 2 == 0);
    assert_eq!(m.messages, 80);
    assert_targets("held-out", m);
}

#[test]
fn the_whole_corpus_meets_the_targets() {
    let m = measured(CORPUS, |_| true);
    assert_eq!(m.messages, 160);
    assert_targets("full", m);
}

#[test]
fn messages_in_other_styles_meet_the_targets() {
    let m = measured(OTHER_STYLES, |_| true);
    assert!(m.messages >= 100);
    assert_targets("other styles", m);
}

#[test]
fn the_first_blind_set_meets_the_targets() {
    let m = measured(BLIND_1, |_| true);
    assert_eq!(m.messages, 120);
    assert_targets("blind 1", m);
}

#[test]
fn the_second_blind_set_meets_the_targets() {
    let m = measured(BLIND_2, |_| true);
    assert_eq!(m.messages, 100);
    assert_targets("blind 2", m);
}

#[test]
fn the_third_blind_set_never_tuned_on_meets_the_targets() {
    let m = measured(BLIND_3, |_| true);
    assert_eq!(m.messages, 100);
    assert_targets("blind 3", m);
}
