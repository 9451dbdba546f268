//! SLA clocks as conversations happen, and the sweep that finds clocks at risk or breached.

use super::{require_staff, Chat};
use crate::event::Event;
use crate::message::Appended;
use crate::report::{AgentRow, GroupBy, ReportRange, SummaryRow};
use crate::sla::{SlaClock, SlaKind, SlaSummary};
use crate::thread::{Thread, ThreadStatus};
use crate::urgency::Urgency;
use crate::user::{Role, User};
use crate::{DomainResult, ThreadId, Timestamp, UserId};

/// What one sweep found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaSweep {
    /// Clocks that came at risk (their threads gained urgency).
    pub at_risk: usize,
    /// Clocks that breached (`sla.breached` published).
    pub breached: usize,
}

impl Chat {
    /// Starts and stops clocks after a stored message. Failures are logged, never the send's:
    /// the message is stored either way.
    pub(super) fn sla_after_message(&self, actor: &User, appended: &Appended) {
        if !appended.created {
            return;
        }
        let result = match actor.role {
            Role::Client => match appended.thread.waiting_since {
                // This message began the wait.
                Some(since) if since == appended.message.created_at => {
                    self.sla_wait_started(&appended.thread, since)
                }
                _ => Ok(()),
            },
            Role::Agent | Role::Admin => self.sla_stop(
                &appended.thread,
                appended.message.created_at,
                true,
                actor.id,
            ),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, thread_id = %appended.thread.id, "SLA clock not updated");
        }
    }

    /// After a status change: resolving stops both clocks (the resolution answered, a response
    /// clock ended without an answer).
    pub(super) fn sla_after_status(&self, thread: &Thread, now: Timestamp) {
        if thread.status != ThreadStatus::Resolved {
            return;
        }
        let agent = thread.agent_id;
        if let Err(err) = self.sla_stop_resolved(thread, now, agent) {
            tracing::warn!(error = %err, thread_id = %thread.id, "SLA clock not updated");
        }
    }

    fn sla_wait_started(&self, thread: &Thread, since: Timestamp) -> DomainResult<()> {
        let policy = &self.config.sla;
        let clocks = self.store.sla_clocks(&[thread.id])?;
        let answered_before = clocks
            .iter()
            .any(|c| c.kind == SlaKind::FirstResponse && c.seconds.is_some());
        let kind = if answered_before {
            SlaKind::NextResponse
        } else {
            SlaKind::FirstResponse
        };
        if !clocks
            .iter()
            .any(|c| c.is_running() && c.kind.track() == "response")
        {
            self.store
                .start_sla_clock(policy.start(thread.id, thread.thread_type, kind, since))?;
        }
        if !clocks
            .iter()
            .any(|c| c.is_running() && c.kind == SlaKind::Resolution)
        {
            self.store.start_sla_clock(policy.start(
                thread.id,
                thread.thread_type,
                SlaKind::Resolution,
                since,
            ))?;
        }
        Ok(())
    }

    fn sla_stop(
        &self,
        thread: &Thread,
        at: Timestamp,
        answered: bool,
        agent: UserId,
    ) -> DomainResult<()> {
        for clock in self.store.sla_clocks(&[thread.id])? {
            if clock.is_running() && clock.kind.track() == "response" {
                let end = self.config.sla.finish(&clock, at, answered);
                self.store.finish_sla_clock(clock.id, end, Some(agent))?;
            }
        }
        Ok(())
    }

    fn sla_stop_resolved(
        &self,
        thread: &Thread,
        at: Timestamp,
        agent: Option<UserId>,
    ) -> DomainResult<()> {
        for clock in self.store.sla_clocks(&[thread.id])? {
            if clock.is_running() {
                let answered = clock.kind == SlaKind::Resolution;
                let end = self.config.sla.finish(&clock, at, answered);
                self.store.finish_sla_clock(clock.id, end, agent)?;
            }
        }
        Ok(())
    }

    /// Finds clocks at risk (their threads gain `at_risk_points` of urgency, see
    /// [`crate::sla`]) and clocks breached (`sla.breached` to the queue and the thread's last
    /// agent). Run it on a timer; safe on many instances at once: each is handled once.
    pub fn sweep_sla(&self) -> DomainResult<SlaSweep> {
        let now = self.now();
        let warned = self.store.warn_at_risk_clocks(now)?;
        for clock in &warned {
            if let Err(err) = self.boost_at_risk(clock) {
                tracing::warn!(error = %err, thread_id = %clock.thread_id, "SLA urgency not raised");
            }
        }
        let breached = self.store.breach_due_clocks(now)?;
        for clock in &breached {
            let agent_id = self
                .store
                .thread_by_id(clock.thread_id)?
                .and_then(|t| t.agent_id);
            self.publish(Event::SlaBreached {
                thread_id: clock.thread_id,
                kind: clock.kind,
                due_at: clock.due_at.unwrap_or(now),
                agent_id,
            });
        }
        Ok(SlaSweep {
            at_risk: warned.len(),
            breached: breached.len(),
        })
    }

    fn boost_at_risk(&self, clock: &SlaClock) -> DomainResult<()> {
        let Some(thread) = self.store.thread_by_id(clock.thread_id)? else {
            return Ok(());
        };
        if thread.waiting_since.is_none() {
            return Ok(());
        }
        let reason = match clock.kind {
            SlaKind::FirstResponse => "first response due soon",
            _ => "reply due soon",
        };
        let urgency = thread
            .urgency
            .clone()
            .with_points(self.config.sla.at_risk_points, reason);
        let rank = self.config.urgency.rank_key(&urgency, thread.waiting_since);
        self.store.set_urgency(thread.id, &urgency, rank)
    }

    /// A thread's SLA summary (staff).
    pub fn thread_sla(&self, actor: &User, thread: ThreadId) -> DomainResult<SlaSummary> {
        require_staff(actor)?;
        Ok(SlaSummary::of(&self.store.sla_clocks(&[thread])?))
    }

    /// Moves the ended SLA clocks waiting for the reports' rollup into it, a batch at a time
    /// until none wait ([`crate::ports::ReportStore::fold_reports`]), and answers how many
    /// moved. Run it on a timer; safe on many instances at once.
    pub fn fold_reports(&self) -> DomainResult<u64> {
        const BATCH: u32 = 5_000;
        let mut moved = 0;
        loop {
            let n = self.store.fold_reports(BATCH)?;
            moved += n;
            if n < u64::from(BATCH) {
                return Ok(moved);
            }
        }
    }

    /// The summary report (staff).
    pub fn report_summary(
        &self,
        actor: &User,
        range: ReportRange,
        group_by: GroupBy,
    ) -> DomainResult<Vec<SummaryRow>> {
        require_staff(actor)?;
        self.store.report_summary(range, group_by)
    }

    /// The per-agent report (staff).
    pub fn report_agents(&self, actor: &User, range: ReportRange) -> DomainResult<Vec<AgentRow>> {
        require_staff(actor)?;
        self.store.report_agents(range, self.now())
    }
}

impl Urgency {
    /// This urgency with `points` more and a reason (kept once).
    pub fn with_points(mut self, points: i64, reason: &str) -> Urgency {
        if !self.reasons.iter().any(|r| r == reason) {
            self.score = self.score.saturating_add(points);
            self.reasons.push(reason.to_owned());
        }
        self
    }
}
