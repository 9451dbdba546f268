//! The measures of a queue order against labelled messages (see `docs/ARCHITECTURE.md`, Urgency):
//! how often the queue puts the more urgent tier first, how many of the "act now" messages reach the
//! top, and how many low-priority ones crowd the top quarter.
//!
//! Tiers are 1 (act now) to 4 (low). Messages are taken as posted at the same instant, so the
//! queue orders them by score alone; equal scores are in posting order, which is arbitrary, so ties
//! count half (pairwise) or pro rata (at a cut).

/// One labelled message as the queue scored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// Its label: 1 (act now) to 4 (low).
    pub tier: u8,
    /// The model's score for it.
    pub score: i64,
}

/// The three figures of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// Messages evaluated.
    pub messages: usize,
    /// Over all pairs of different tiers, the share ordered with the more urgent tier first (ties
    /// count half).
    pub pairwise: f64,
    /// The share of tier-1 messages among the top N, N = the number of tier-1 messages (a tie
    /// straddling the cut counts pro rata).
    pub tier1_recall: f64,
    /// How many tier-4 messages sit in the top quarter (expected value over tie orders).
    pub tier4_in_top_quarter: f64,
}

/// Computes the three measures.
pub fn measure(items: &[Scored]) -> Measures {
    let mut good = 0.0;
    let mut pairs = 0.0;
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            if a.tier == b.tier {
                continue;
            }
            pairs += 1.0;
            let (urgent, calm) = if a.tier < b.tier { (a, b) } else { (b, a) };
            if urgent.score > calm.score {
                good += 1.0;
            } else if urgent.score == calm.score {
                good += 0.5;
            }
        }
    }
    let tier1 = items.iter().filter(|s| s.tier == 1).count();
    let recall = if tier1 == 0 {
        1.0
    } else {
        expected_in_top(items, tier1, 1) / tier1 as f64
    };
    Measures {
        messages: items.len(),
        pairwise: if pairs == 0.0 { 1.0 } else { good / pairs },
        tier1_recall: recall,
        tier4_in_top_quarter: expected_in_top(items, items.len() / 4, 4),
    }
}

/// How many messages of `tier` are expected among the `top` highest scores (a tie group
/// straddling the cut contributes its share of the remaining places).
fn expected_in_top(items: &[Scored], top: usize, tier: u8) -> f64 {
    let mut scores: Vec<i64> = items.iter().map(|s| s.score).collect();
    scores.sort_unstable_by(|a, b| b.cmp(a));
    scores.dedup();
    let mut taken = 0usize;
    let mut found = 0.0;
    for score in scores {
        if taken >= top {
            break;
        }
        let group: Vec<&Scored> = items.iter().filter(|s| s.score == score).collect();
        let of_tier = group.iter().filter(|s| s.tier == tier).count() as f64;
        let room = top - taken;
        if group.len() <= room {
            found += of_tier;
            taken += group.len();
        } else {
            found += of_tier * room as f64 / group.len() as f64;
            taken = top;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(tier: u8, score: i64) -> Scored {
        Scored { tier, score }
    }

    #[test]
    fn a_perfect_order_scores_one_and_ties_count_half() {
        let perfect = measure(&[s(1, 9), s(2, 5), s(3, 3), s(4, 1)]);
        assert_eq!(perfect.pairwise, 1.0);
        assert_eq!(perfect.tier1_recall, 1.0);
        assert_eq!(perfect.tier4_in_top_quarter, 0.0);
        let flat = measure(&[s(1, 0), s(4, 0), s(2, 0), s(3, 0)]);
        assert_eq!(flat.pairwise, 0.5);
        assert_eq!(flat.tier1_recall, 0.25);
        assert_eq!(flat.tier4_in_top_quarter, 0.25);
    }
}
