//! Claims: one agent per conversation, as a lease.

use super::{require_admin, require_staff, Chat};
use crate::claim::{Claim, ClaimAttempt};
use crate::event::Event;
use crate::thread::{Thread, ThreadStatus};
use crate::user::{Role, User};
use crate::{Conflict, DomainError, DomainResult, ThreadId};

impl Chat {
    /// An agent claims a thread (or renews its own claim). Fails with
    /// [`DomainError::Claimed`] naming the holder if another agent holds it.
    pub fn claim(&self, actor: &User, thread_id: ThreadId) -> DomainResult<Claim> {
        require_staff(actor)?;
        let now = self.now();
        let until = self.config.claims.lease_end(now);
        match self.store.try_claim(thread_id, actor.id, until, now)? {
            ClaimAttempt::Won(claim) => {
                self.publish(Event::Claimed {
                    thread_id,
                    agent_id: actor.id,
                    until: claim.until,
                });
                Ok(claim)
            }
            ClaimAttempt::Held(claim) => Err(DomainError::Claimed {
                thread: thread_id,
                holder: claim.agent_id,
                until: claim.until,
            }),
        }
    }

    /// The holder extends its lease (a heartbeat or an explicit renew).
    pub fn renew_claim(&self, actor: &User, thread_id: ThreadId) -> DomainResult<Claim> {
        require_staff(actor)?;
        let now = self.now();
        let until = self.config.claims.lease_end(now);
        if self.store.renew_claim(thread_id, actor.id, until, now)? {
            self.publish(Event::Claimed {
                thread_id,
                agent_id: actor.id,
                until,
            });
            return Ok(Claim {
                agent_id: actor.id,
                until,
            });
        }
        Err(self.not_holder(thread_id)?)
    }

    /// The holder lets the thread go.
    pub fn release_claim(&self, actor: &User, thread_id: ThreadId) -> DomainResult<()> {
        require_staff(actor)?;
        if self.store.release_claim(thread_id, actor.id)? {
            self.publish(Event::Released {
                thread_id,
                agent_id: actor.id,
            });
            return Ok(());
        }
        Err(self.not_holder(thread_id)?)
    }

    /// An admin takes a thread over, whoever holds it; the former holder is told live.
    pub fn take_over(&self, actor: &User, thread_id: ThreadId) -> DomainResult<Claim> {
        require_admin(actor)?;
        let now = self.now();
        let until = self.config.claims.lease_end(now);
        let previous = self.store.force_claim(thread_id, actor.id, until, now)?;
        self.publish(Event::TakenOver {
            thread_id,
            from: previous.map(|c| c.agent_id).filter(|a| *a != actor.id),
            to: actor.id,
            until,
        });
        Ok(Claim {
            agent_id: actor.id,
            until,
        })
    }

    /// Changes a thread's status. Resolving: its client, the holder or an admin; the claim ends.
    /// Open or pending: the holder or an admin.
    pub fn set_status(
        &self,
        actor: &User,
        thread_id: ThreadId,
        status: ThreadStatus,
    ) -> DomainResult<Thread> {
        let thread = self.viewable_thread(actor, thread_id)?;
        let now = self.now();
        let allowed = match actor.role {
            Role::Admin => true,
            Role::Agent => thread.is_held_by(actor.id, now),
            Role::Client => status == ThreadStatus::Resolved,
        };
        if !allowed {
            return Err(match thread.live_claim(now) {
                Some(c) if actor.role == Role::Agent => DomainError::Claimed {
                    thread: thread_id,
                    holder: c.agent_id,
                    until: c.until,
                },
                _ => DomainError::forbidden("you may not change this thread's status"),
            });
        }
        let updated = self.store.set_status(thread_id, status, now)?;
        if let (Some(claim), None) = (thread.live_claim(now), updated.live_claim(now)) {
            self.publish(Event::Released {
                thread_id,
                agent_id: claim.agent_id,
            });
        }
        self.publish(Event::StatusChanged { thread_id, status });
        self.sla_after_status(&updated, now);
        Ok(updated)
    }

    /// Frees every thread whose lease ran out and tells everyone. Run it on a timer; safe to run
    /// on many instances at once. Returns how many claims expired.
    pub fn expire_claims(&self) -> DomainResult<usize> {
        let expired = self.store.expire_claims(self.now())?;
        for e in &expired {
            self.publish(Event::Expired {
                thread_id: e.thread_id,
                agent_id: e.agent_id,
            });
        }
        Ok(expired.len())
    }

    fn not_holder(&self, thread_id: ThreadId) -> DomainResult<DomainError> {
        let thread = self.thread(thread_id)?;
        Ok(match thread.live_claim(self.now()) {
            Some(c) => DomainError::Claimed {
                thread: thread_id,
                holder: c.agent_id,
                until: c.until,
            },
            None => DomainError::Conflict(Conflict::NotClaimHolder),
        })
    }
}
