//! The agents' queue: unclaimed conversations with a client waiting, most urgent first.

use serde::Serialize;

use super::{require_staff, Chat};
use crate::message::{Audience, Message};
use crate::thread::Thread;
use crate::urgency::UrgencyNow;
use crate::user::{Role, User};
use crate::{DomainResult, ThreadId, Timestamp, UserId};

/// One conversation in the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueEntry {
    /// The thread.
    pub thread: Thread,
    /// Its urgency now, with the reasons.
    pub urgency: UrgencyNow,
    /// Its client's username.
    pub client_username: String,
    /// The client's first message since it started waiting.
    pub first_waiting: Option<Message>,
    /// The client's newest message since it started waiting (what the reasons mostly come from,
    /// and what the client is waiting on now).
    pub latest_waiting: Option<Message>,
}

/// How many of a thread's latest messages a re-score reads (older ones were answered long ago or
/// are already in the stored urgency).
const RESCORE_WINDOW: i64 = 50;

impl Chat {
    /// A page of the queue, most urgent first (oldest first within a tie). A constant number
    /// of store calls whatever the page size: the threads, their clients' usernames, and their
    /// first and newest waiting messages.
    pub fn queue(&self, actor: &User, limit: u32, offset: u32) -> DomainResult<Vec<QueueEntry>> {
        require_staff(actor)?;
        let now = self.now();
        let threads = self.store.queue(now, limit.clamp(1, 200), offset)?;
        let client_ids: Vec<UserId> = threads.iter().map(|t| t.client_id).collect();
        let usernames = self.store.usernames(&client_ids)?;
        let waiting: Vec<(ThreadId, Timestamp)> = threads
            .iter()
            .filter_map(|t| t.waiting_since.map(|since| (t.id, since)))
            .collect();
        let mut first_waiting = self.store.first_waiting_messages(&waiting)?;
        let mut latest_waiting = self.store.latest_waiting_messages(&waiting)?;
        Ok(threads
            .into_iter()
            .map(|thread| QueueEntry {
                urgency: self
                    .config
                    .urgency
                    .at(&thread.urgency, thread.waiting_since, now),
                client_username: usernames
                    .get(&thread.client_id)
                    .cloned()
                    .unwrap_or_default(),
                first_waiting: first_waiting.remove(&thread.id),
                latest_waiting: latest_waiting.remove(&thread.id),
                thread,
            })
            .collect())
    }

    /// How many conversations the queue holds now, every page together.
    pub fn queue_len(&self, actor: &User) -> DomainResult<u64> {
        require_staff(actor)?;
        self.store.queue_len(self.now())
    }

    /// Re-scores every waiting thread with the current rules (run at start-up, since the rules
    /// come from config). Returns how many threads were re-scored.
    pub fn rescore_waiting_threads(&self) -> DomainResult<usize> {
        let rules = &self.config.urgency;
        let threads = self.store.waiting_threads()?;
        for thread in &threads {
            let Some(since) = thread.waiting_since else {
                continue;
            };
            // The client's messages since the desk's last reply: those the client waits on
            // (a reopened thread's include the ones left unanswered when it was resolved).
            let mut bodies = Vec::new();
            let mut after = (thread.last_seq - RESCORE_WINDOW).max(0);
            loop {
                let page = self
                    .store
                    .messages_after(thread.id, after, 500, Audience::Client)?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for m in page {
                    if m.sender_role == Role::Client {
                        bodies.push(m.body);
                    } else {
                        bodies.clear();
                    }
                }
            }
            let urgency = rules.assess_all(thread.thread_type, bodies.iter().map(String::as_str));
            let urgency = if bodies.is_empty() {
                thread.urgency.clone()
            } else {
                urgency
            };
            self.store
                .set_urgency(thread.id, &urgency, rules.rank_key(&urgency, Some(since)))?;
        }
        Ok(threads.len())
    }
}
