//! Routing: availability, capacity, the routing mode, automatic assignment and transfer.

use std::collections::HashSet;

use super::{require_admin, require_staff, Chat};
use crate::event::Event;
use crate::routing::{
    check_capacity, AgentState, Assignment, Availability, RoutingMode, TransferCheck, TransferNote,
    Transferred,
};
use crate::user::{Role, User};
use crate::{DomainError, DomainResult, ThreadId, UserId};

/// Most assignments one [`Chat::route`] call makes before it lets other work run.
pub const MAX_ASSIGNMENTS_PER_ROUTE: usize = 1000;

impl Chat {
    /// A staff member sets their own availability; everyone's console is told if it changed.
    pub fn set_availability(
        &self,
        actor: &User,
        availability: Availability,
    ) -> DomainResult<AgentState> {
        require_staff(actor)?;
        self.change_availability(actor.id, availability)?
            .ok_or(DomainError::NotFound("agent"))
    }

    fn change_availability(
        &self,
        agent: UserId,
        availability: Availability,
    ) -> DomainResult<Option<AgentState>> {
        let Some((state, changed)) =
            self.store
                .set_availability(agent, availability, self.now())?
        else {
            return Ok(None);
        };
        if changed {
            self.publish(Event::Availability {
                agent_id: state.agent_id,
                username: state.username.clone(),
                availability: state.availability,
            });
        }
        Ok(Some(state))
    }

    /// An admin sets an agent's capacity (0 to [`crate::routing::MAX_CAPACITY`]); `None` goes
    /// back to the default.
    pub fn set_capacity(
        &self,
        actor: &User,
        agent: UserId,
        capacity: Option<i64>,
    ) -> DomainResult<AgentState> {
        require_admin(actor)?;
        let capacity = capacity.map(check_capacity).transpose()?;
        self.store
            .set_capacity(agent, capacity, self.now())?
            .ok_or(DomainError::NotFound("agent"))
    }

    /// Every agent and admin with their availability, capacity and load: for staff.
    pub fn agents(&self, actor: &User) -> DomainResult<Vec<AgentState>> {
        require_staff(actor)?;
        self.store.agent_states(self.now())
    }

    /// The capacity an agent without their own has.
    pub fn default_capacity(&self) -> u32 {
        self.config.routing.default_capacity
    }

    /// The routing mode in force: the stored one, or the configured default.
    pub fn routing_mode(&self) -> DomainResult<RoutingMode> {
        Ok(self
            .store
            .routing_mode()?
            .unwrap_or(self.config.routing.default_mode))
    }

    /// The routing mode, for staff.
    pub fn routing_mode_for(&self, actor: &User) -> DomainResult<RoutingMode> {
        require_staff(actor)?;
        self.routing_mode()
    }

    /// An admin switches the routing mode; every instance's router follows.
    pub fn set_routing_mode(&self, actor: &User, mode: RoutingMode) -> DomainResult<RoutingMode> {
        require_admin(actor)?;
        self.store.set_routing_mode(mode)?;
        self.publish(Event::RoutingChanged { mode });
        Ok(mode)
    }

    /// Gives the most urgent waiting conversation to the online agent with the fewest held,
    /// if any has room (see [`crate::ports::RoutingStore::assign_next`]), and tells the agent,
    /// the thread and the queue.
    pub fn assign_next(&self) -> DomainResult<Option<Assignment>> {
        let now = self.now();
        let until = self.config.claims.lease_end(now);
        let assigned = self
            .store
            .assign_next(now, until, self.config.routing.default_capacity)?;
        if let Some(a) = &assigned {
            self.publish(Event::Claimed {
                thread_id: a.thread_id,
                agent_id: a.agent_id,
                until: a.until,
            });
            self.publish(Event::Assigned {
                thread_id: a.thread_id,
                agent_id: a.agent_id,
                agent_username: a.agent_username.clone(),
                until: a.until,
            });
        }
        Ok(assigned)
    }

    /// In auto mode, assigns until no conversation waits or nobody online has room (at most
    /// [`MAX_ASSIGNMENTS_PER_ROUTE`]); returns how many it assigned. In manual mode, nothing.
    pub fn route(&self) -> DomainResult<usize> {
        if self.routing_mode()? != RoutingMode::Auto {
            return Ok(0);
        }
        self.assign_all()
    }

    /// Assigns until no conversation waits or nobody online has room (at most
    /// [`MAX_ASSIGNMENTS_PER_ROUTE`]), whatever the mode (for a router that knows it is auto).
    pub fn assign_all(&self) -> DomainResult<usize> {
        let mut assigned = 0;
        while assigned < MAX_ASSIGNMENTS_PER_ROUTE && self.assign_next()?.is_some() {
            assigned += 1;
        }
        Ok(assigned)
    }

    /// The holder (or an admin) hands a conversation to another agent, or back to the queue
    /// (`to: None`). The receiver must be online with room, unless an admin forces it. The
    /// note goes to staff only: in the `transferred` event, and stored in the thread as a private
    /// note (after the transfer).
    pub fn transfer(
        &self,
        actor: &User,
        thread_id: ThreadId,
        to: Option<UserId>,
        note: Option<&str>,
        force: bool,
    ) -> DomainResult<Transferred> {
        require_staff(actor)?;
        let note = note.map(TransferNote::parse).transpose()?;
        if force && actor.role != Role::Admin {
            return Err(DomainError::forbidden("only admins may force a transfer"));
        }
        let from = (actor.role != Role::Admin).then_some(actor.id);
        let check = if force {
            TransferCheck::Force
        } else {
            TransferCheck::OnlineWithRoom
        };
        let now = self.now();
        let until = self.config.claims.lease_end(now);
        let done = self.store.transfer_claim(
            thread_id,
            from,
            to,
            check,
            until,
            now,
            self.config.routing.default_capacity,
        )?;
        let mut ids: Vec<UserId> = done.from.iter().chain(done.to.iter()).copied().collect();
        ids.dedup();
        let names = self.store.usernames(&ids)?;
        if let Some(previous) = done.from.filter(|p| Some(*p) != done.to) {
            self.publish(Event::Released {
                thread_id,
                agent_id: previous,
            });
        }
        if let (Some(agent_id), Some(until)) = (done.to, done.until) {
            self.publish(Event::Claimed {
                thread_id,
                agent_id,
                until,
            });
        }
        self.publish(Event::Transferred {
            thread_id,
            from: done.from,
            from_username: done.from.and_then(|id| names.get(&id).cloned()),
            to: done.to,
            to_username: done.to.and_then(|id| names.get(&id).cloned()),
            until: done.until,
            by: actor.id,
            note: note.as_ref().map(|n| n.as_str().to_owned()),
        });
        // The note stays with the conversation, for staff only, like any private note.
        if let Some(note) = &note {
            self.add_note(actor, thread_id, note.as_str())?;
        }
        Ok(done)
    }

    /// Renews the held conversations of agents with a live socket here whose lease is past its
    /// first half, so that conversations are not lost while their agent is connected; returns
    /// how many it renewed.
    pub fn renew_held_claims(&self, agents: &[UserId]) -> DomainResult<usize> {
        let now = self.now();
        let lease = self.config.claims.lease_ms;
        let until = now.plus_millis(lease);
        let due = now.plus_millis(lease / 2);
        let renewed = self.store.renew_claims_of(agents, until, now, due)?;
        for &(thread_id, agent_id) in &renewed {
            self.publish(Event::Claimed {
                thread_id,
                agent_id,
                until,
            });
        }
        Ok(renewed.len())
    }

    /// Presence's sweep: staff not offline who are not `present` and whose availability did
    /// not change for `routing.offline_after` become offline; the claims of staff offline for
    /// `routing.reassign_after` end (back to the router; auto mode only). Returns (marked offline, released).
    pub fn sweep_absent(&self, present: &HashSet<UserId>) -> DomainResult<(usize, usize)> {
        let states = self.store.agent_states(self.now())?;
        let mode = self.routing_mode()?;
        self.sweep_absent_among(&states, present, mode)
    }

    /// [`Chat::sweep_absent`] over staff `states` and the routing `mode` the caller has just
    /// read (the router's pass reads both first, and they are not read again).
    pub fn sweep_absent_among(
        &self,
        states: &[AgentState],
        present: &HashSet<UserId>,
        mode: RoutingMode,
    ) -> DomainResult<(usize, usize)> {
        let now = self.now();
        let policy = self.config.routing;
        let offline_cutoff = now.plus_millis(-policy.offline_after_ms);
        let mut marked = 0;
        for state in states {
            let settled = state
                .availability_changed_at
                .is_none_or(|at| at <= offline_cutoff);
            if state.availability != Availability::Offline
                && settled
                && !present.contains(&state.agent_id)
                && self
                    .change_availability(state.agent_id, Availability::Offline)?
                    .is_some()
            {
                marked += 1;
            }
        }
        if mode != RoutingMode::Auto {
            return Ok((marked, 0));
        }
        let released = self
            .store
            .release_claims_of_offline(now.plus_millis(-policy.reassign_after_ms))?;
        for r in &released {
            self.publish(Event::Released {
                thread_id: r.thread_id,
                agent_id: r.agent_id,
            });
        }
        Ok((marked, released.len()))
    }

    /// Ids of staff not offline (whose presence matters).
    pub fn available_staff(&self) -> DomainResult<Vec<UserId>> {
        Ok(self
            .store
            .agent_states(self.now())?
            .into_iter()
            .filter(|s| s.availability != Availability::Offline)
            .map(|s| s.agent_id)
            .collect())
    }
}
