//! Auto-resolve: a conversation waiting on its client (pending) with no activity for
//! `auto_resolve_after_ms` is resolved with a message telling the client so.

use super::Chat;
use crate::event::Event;
use crate::message::{MessageBody, MessageKind, NewMessage};
use crate::thread::{Thread, ThreadStatus};
use crate::{DomainError, DomainResult};

/// Most threads one sweep resolves (the next sweep takes the rest).
pub const AUTO_RESOLVE_BATCH: u32 = 100;

impl Chat {
    /// Resolves every pending thread idle since `now - auto_resolve_after_ms` or longer (none
    /// when the setting is off), oldest activity first, at most [`AUTO_RESOLVE_BATCH`] per call,
    /// each with a message to the client in the name of the agent who held it last (a pending
    /// thread has one: an agent's reply made it pending; a thread without is resolved without
    /// the message). Exactly once across instances: the message's append is conditional, under
    /// the thread's row lock, on the thread being pending with no entry since it was listed, so
    /// a concurrent sweep, a client's reply or an agent's note makes it a no-op. Publishes
    /// `message.created` and `thread.status` like any reply. Returns how many it resolved.
    pub fn auto_resolve_idle(&self) -> DomainResult<usize> {
        let Some(after_ms) = self.config.auto_resolve_after_ms.filter(|ms| *ms > 0) else {
            return Ok(0);
        };
        let now = self.now();
        let idle_since = now.plus_millis(-after_ms);
        let minutes = (after_ms / 60_000).max(1);
        let text = format!(
            "This conversation was resolved automatically after {minutes} minutes without a \
             reply. Write again here to reopen it."
        );
        let mut resolved = 0;
        for listed in self
            .store
            .idle_pending_threads(idle_since, AUTO_RESOLVE_BATCH)?
        {
            if self.resolve_idle(&listed, &text, idle_since, now)? {
                resolved += 1;
            }
        }
        Ok(resolved)
    }

    fn resolve_idle(
        &self,
        listed: &Thread,
        text: &str,
        idle_since: crate::Timestamp,
        now: crate::Timestamp,
    ) -> DomainResult<bool> {
        let sender = match listed.agent_id {
            Some(agent) => self.store.user_by_id(agent)?,
            None => None,
        };
        let Some(sender) = sender else {
            // No agent to speak for the desk: resolve quietly, if still idle.
            if listed.status != ThreadStatus::Pending || listed.last_activity_at > idle_since {
                return Ok(false);
            }
            let thread = self
                .store
                .set_status(listed.id, ThreadStatus::Resolved, now)?;
            self.publish(Event::StatusChanged {
                thread_id: thread.id,
                status: thread.status,
            });
            return Ok(true);
        };
        let still_idle = |thread: &Thread| {
            // `thread` is as locked for this append: its last_seq already counts the new entry.
            if thread.status == ThreadStatus::Pending && thread.last_seq == listed.last_seq + 1 {
                Ok(thread.on_status(ThreadStatus::Resolved))
            } else {
                Err(DomainError::NotFound("idle thread"))
            }
        };
        let appended = match self.store.append_message(
            NewMessage {
                thread_id: listed.id,
                sender_id: sender.id,
                sender_role: sender.role,
                kind: MessageKind::Message,
                body: MessageBody::parse(text)?,
                created_at: now,
                client_message_id: None,
                attachments: Vec::new(),
                system: true,
                verified_hash: None,
            },
            &still_idle,
        ) {
            Ok(appended) => appended,
            Err(DomainError::NotFound("idle thread")) => return Ok(false),
            Err(err) => return Err(err),
        };
        self.publish(Event::MessageCreated {
            thread_id: listed.id,
            seq: appended.message.seq,
            message: appended.message.clone(),
        });
        self.publish(Event::StatusChanged {
            thread_id: listed.id,
            status: appended.thread.status,
        });
        Ok(true)
    }
}
