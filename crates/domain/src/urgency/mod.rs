//! Urgency: which conversations need the desk first.
//!
//! A message's urgency is what it says, judged by a rule model (`model`): concept lexicons
//! (`lexicon`) matched as word stems and short patterns (`pattern`) over its words and clauses
//! (`tokens`), with negation ("not fraud", "nothing stolen") and harmless uses ("fraud prevention",
//! "the road is blocked", "stolen idea") set aside. The concepts found put it in a tier (act now,
//! same day, normal, low; see `model` for the scale), and time pressure and tone move it within
//! the tier. The thread type adds a small prior, and operators' `phrases` add their weights.
//!
//! A thread's stored [`Urgency`] merges its unanswered messages: the most urgent one, plus a
//! step per further unanswered message (the client's rising distress). The waiting time adds
//! `points_per_minute_waiting` per minute on top, so that nothing starves; because it grows at the
//! same rate for every thread, the order of two threads never changes as time passes, and the queue
//! sorts on [`UrgencyRules::rank_key`], a number fixed at write time.

pub mod evaluation;
mod lexicon;
mod model;
mod pattern;
#[cfg(test)]
mod tests_hard_cases;
mod tokens;

pub use model::{ACT_NOW, LOW, NORMAL, SAME_DAY, UNCLEAR};

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
    /// Operators' extra content rules, added to the model's score (none by default).
    pub phrases: Vec<PhraseRule>,
    /// Points added per minute the client has waited.
    pub points_per_minute_waiting: i64,
}

impl Default for UrgencyRules {
    fn default() -> Self {
        UrgencyRules {
            loan_weight: 10,
            payment_weight: 5,
            other_weight: 0,
            phrases: Vec::new(),
            points_per_minute_waiting: 1,
        }
    }
}

/// How urgent a thread's unanswered messages are, before waiting time, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Urgency {
    /// Points from content, thread type and unanswered messages (see the module's doc).
    pub score: i64,
    /// Short reasons for the agents, e.g. `suspected fraud`, `deadline today`,
    /// `3 unanswered messages`.
    pub reasons: Vec<String>,
}

/// Points per unanswered message after the first (the client's rising distress).
pub const POINTS_PER_FURTHER_MESSAGE: i64 = 20;
/// Further messages that count towards distress (so a chatty client does not jump a tier).
const MAX_FURTHER_MESSAGES: i64 = 3;
/// The reason that counts a thread's unanswered messages.
const UNANSWERED: &str = " unanswered messages";

fn distress_points(messages: i64) -> i64 {
    (messages - 1).clamp(0, MAX_FURTHER_MESSAGES) * POINTS_PER_FURTHER_MESSAGE
}

impl Urgency {
    /// The urgency of a thread's unanswered messages together: the more urgent of the two, plus
    /// [`POINTS_PER_FURTHER_MESSAGE`] per further message (up to three), with the reasons of both
    /// and `N unanswered messages`. Merging with [`Urgency::default`] (no message) changes nothing.
    pub fn merge(self, other: Urgency) -> Urgency {
        let (mine, theirs) = (self.messages(), other.messages());
        if mine == 0 {
            return other;
        }
        if theirs == 0 {
            return self;
        }
        let messages = mine + theirs;
        let base = (self.score - distress_points(mine)).max(other.score - distress_points(theirs));
        let mut reasons: Vec<String> = Vec::with_capacity(self.reasons.len() + other.reasons.len());
        for reason in self.reasons.into_iter().chain(other.reasons) {
            if !reason.ends_with(UNANSWERED) && !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        reasons.push(format!("{messages}{UNANSWERED}"));
        Urgency {
            score: base.saturating_add(distress_points(messages)),
            reasons,
        }
    }

    /// How many messages this urgency stands for: none for the default, the count in its
    /// `N unanswered messages` reason, otherwise one.
    fn messages(&self) -> i64 {
        if self.score == 0 && self.reasons.is_empty() {
            return 0;
        }
        self.reasons
            .iter()
            .find_map(|r| r.strip_suffix(UNANSWERED)?.parse().ok())
            .unwrap_or(1)
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

    /// The urgency of one client message in a thread of the given topic: the model's score of
    /// what it says, the topic's prior, and the operators' phrases found in it.
    pub fn assess(&self, thread_type: ThreadType, body: &str) -> Urgency {
        let (score, reasons) = model::content(body);
        let prior = self.type_weight(thread_type);
        let mut urgency = Urgency {
            score: score.saturating_add(prior),
            reasons: reasons.into_iter().map(str::to_owned).collect(),
        };
        // The topic is shown too, so agents see every point's origin (it only tips ties).
        if prior != 0 {
            urgency
                .reasons
                .push(format!("{} topic (+{prior})", thread_type.as_str()));
        }
        if self.phrases.is_empty() {
            return urgency;
        }
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

    /// The urgency of a thread's unanswered messages, oldest first: each assessed, then merged
    /// as [`Urgency::merge`] does (as `Thread::on_message` does one message at a time).
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
    fn reasons_are_short_and_human() {
        let rules = UrgencyRules::default();
        let u = rules.assess(ThreadType::Payment, "I think this is FRAUD");
        assert!(u.score >= ACT_NOW, "{u:?}");
        assert!(u.reasons.iter().any(|r| r == "suspected fraud"), "{u:?}");
    }

    #[test]
    fn operators_phrases_still_add_their_weight() {
        let mut rules = UrgencyRules::default();
        let plain = rules.assess(ThreadType::Other, "question about the Gold Plan");
        rules.phrases.push(PhraseRule {
            phrase: "gold plan".into(),
            weight: 40,
        });
        let boosted = rules.assess(ThreadType::Other, "question about the Gold Plan");
        assert_eq!(boosted.score, plain.score + 40);
        assert!(boosted.reasons.iter().any(|r| r.contains("gold plan")));
    }

    #[test]
    fn unanswered_messages_add_up_to_rising_distress() {
        let rules = UrgencyRules::default();
        let first = "my payment failed but money was deducted";
        let one = rules.assess_all(ThreadType::Payment, [first]);
        let three = rules.assess_all(
            ThreadType::Payment,
            [first, "hello?", "STILL NO REPLY, WHERE IS MY MONEY"],
        );
        assert!(
            three.score >= one.score + 2 * POINTS_PER_FURTHER_MESSAGE,
            "{three:?}"
        );
        assert!(
            three.reasons.iter().any(|r| r == "3 unanswered messages"),
            "{three:?}"
        );
        assert!(
            three.score < ACT_NOW,
            "distress alone does not make it act-now: {three:?}"
        );
        // One message at a time (as the thread does) is the same as all at once.
        let mut stepwise = Urgency::default();
        for body in [first, "hello?", "STILL NO REPLY, WHERE IS MY MONEY"] {
            stepwise = stepwise.merge(rules.assess(ThreadType::Payment, body));
        }
        assert_eq!(stepwise, three);
    }

    #[test]
    fn act_now_outranks_low_by_more_than_an_hour_of_waiting() {
        let rules = UrgencyRules::default();
        let low = rules.assess(ThreadType::Loan, "thanks, great service!");
        let urgent = rules.assess(ThreadType::Other, "someone is using my card right now");
        let start = Timestamp(10_000_000);
        let later = start.plus_millis(61 * 60_000);
        assert!(rules.rank_key(&urgent, Some(later)) > rules.rank_key(&low, Some(start)));
    }
}
