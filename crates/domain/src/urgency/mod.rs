//! Urgency: which conversations need the desk first.
//!
//! A thread's score is the sum of
//! - its topic's weight (loan > payment > other),
//! - the weights of the phrases found in the client's unanswered messages (each phrase once),
//! - `points_per_minute_waiting` for every minute since the client's oldest unanswered message,
//!   so that nothing starves.
//!
//! The first two make the stored [`Urgency`]; the last grows with time. Because the waiting part
//! grows at the same rate for every thread, the order of two threads never changes as time
//! passes, and the queue sorts on [`UrgencyRules::rank_key`], a number fixed at write time.

pub mod evaluation;

use serde::{Deserialize, Serialize};

use crate::thread::ThreadType;
use crate::Timestamp;

/// A phrase that makes a message more urgent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhraseRule {
    /// Matched case-insensitively anywhere in the message (`disburs` matches `disbursement`).
    pub phrase: String,
    /// Points it adds.
    pub weight: i64,
}

/// The rules and weights of urgency (from `config/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgencyRules {
    /// Points for a loan thread.
    pub loan_weight: i64,
    /// Points for a payment thread.
    pub payment_weight: i64,
    /// Points for any other thread.
    pub other_weight: i64,
    /// Content rules.
    pub phrases: Vec<PhraseRule>,
    /// Points added per minute the client has waited.
    pub points_per_minute_waiting: i64,
}

impl Default for UrgencyRules {
    fn default() -> Self {
        let phrase = |p: &str, w| PhraseRule {
            phrase: p.to_owned(),
            weight: w,
        };
        UrgencyRules {
            loan_weight: 30,
            payment_weight: 20,
            other_weight: 10,
            phrases: vec![
                phrase("fraud", 50),
                phrase("stolen", 50),
                phrase("unauthori", 40),
                phrase("loan approval", 40),
                phrase("disburs", 40),
                phrase("blocked", 30),
                phrase("urgent", 20),
                phrase("not received", 20),
            ],
            points_per_minute_waiting: 1,
        }
    }
}

/// How urgent a thread's unanswered messages are, before waiting time, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Urgency {
    /// Points from topic and content.
    pub score: i64,
    /// Human-readable reasons, e.g. `topic: loan (+30)`, `"fraud" (+50)`.
    pub reasons: Vec<String>,
}

impl Urgency {
    /// The more urgent of two assessments of one thread, with the reasons of both.
    pub fn merge(mut self, other: Urgency) -> Urgency {
        self.score = self.score.max(other.score);
        for reason in other.reasons {
            if !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
        self
    }
}

/// A thread's urgency at one instant, waiting time included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgencyNow {
    /// Total points.
    pub score: i64,
    /// Why, waiting time included.
    pub reasons: Vec<String>,
}

impl UrgencyRules {
    /// Points for a topic.
    pub fn type_weight(&self, thread_type: ThreadType) -> i64 {
        match thread_type {
            ThreadType::Loan => self.loan_weight,
            ThreadType::Payment => self.payment_weight,
            ThreadType::Other => self.other_weight,
        }
    }

    /// The urgency of one client message in a thread of the given topic.
    pub fn assess(&self, thread_type: ThreadType, body: &str) -> Urgency {
        let type_weight = self.type_weight(thread_type);
        let mut urgency = Urgency {
            score: type_weight,
            reasons: vec![format!("topic: {} (+{type_weight})", thread_type.as_str())],
        };
        let lowered = body.to_lowercase();
        for rule in &self.phrases {
            if !rule.phrase.is_empty() && lowered.contains(&rule.phrase.to_lowercase()) {
                urgency.score += rule.weight;
                urgency
                    .reasons
                    .push(format!("mentions \"{}\" (+{})", rule.phrase, rule.weight));
            }
        }
        urgency
    }

    /// The urgency of a whole batch of unanswered messages (the most urgent one counts).
    pub fn assess_all<'a>(
        &self,
        thread_type: ThreadType,
        bodies: impl IntoIterator<Item = &'a str>,
    ) -> Urgency {
        bodies
            .into_iter()
            .map(|b| self.assess(thread_type, b))
            .fold(Urgency::default(), Urgency::merge)
    }

    /// The queue's sort key: higher is more urgent, at every instant alike.
    ///
    /// score(now) = urgency + ppm * (now - since) / 60000, so ordering by score is ordering by
    /// `urgency * 60000 - ppm * since`, which does not depend on `now`.
    pub fn rank_key(&self, urgency: &Urgency, waiting_since: Option<Timestamp>) -> i64 {
        match waiting_since {
            None => i64::MIN,
            Some(since) => urgency.score.saturating_mul(60_000).saturating_sub(
                self.points_per_minute_waiting
                    .saturating_mul(since.millis()),
            ),
        }
    }

    /// The score and reasons of a thread at `now`, waiting time included.
    pub fn at(
        &self,
        urgency: &Urgency,
        waiting_since: Option<Timestamp>,
        now: Timestamp,
    ) -> UrgencyNow {
        let mut reasons = urgency.reasons.clone();
        let mut score = urgency.score;
        if let Some(since) = waiting_since {
            let minutes = now.millis_since(since).max(0) / 60_000;
            let points = minutes.saturating_mul(self.points_per_minute_waiting);
            score = score.saturating_add(points);
            reasons.push(format!("waiting {minutes} min (+{points})"));
        }
        UrgencyNow { score, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loan_disbursement_outranks_an_earlier_address_change() {
        let rules = UrgencyRules::default();
        let address = rules.assess(ThreadType::Other, "please update my address");
        let loan = rules.assess(ThreadType::Loan, "When is my loan disbursement?");
        let earlier = Timestamp(1_000_000);
        let later = earlier.plus_millis(5 * 60_000);
        assert!(rules.rank_key(&loan, Some(later)) > rules.rank_key(&address, Some(earlier)));
    }

    #[test]
    fn a_long_wait_outranks_a_fresh_urgent_message() {
        let rules = UrgencyRules::default();
        let old = rules.assess(ThreadType::Other, "question about my statement");
        let fresh = rules.assess(ThreadType::Loan, "urgent: loan disbursement blocked");
        let start = Timestamp(10_000_000);
        let now = start.plus_millis(3 * 60 * 60_000);
        assert!(rules.rank_key(&old, Some(start)) > rules.rank_key(&fresh, Some(now)));
        assert!(rules.at(&old, Some(start), now).score > rules.at(&fresh, Some(now), now).score);
    }

    #[test]
    fn reasons_name_the_rules_that_matched() {
        let rules = UrgencyRules::default();
        let u = rules.assess(ThreadType::Payment, "I think this is FRAUD");
        assert_eq!(u.score, 70);
        assert!(u.reasons.iter().any(|r| r.contains("fraud")));
    }
}
