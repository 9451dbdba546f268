//! SLA clocks as conversations happen, and the sweep that finds clocks at risk or breached.

use std::collections::HashMap;

use super::{require_staff, Chat};
use crate::event::Event;
use crate::message::Appended;
use crate::report::{AgentRow, GroupBy, ReportRange, SummaryRow};
use crate::sla::{SlaChange, SlaClock, SlaKind, SlaPolicy, SlaSummary};
use crate::thread::{Thread, ThreadStatus};
use crate::urgency::Urgency;
use crate::user::User;
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
    /// Starts and stops clocks after a stored message whose store left them
    /// ([`crate::sla::SlaApplied::Left`]). Failures are logged, never the send's: the message
    /// is stored either way.
    pub(super) fn sla_after_message(&self, actor: &User, appended: &Appended) {
        let at = appended.message.created_at;
        if !appended.created || !SlaPolicy::may_change_clocks(actor.role, &appended.thread, at) {
            return;
        }
        let result = self
            .store
            .sla_clocks(&[appended.thread.id])
            .and_then(|clocks| {
                let changes = self.config.sla.after_message(
                    (actor.role, actor.id),
                    &appended.thread,
                    at,
                    &clocks,
                );
                self.make_sla_changes(changes)
            });
        if let Err(err) = result {
            tracing::warn!(error = %err, thread_id = %appended.thread.id, "SLA clock not updated");
        }
    }

    fn make_sla_changes(&self, changes: Vec<SlaChange>) -> DomainResult<()> {
        for change in changes {
            match change {
                SlaChange::Start(clock) => {
                    self.store.start_sla_clock(clock)?;
                }
                SlaChange::Finish { clock, end, agent } => {
                    self.store.finish_sla_clock(clock, end, agent)?;
                }
            }
        }
        Ok(())
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
    /// agent). Run it on a timer; safe on many instances at once: each is handled once. However
    /// many clocks a sweep finds, their threads are read in one statement and their boosts
    /// written in one transaction.
    pub fn sweep_sla(&self) -> DomainResult<SlaSweep> {
        let now = self.now();
        let warned = self.store.warn_at_risk_clocks(now)?;
        let breached = self.store.breach_due_clocks(now)?;
        let mut ids: Vec<ThreadId> = warned
            .iter()
            .chain(&breached)
            .map(|clock| clock.thread_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut threads: HashMap<ThreadId, Thread> = self
            .store
            .threads_by_ids(&ids)?
            .into_iter()
            .map(|thread| (thread.id, thread))
            .collect();
        let boosts = self.at_risk_boosts(&warned, &mut threads);
        if let Err(err) = self.store.set_urgencies(&boosts) {
            tracing::warn!(error = %err, threads = boosts.len(), "SLA urgency not raised");
        }
        for clock in &breached {
            let agent_id = threads.get(&clock.thread_id).and_then(|t| t.agent_id);
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

    /// The new urgency and rank key of each waiting thread with a clock at risk: its urgency
    /// gains `at_risk_points` per such clock (applied to `threads` in turn, so two clocks of
    /// one thread add up).
    fn at_risk_boosts(
        &self,
        warned: &[SlaClock],
        threads: &mut HashMap<ThreadId, Thread>,
    ) -> Vec<(ThreadId, Urgency, i64)> {
        let mut boosted: Vec<ThreadId> = Vec::new();
        for clock in warned {
            let Some(thread) = threads.get_mut(&clock.thread_id) else {
                continue;
            };
            if thread.waiting_since.is_none() {
                continue;
            }
            let reason = match clock.kind {
                SlaKind::FirstResponse => "first response due soon",
                _ => "reply due soon",
            };
            thread.urgency = thread
                .urgency
                .clone()
                .with_points(self.config.sla.at_risk_points, reason);
            if !boosted.contains(&thread.id) {
                boosted.push(thread.id);
            }
        }
        boosted
            .into_iter()
            .filter_map(|id| {
                let thread = threads.get(&id)?;
                let rank = self
                    .config
                    .urgency
                    .rank_key(&thread.urgency, thread.waiting_since);
                Some((id, thread.urgency.clone(), rank))
            })
            .collect()
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
