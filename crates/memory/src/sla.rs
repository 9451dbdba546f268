//! The SLA clocks in memory (the reference of [`SlaStore`]).

use chat_domain::ports::SlaStore;
use chat_domain::sla::{NewSlaClock, SlaClock, SlaEnd};
use chat_domain::{DomainResult, ThreadId, Timestamp, UserId};

use crate::store::MemoryStore;

impl SlaStore for MemoryStore {
    fn start_sla_clock(&self, clock: NewSlaClock) -> DomainResult<Option<SlaClock>> {
        let mut s = self.lock();
        let clash = s.sla_clocks.iter().any(|c| {
            c.thread_id == clock.thread_id && c.is_running() && c.kind.track() == clock.kind.track()
        });
        if clash {
            return Ok(None);
        }
        let id = i64::try_from(s.sla_clocks.len()).unwrap_or(i64::MAX - 1) + 1;
        let stored = clock.stored(id);
        s.sla_clocks.push(stored.clone());
        Ok(Some(stored))
    }

    fn sla_clocks(&self, threads: &[ThreadId]) -> DomainResult<Vec<SlaClock>> {
        let s = self.lock();
        let mut found: Vec<SlaClock> = s
            .sla_clocks
            .iter()
            .filter(|c| threads.contains(&c.thread_id))
            .cloned()
            .collect();
        found.sort_by_key(|c| (c.started_at, c.id));
        Ok(found)
    }

    fn finish_sla_clock(&self, id: i64, end: SlaEnd, agent: Option<UserId>) -> DomainResult<bool> {
        let mut s = self.lock();
        match s
            .sla_clocks
            .iter_mut()
            .find(|c| c.id == id && c.is_running())
        {
            Some(c) => {
                c.ended_at = Some(end.ended_at);
                c.seconds = end.seconds;
                c.met = end.met;
                c.agent_id = agent;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn breach_due_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>> {
        let mut s = self.lock();
        let mut out = Vec::new();
        for c in s.sla_clocks.iter_mut() {
            if c.is_running() && c.breached_at.is_none() && c.due_at.is_some_and(|d| d <= now) {
                c.breached_at = Some(now);
                out.push(c.clone());
            }
        }
        for c in &out {
            s.webhooks
                .record(chat_domain::webhook::OutboxEvent::sla_breached(c, now));
        }
        Ok(out)
    }

    fn warn_at_risk_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>> {
        let mut s = self.lock();
        let mut out = Vec::new();
        for c in s.sla_clocks.iter_mut() {
            if c.is_running() && c.warned_at.is_none() && c.at_risk_at.is_some_and(|d| d <= now) {
                c.warned_at = Some(now);
                out.push(c.clone());
            }
        }
        Ok(out)
    }
}
