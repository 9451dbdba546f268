//! The routing port of the in-memory store: every rule under the store's one lock.

use chat_domain::claim::{Claim, ClaimMode, ExpiredClaim};
use chat_domain::ports::RoutingStore;
use chat_domain::routing::{
    AgentState, Assignment, Availability, RoutingMode, TransferCheck, Transferred,
};
use chat_domain::thread::ThreadStatus;
use chat_domain::{Conflict, DomainError, DomainResult, ThreadId, Timestamp, UserId};

use crate::store::{MemoryStore, State};

/// A staff member's routing state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AgentRecord {
    availability: Availability,
    capacity: Option<u32>,
    last_assigned_at: Option<Timestamp>,
    changed_at: Option<Timestamp>,
}

impl Default for AgentRecord {
    fn default() -> Self {
        AgentRecord {
            availability: Availability::Offline,
            capacity: None,
            last_assigned_at: None,
            changed_at: None,
        }
    }
}

impl State {
    fn is_staff(&self, id: UserId) -> bool {
        self.users
            .iter()
            .any(|u| u.id == id && u.role.is_staff() && u.deleted_at.is_none())
    }

    fn held(&self, agent: UserId, now: Timestamp) -> u32 {
        let n = self
            .threads
            .iter()
            .filter(|(t, _)| t.is_held_by(agent, now))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn state_of(&self, id: UserId, now: Timestamp) -> Option<AgentState> {
        let user = self
            .users
            .iter()
            .find(|u| u.id == id && u.role.is_staff() && u.deleted_at.is_none())?;
        let record = self.agents.get(&id).copied().unwrap_or_default();
        Some(AgentState {
            agent_id: id,
            username: user.username.as_str().to_owned(),
            availability: record.availability,
            capacity: record.capacity,
            held: self.held(id, now),
            availability_changed_at: record.changed_at,
        })
    }

    fn has_room(&self, agent: UserId, now: Timestamp, default_capacity: u32) -> bool {
        let record = self.agents.get(&agent).copied().unwrap_or_default();
        record.availability == Availability::Online
            && self.held(agent, now) < record.capacity.unwrap_or(default_capacity)
    }

    /// The queue's head at `now`: the order of `ThreadStore::queue`.
    fn queue_head(&self, now: Timestamp) -> Option<ThreadId> {
        self.threads
            .iter()
            .filter(|(t, _)| {
                t.status != ThreadStatus::Resolved
                    && t.waiting_since.is_some()
                    && t.live_claim(now).is_none()
            })
            .min_by_key(|(t, rank)| (std::cmp::Reverse(*rank), t.waiting_since, t.id))
            .map(|(t, _)| t.id)
    }
}

impl RoutingStore for MemoryStore {
    fn set_availability(
        &self,
        agent: UserId,
        availability: Availability,
        now: Timestamp,
    ) -> DomainResult<Option<(AgentState, bool)>> {
        let mut s = self.lock();
        if !s.is_staff(agent) {
            return Ok(None);
        }
        let record = s.agents.entry(agent).or_default();
        let changed = record.availability != availability;
        if changed {
            record.availability = availability;
            record.changed_at = Some(now);
        }
        Ok(s.state_of(agent, now).map(|state| (state, changed)))
    }

    fn set_capacity(
        &self,
        agent: UserId,
        capacity: Option<u32>,
        now: Timestamp,
    ) -> DomainResult<Option<AgentState>> {
        let mut s = self.lock();
        if !s.is_staff(agent) {
            return Ok(None);
        }
        s.agents.entry(agent).or_default().capacity = capacity;
        Ok(s.state_of(agent, now))
    }

    fn agent_states(&self, now: Timestamp) -> DomainResult<Vec<AgentState>> {
        let s = self.lock();
        let mut ids: Vec<UserId> = s
            .users
            .iter()
            .filter(|u| u.role.is_staff() && u.deleted_at.is_none())
            .map(|u| u.id)
            .collect();
        ids.sort();
        Ok(ids
            .into_iter()
            .filter_map(|id| s.state_of(id, now))
            .collect())
    }

    fn routing_mode(&self) -> DomainResult<Option<RoutingMode>> {
        Ok(self.lock().routing_mode)
    }

    fn set_routing_mode(&self, mode: RoutingMode) -> DomainResult<()> {
        self.lock().routing_mode = Some(mode);
        Ok(())
    }

    fn assign_next(
        &self,
        now: Timestamp,
        until: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Option<Assignment>> {
        let mut s = self.lock();
        let Some(thread_id) = s.queue_head(now) else {
            return Ok(None);
        };
        let agent = s
            .users
            .iter()
            .filter(|u| u.role.is_staff() && u.deleted_at.is_none())
            .filter(|u| s.has_room(u.id, now, default_capacity))
            .min_by_key(|u| {
                let last = s.agents.get(&u.id).and_then(|r| r.last_assigned_at);
                (s.held(u.id, now), last.is_some(), last, u.id)
            })
            .map(|u| (u.id, u.username.as_str().to_owned()));
        let Some((agent_id, agent_username)) = agent else {
            return Ok(None);
        };
        let (t, _) = s.thread_mut(thread_id)?;
        let patch = t.on_claim(agent_id, until, now, ClaimMode::Take)?;
        t.apply(patch);
        s.agents.entry(agent_id).or_default().last_assigned_at = Some(now);
        s.webhooks
            .record(chat_domain::webhook::OutboxEvent::thread_assigned(
                thread_id, agent_id, until, "auto", now,
            ));
        Ok(Some(Assignment {
            thread_id,
            agent_id,
            agent_username,
            until,
        }))
    }

    fn transfer_claim(
        &self,
        thread: ThreadId,
        from: Option<UserId>,
        to: Option<UserId>,
        check: TransferCheck,
        until: Timestamp,
        now: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Transferred> {
        let mut s = self.lock();
        if let Some(to) = to {
            if !s.is_staff(to) {
                return Err(DomainError::NotFound("agent"));
            }
        }
        let current = s.thread_mut(thread)?.0.clone();
        if current.status == ThreadStatus::Resolved {
            return Err(DomainError::Conflict(Conflict::ThreadResolved));
        }
        let previous = current.live_claim(now).copied();
        if let Some(from) = from {
            match previous {
                Some(c) if c.agent_id == from => {}
                Some(c) => {
                    return Err(DomainError::Claimed {
                        thread,
                        holder: c.agent_id,
                        until: c.until,
                    })
                }
                None => return Err(DomainError::Conflict(Conflict::NotClaimHolder)),
            }
        }
        if let Some(to) = to {
            let own = previous.is_some_and(|c| c.agent_id == to);
            if check == TransferCheck::OnlineWithRoom
                && !own
                && !s.has_room(to, now, default_capacity)
            {
                return Err(DomainError::Conflict(Conflict::AgentUnavailable));
            }
        }
        let (t, _) = s.thread_mut(thread)?;
        match to {
            Some(to) => {
                t.claim = Some(Claim {
                    agent_id: to,
                    until,
                });
                t.agent_id = Some(to);
            }
            None => t.claim = None,
        }
        s.webhooks
            .record(chat_domain::webhook::OutboxEvent::thread_transferred(
                thread,
                previous.map(|c| c.agent_id),
                to,
                now,
            ));
        Ok(Transferred {
            thread_id: thread,
            from: previous.map(|c| c.agent_id),
            to,
            until: to.map(|_| until),
        })
    }

    fn renew_claims_of(
        &self,
        agents: &[UserId],
        until: Timestamp,
        now: Timestamp,
        due: Timestamp,
    ) -> DomainResult<Vec<(ThreadId, UserId)>> {
        let mut s = self.lock();
        let mut renewed = Vec::new();
        for (t, _) in &mut s.threads {
            let Some(c) = t.live_claim(now).copied() else {
                continue;
            };
            if agents.contains(&c.agent_id) && c.until <= due {
                t.claim = Some(Claim {
                    agent_id: c.agent_id,
                    until,
                });
                renewed.push((t.id, c.agent_id));
            }
        }
        Ok(renewed)
    }

    fn release_claims_of_offline(
        &self,
        offline_since: Timestamp,
    ) -> DomainResult<Vec<ExpiredClaim>> {
        let mut s = self.lock();
        let gone: Vec<UserId> = s
            .agents
            .iter()
            .filter(|(_, r)| {
                r.availability == Availability::Offline
                    && r.changed_at.is_some_and(|at| at <= offline_since)
            })
            .map(|(id, _)| *id)
            .collect();
        let mut released = Vec::new();
        for (t, _) in &mut s.threads {
            if let Some(c) = t.claim.filter(|c| gone.contains(&c.agent_id)) {
                t.claim = None;
                released.push(ExpiredClaim {
                    thread_id: t.id,
                    agent_id: c.agent_id,
                });
            }
        }
        Ok(released)
    }
}
