//! Staff's lists of conversations: "Mine" (`assignee = me`), "All", by status, a page at a time.

use std::collections::HashMap;

use serde::Serialize;

use super::{require_staff, Chat};
use crate::inbox::{ActivityCursor, Assignee, ThreadFilter};
use crate::label::Label;
use crate::sla::{SlaClock, SlaSummary};
use crate::thread::{Thread, ThreadStatus};
use crate::urgency::UrgencyNow;
use crate::user::User;
use crate::{DomainResult, ThreadId, UserId};

/// Most threads one page lists.
pub const MAX_INBOX_PAGE: u32 = 100;

/// One conversation in a staff list.
#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    /// The thread.
    pub thread: Thread,
    /// Its urgency now, waiting time included.
    pub urgency: UrgencyNow,
    /// Its client's username.
    pub client_username: String,
    /// The username of the agent holding its live claim, if any.
    pub holder_username: Option<String>,
    /// How many of the client's messages nobody has read.
    pub unread: u64,
    /// The labels it carries, by name.
    pub labels: Vec<Label>,
    /// Its SLA clocks summed up (first response, resolution, next breach...).
    pub sla: SlaSummary,
}

/// A page of a staff list.
#[derive(Debug, Clone)]
pub struct InboxPage {
    /// The threads, newest activity first.
    pub entries: Vec<InboxEntry>,
    /// Where the next page starts, if there may be one.
    pub next: Option<ActivityCursor>,
    /// How many threads the filter selects, every page together.
    pub total: u64,
}

impl Chat {
    /// A page of the threads `filter` selects, newest activity first, after `after`: staff
    /// only (Forbidden for clients). `limit` is 1 to [`MAX_INBOX_PAGE`]. A constant number of
    /// store calls whatever the page size: the threads, their count, the usernames, the unread
    /// counts, the labels, the SLA clocks.
    pub fn inbox(
        &self,
        actor: &User,
        filter: &ThreadFilter,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> DomainResult<InboxPage> {
        require_staff(actor)?;
        let now = self.now();
        let limit = limit.clamp(1, MAX_INBOX_PAGE);
        let mut threads = self.store.threads_page(filter, now, after, limit + 1)?;
        let more = threads.len() > limit as usize;
        threads.truncate(limit as usize);
        let mut people: Vec<UserId> = threads.iter().map(|t| t.client_id).collect();
        people.extend(
            threads
                .iter()
                .filter_map(|t| t.live_claim(now).map(|c| c.agent_id)),
        );
        let usernames = self.store.usernames(&people)?;
        let ids: Vec<_> = threads.iter().map(|t| t.id).collect();
        let unread = self.store.unread_client_messages(&ids)?;
        let mut labels = self.store.thread_labels(&ids)?;
        let mut clocks: HashMap<ThreadId, Vec<SlaClock>> = HashMap::new();
        for c in self.store.sla_clocks(&ids)? {
            clocks.entry(c.thread_id).or_default().push(c);
        }
        let total = self.store.count_threads(filter, now)?;
        let next = more
            .then(|| threads.last().map(ActivityCursor::after))
            .flatten();
        let entries = threads
            .into_iter()
            .map(|thread| InboxEntry {
                urgency: self
                    .config
                    .urgency
                    .at(&thread.urgency, thread.waiting_since, now),
                client_username: usernames
                    .get(&thread.client_id)
                    .cloned()
                    .unwrap_or_default(),
                holder_username: thread
                    .live_claim(now)
                    .and_then(|c| usernames.get(&c.agent_id).cloned()),
                unread: unread.get(&thread.id).copied().unwrap_or(0),
                labels: labels.remove(&thread.id).unwrap_or_default(),
                sla: SlaSummary::of(clocks.get(&thread.id).map_or(&[], Vec::as_slice)),
                thread,
            })
            .collect();
        Ok(InboxPage {
            entries,
            next,
            total,
        })
    }
}

/// How many threads each of the console's standard views holds now (the badges on its tabs),
/// whatever a page's own filters are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ViewCounts {
    /// Open threads under the asking agent's live claim.
    pub mine: u64,
    /// Open threads nobody holds (no claim, or a lapsed one).
    pub unassigned: u64,
    /// Threads whose client waits for an answer.
    pub waiting: u64,
    /// Threads by status.
    pub open: u64,
    /// Answered, waiting on the client.
    pub pending: u64,
    /// Done.
    pub resolved: u64,
}

impl Chat {
    /// The console's view counts for `actor` (staff only): six counts with the filters a list
    /// uses (`ThreadStore::count_threads`), so each is index-backed as that list is.
    pub fn inbox_counts(&self, actor: &User) -> DomainResult<ViewCounts> {
        require_staff(actor)?;
        let now = self.now();
        let count = |filter: ThreadFilter| self.store.count_threads(&filter, now);
        let status = |s: ThreadStatus| ThreadFilter {
            status: Some(s),
            ..ThreadFilter::default()
        };
        Ok(ViewCounts {
            mine: count(ThreadFilter {
                assignee: Assignee::Agent(actor.id),
                ..status(ThreadStatus::Open)
            })?,
            unassigned: count(ThreadFilter {
                assignee: Assignee::Nobody,
                ..status(ThreadStatus::Open)
            })?,
            waiting: count(ThreadFilter {
                waiting: Some(true),
                ..ThreadFilter::default()
            })?,
            open: count(status(ThreadStatus::Open))?,
            pending: count(status(ThreadStatus::Pending))?,
            resolved: count(status(ThreadStatus::Resolved))?,
        })
    }
}
