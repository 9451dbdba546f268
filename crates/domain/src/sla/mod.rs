//! SLA clocks: how long clients wait for a first answer, for each next answer, and for their
//! conversation to be resolved, measured against targets per thread type, in business hours
//! when a schedule is set.
//!
//! A clock starts when the wait starts (a client's message that begins a wait starts a response
//! clock, first or next; the first message of an unresolved stretch starts the resolution clock)
//! and stops when it is answered (the holder's reply; a note is not one) or the thread is
//! resolved. Each clock is a row the store keeps ([`crate::ports::SlaStore`]), stamped when it
//! happens: its start, when it is due, when it comes *at risk*, its end, the business seconds
//! it took and whether it met its target.
//!
//! **The urgency rule.** A running response clock comes at risk when `at_risk_percent` of its
//! target is left (by default 25%: after 3 min 45 s of a 5 min target). The sweep then adds
//! `at_risk_points` (200, an act-now message's weight) to the thread's stored urgency with the
//! reason `first response due soon` (or `reply due soon`), once per clock, and re-ranks it: the
//! queue (ordered by the rank key) serves it before anything but act-now content that waited
//! longer. An agent's reply clears it with the rest of the urgency. When a clock passes its due
//! instant, the sweep marks it breached and publishes `sla.breached` to staff, exactly once
//! across instances (a conditional update).

pub mod hours;

use serde::{Deserialize, Serialize};

use crate::thread::{Thread, ThreadType};
use crate::user::Role;
use crate::{DomainError, DomainResult, ThreadId, Timestamp, UserId};

pub use hours::BusinessHours;

/// What a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaKind {
    /// The client's first waiting message to the first agent reply.
    FirstResponse,
    /// A later wait to its reply.
    NextResponse,
    /// The start of an unresolved stretch to its resolution.
    Resolution,
}

impl SlaKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaKind::FirstResponse => "first_response",
            SlaKind::NextResponse => "next_response",
            SlaKind::Resolution => "resolution",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> DomainResult<SlaKind> {
        match text {
            "first_response" => Ok(SlaKind::FirstResponse),
            "next_response" => Ok(SlaKind::NextResponse),
            "resolution" => Ok(SlaKind::Resolution),
            _ => Err(DomainError::Internal(format!("unknown SLA kind {text:?}"))),
        }
    }

    /// Which of a thread's two running clocks this is (`response` or `resolution`): at most
    /// one of each runs per thread.
    pub fn track(self) -> &'static str {
        match self {
            SlaKind::FirstResponse | SlaKind::NextResponse => "response",
            SlaKind::Resolution => "resolution",
        }
    }
}

/// Targets of one thread type, in seconds (`None`: no target, never at risk or breached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlaTargets {
    /// First response.
    pub first_response: Option<i64>,
    /// Each next response.
    pub next_response: Option<i64>,
    /// Resolution.
    pub resolution: Option<i64>,
}

impl SlaTargets {
    /// The target of a kind of clock.
    pub fn of(&self, kind: SlaKind) -> Option<i64> {
        match kind {
            SlaKind::FirstResponse => self.first_response,
            SlaKind::NextResponse => self.next_response,
            SlaKind::Resolution => self.resolution,
        }
    }
}

/// The SLA settings: targets per thread type, business hours, the urgency rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicy {
    /// Loan threads' targets.
    pub loan: SlaTargets,
    /// Payment threads' targets.
    pub payment: SlaTargets,
    /// Other threads' targets.
    pub other: SlaTargets,
    /// When clocks run; `None`: always.
    pub hours: Option<BusinessHours>,
    /// A response clock is at risk when this share (percent) of its target is left.
    pub at_risk_percent: u32,
    /// Urgency points an at-risk thread gains.
    pub at_risk_points: i64,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy {
            loan: SlaTargets::default(),
            payment: SlaTargets::default(),
            other: SlaTargets::default(),
            hours: None,
            at_risk_percent: 25,
            at_risk_points: 200,
        }
    }
}

impl SlaPolicy {
    /// The targets of a thread type.
    pub fn targets(&self, thread_type: ThreadType) -> SlaTargets {
        match thread_type {
            ThreadType::Loan => self.loan,
            ThreadType::Payment => self.payment,
            ThreadType::Other => self.other,
        }
    }

    /// Whole seconds of clock time between two instants (business time when hours are set).
    pub fn elapsed_seconds(&self, from: Timestamp, to: Timestamp) -> i64 {
        let ms = match &self.hours {
            Some(hours) => hours.open_millis(from, to),
            None => to.millis_since(from).max(0),
        };
        ms / 1000
    }

    /// The instant `seconds` of clock time after `from` (`None`: too far away to matter).
    pub fn after(&self, from: Timestamp, seconds: i64) -> Option<Timestamp> {
        match &self.hours {
            Some(hours) => hours.add_open_millis(from, seconds.saturating_mul(1000)),
            None => Some(from.plus_millis(seconds.saturating_mul(1000))),
        }
    }

    /// A new clock of `kind` for a thread, started at `at`, with its due and at-risk instants.
    pub fn start(
        &self,
        thread_id: ThreadId,
        thread_type: ThreadType,
        kind: SlaKind,
        at: Timestamp,
    ) -> NewSlaClock {
        let target = self.targets(thread_type).of(kind);
        let due_at = target.and_then(|t| self.after(at, t));
        let at_risk_at = match (kind, target) {
            (SlaKind::Resolution, _) | (_, None) => None,
            (_, Some(t)) => {
                let before_due =
                    t.saturating_mul(i64::from(100 - self.at_risk_percent.min(100))) / 100;
                self.after(at, before_due)
            }
        };
        NewSlaClock {
            thread_id,
            thread_type,
            kind,
            started_at: at,
            target_seconds: target,
            due_at,
            at_risk_at,
        }
    }

    /// How a running clock ends at `at`: its seconds and whether it met its target.
    pub fn finish(&self, clock: &SlaClock, at: Timestamp, answered: bool) -> SlaEnd {
        if !answered {
            // Resolved without a reply: no response time; a breach still counts as missed.
            return SlaEnd {
                ended_at: at,
                seconds: None,
                met: clock.breached_at.map(|_| false),
            };
        }
        let seconds = self.elapsed_seconds(clock.started_at, at);
        SlaEnd {
            ended_at: at,
            seconds: Some(seconds),
            met: clock.target_seconds.map(|t| seconds <= t),
        }
    }
}

impl SlaPolicy {
    /// The clock changes a message stored at `at` makes: `thread` as the message left it,
    /// `clocks` the thread's running clocks and its first-response clock (the others do not
    /// matter). A client's message that began a wait starts a response clock (first or next)
    /// and, if none runs, the resolution clock; a staff reply ends the running response clock,
    /// answered. Anything else changes nothing.
    pub fn after_message(
        &self,
        sender: (Role, UserId),
        thread: &Thread,
        at: Timestamp,
        clocks: &[SlaClock],
    ) -> Vec<SlaChange> {
        match sender.0 {
            Role::Client if thread.waiting_since == Some(at) => {
                self.wait_started(thread, at, clocks)
            }
            Role::Client => Vec::new(),
            Role::Agent | Role::Admin => clocks
                .iter()
                .filter(|c| c.is_running() && c.kind.track() == "response")
                .map(|c| SlaChange::Finish {
                    clock: c.id,
                    end: self.finish(c, at, true),
                    agent: Some(sender.1),
                })
                .collect(),
        }
    }

    fn wait_started(&self, thread: &Thread, at: Timestamp, clocks: &[SlaClock]) -> Vec<SlaChange> {
        let answered_before = clocks
            .iter()
            .any(|c| c.kind == SlaKind::FirstResponse && c.seconds.is_some());
        let response = if answered_before {
            SlaKind::NextResponse
        } else {
            SlaKind::FirstResponse
        };
        let mut changes = Vec::new();
        for kind in [response, SlaKind::Resolution] {
            let running = clocks
                .iter()
                .any(|c| c.is_running() && c.kind.track() == kind.track());
            if !running {
                changes.push(SlaChange::Start(self.start(
                    thread.id,
                    thread.thread_type,
                    kind,
                    at,
                )));
            }
        }
        changes
    }

    /// Whether a message from `sender`, stored at `at` into `thread` (as the message left it),
    /// can change clocks at all: if not, its clocks need not be read.
    pub fn may_change_clocks(sender: Role, thread: &Thread, at: Timestamp) -> bool {
        sender != Role::Client || thread.waiting_since == Some(at)
    }
}

/// A change to a thread's clocks, decided by [`SlaPolicy::after_message`] and made by a store.
#[derive(Debug, Clone, PartialEq)]
pub enum SlaChange {
    /// Start this clock (nothing, if one of its track runs already).
    Start(NewSlaClock),
    /// End a running clock (nothing, if it ended meanwhile).
    Finish {
        /// The clock's id.
        clock: i64,
        /// How it ends.
        end: SlaEnd,
        /// The agent it is credited to.
        agent: Option<UserId>,
    },
}

/// Whether a store made an append's clock changes in the append's own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaApplied {
    /// Made with the message (committed together).
    WithMessage,
    /// Not made: the caller makes them after the append.
    Left,
}

/// A clock to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlaClock {
    /// Its thread.
    pub thread_id: ThreadId,
    /// The thread's type (reports group by it).
    pub thread_type: ThreadType,
    /// What it measures.
    pub kind: SlaKind,
    /// When the wait started.
    pub started_at: Timestamp,
    /// Its target, if its type has one.
    pub target_seconds: Option<i64>,
    /// When it breaches (if it has a target).
    pub due_at: Option<Timestamp>,
    /// When it comes at risk (response clocks with a target).
    pub at_risk_at: Option<Timestamp>,
}

impl NewSlaClock {
    /// The clock as a store keeps it once stored under `id`: running, nothing stamped yet.
    pub fn stored(self, id: i64) -> SlaClock {
        SlaClock {
            id,
            thread_id: self.thread_id,
            thread_type: self.thread_type,
            kind: self.kind,
            started_at: self.started_at,
            target_seconds: self.target_seconds,
            due_at: self.due_at,
            at_risk_at: self.at_risk_at,
            warned_at: None,
            breached_at: None,
            ended_at: None,
            agent_id: None,
            seconds: None,
            met: None,
        }
    }
}

/// How a clock ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaEnd {
    /// When.
    pub ended_at: Timestamp,
    /// Clock seconds it ran (`None`: it ended without an answer).
    pub seconds: Option<i64>,
    /// Whether it met its target (`None`: no target, or not measured).
    pub met: Option<bool>,
}

/// A stored clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaClock {
    /// Its id.
    pub id: i64,
    /// Its thread.
    pub thread_id: ThreadId,
    /// The thread's type.
    pub thread_type: ThreadType,
    /// What it measures.
    pub kind: SlaKind,
    /// When the wait started.
    pub started_at: Timestamp,
    /// Its target.
    pub target_seconds: Option<i64>,
    /// When it breaches.
    pub due_at: Option<Timestamp>,
    /// When it comes at risk.
    pub at_risk_at: Option<Timestamp>,
    /// When the sweep found it at risk.
    pub warned_at: Option<Timestamp>,
    /// When the sweep found it breached.
    pub breached_at: Option<Timestamp>,
    /// When it ended (`None`: running).
    pub ended_at: Option<Timestamp>,
    /// The agent who answered or held the thread at its end.
    pub agent_id: Option<UserId>,
    /// Clock seconds it ran.
    pub seconds: Option<i64>,
    /// Whether it met its target.
    pub met: Option<bool>,
}

impl SlaClock {
    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// A thread's SLA, as staff see it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaSummary {
    /// Seconds to the first response, once answered.
    pub first_response_seconds: Option<i64>,
    /// Seconds of the latest response.
    pub last_response_seconds: Option<i64>,
    /// Seconds to the latest resolution.
    pub resolution_seconds: Option<i64>,
    /// The earliest due instant of a running clock not yet breached.
    pub next_breach_at: Option<Timestamp>,
    /// Whether a running clock has breached.
    pub breached: bool,
    /// Clocks that ended, and how many of them missed a target.
    pub missed: u32,
}

impl SlaSummary {
    /// Sums up a thread's clocks (any order).
    pub fn of(clocks: &[SlaClock]) -> SlaSummary {
        let mut s = SlaSummary::default();
        let mut ordered: Vec<&SlaClock> = clocks.iter().collect();
        ordered.sort_by_key(|c| (c.started_at, c.id));
        for c in ordered {
            match (c.kind, c.seconds) {
                (SlaKind::FirstResponse, Some(sec)) => {
                    s.first_response_seconds.get_or_insert(sec);
                    s.last_response_seconds = Some(sec);
                }
                (SlaKind::NextResponse, Some(sec)) => s.last_response_seconds = Some(sec),
                (SlaKind::Resolution, Some(sec)) => s.resolution_seconds = Some(sec),
                _ => {}
            }
            if c.met == Some(false) {
                s.missed += 1;
            }
            if c.is_running() {
                if c.breached_at.is_some() {
                    s.breached = true;
                } else if let Some(due) = c.due_at {
                    s.next_breach_at = Some(s.next_breach_at.map_or(due, |d| d.min(due)));
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SlaPolicy {
        SlaPolicy {
            loan: SlaTargets {
                first_response: Some(300),
                next_response: Some(600),
                resolution: Some(3600),
            },
            ..SlaPolicy::default()
        }
    }

    fn waiting_since(at: Option<Timestamp>) -> Thread {
        Thread {
            id: ThreadId(7),
            client_id: UserId(1),
            thread_type: ThreadType::Loan,
            status: crate::thread::ThreadStatus::Open,
            claim: None,
            agent_id: None,
            created_at: Timestamp(0),
            last_activity_at: Timestamp(0),
            last_seq: 1,
            waiting_since: at,
            urgency: crate::urgency::Urgency::default(),
            resolutions: 0,
        }
    }

    fn started(changes: &[SlaChange]) -> Vec<SlaKind> {
        changes
            .iter()
            .filter_map(|c| match c {
                SlaChange::Start(clock) => Some(clock.kind),
                SlaChange::Finish { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_wait_starts_the_response_and_resolution_clocks_and_a_reply_ends_the_response_one() {
        let p = policy();
        let client = (Role::Client, UserId(1));
        let agent = (Role::Agent, UserId(2));
        let t0 = Timestamp(0);
        // The client's message began the wait: first response and resolution start.
        let begun = p.after_message(client, &waiting_since(Some(t0)), t0, &[]);
        assert_eq!(
            started(&begun),
            vec![SlaKind::FirstResponse, SlaKind::Resolution]
        );
        // A second message of the same wait changes nothing.
        let later = Timestamp(60_000);
        assert!(p
            .after_message(client, &waiting_since(Some(t0)), later, &[])
            .is_empty());
        // The agent's reply ends the running response clock, answered, and leaves resolution.
        let mut clocks = vec![
            p.start(ThreadId(7), ThreadType::Loan, SlaKind::FirstResponse, t0)
                .stored(1),
            p.start(ThreadId(7), ThreadType::Loan, SlaKind::Resolution, t0)
                .stored(2),
        ];
        let reply_at = Timestamp(120_000);
        let replied = p.after_message(agent, &waiting_since(None), reply_at, &clocks);
        assert_eq!(
            replied,
            vec![SlaChange::Finish {
                clock: 1,
                end: SlaEnd {
                    ended_at: reply_at,
                    seconds: Some(120),
                    met: Some(true),
                },
                agent: Some(UserId(2)),
            }]
        );
        // The next wait starts a next-response clock (the first was answered), and no second
        // resolution clock while one runs.
        clocks[0].ended_at = Some(reply_at);
        clocks[0].seconds = Some(120);
        let again = Timestamp(180_000);
        let next = p.after_message(client, &waiting_since(Some(again)), again, &clocks);
        assert_eq!(started(&next), vec![SlaKind::NextResponse]);
    }

    #[test]
    fn a_loan_clock_is_due_after_its_target_and_at_risk_before() {
        let c = policy().start(
            ThreadId(1),
            ThreadType::Loan,
            SlaKind::FirstResponse,
            Timestamp(0),
        );
        assert_eq!(c.due_at, Some(Timestamp(300_000)));
        assert_eq!(c.at_risk_at, Some(Timestamp(225_000)));
        let other = policy().start(
            ThreadId(1),
            ThreadType::Other,
            SlaKind::FirstResponse,
            Timestamp(0),
        );
        assert_eq!((other.due_at, other.at_risk_at), (None, None));
    }

    #[test]
    fn finishing_measures_against_the_target() {
        let p = policy();
        let new = p.start(
            ThreadId(1),
            ThreadType::Loan,
            SlaKind::FirstResponse,
            Timestamp(0),
        );
        let clock = new.stored(1);
        assert_eq!(p.finish(&clock, Timestamp(300_999), true).met, Some(true));
        assert_eq!(p.finish(&clock, Timestamp(301_000), true).met, Some(false));
        assert_eq!(p.finish(&clock, Timestamp(1), false).seconds, None);
        let summary = SlaSummary::of(&[clock]);
        assert_eq!(summary.next_breach_at, Some(Timestamp(300_000)));
    }
}
