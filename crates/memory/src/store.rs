use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chat_domain::attachment::{Attachment, AttachmentId};
use chat_domain::auth::{NewSession, SessionUser};
use chat_domain::canned::{CannedReply, NewCannedReply};
use chat_domain::claim::{Claim, ClaimAttempt, ClaimMode, ExpiredClaim};
use chat_domain::inbox::{ActivityCursor, ThreadFilter};
use chat_domain::label::{Label, NewLabel};
use chat_domain::message::{Appended, Audience, Message, MessageKind, NewMessage};
use chat_domain::ports::{
    AttachmentStore, CannedReplyStore, LabelStore, MessageStore, RatingStore, SessionStore, Store,
    ThreadStore, UserStore,
};
use chat_domain::rating::{NewRating, Rating};
use chat_domain::search::{SearchHit, SearchQuery, SearchScope};
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::user::{NewUser, Role, User, Username};
use chat_domain::webhook::OutboxEvent;
use chat_domain::{
    CannedReplyId, Conflict, DomainError, DomainResult, LabelId, MessageId, RatingId, ThreadId,
    Timestamp, UserId,
};

/// Everything in memory, behind one lock: the reference implementation of the store ports.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) users: Vec<User>,
    sessions: HashMap<String, NewSession>,
    pub(crate) threads: Vec<(Thread, i64)>,
    messages: Vec<Message>,
    canned: Vec<CannedReply>,
    /// SLA clocks, by id (ids are positions + 1).
    pub(crate) sla_clocks: Vec<chat_domain::sla::SlaClock>,
    /// Canned reply ids are never reused, even after a delete (as a SQL sequence).
    canned_ids: i64,
    /// Staff's routing state (availability, capacity, last assignment), by user.
    pub(crate) agents: HashMap<UserId, crate::routing_store::AgentRecord>,
    /// The stored routing mode.
    pub(crate) routing_mode: Option<chat_domain::routing::RoutingMode>,
    labels: Vec<Label>,
    /// Which thread carries which label.
    pub(crate) thread_labels: Vec<(ThreadId, LabelId)>,
    pub(crate) ratings: Vec<Rating>,
    /// Webhook endpoints and the outbox.
    pub(crate) webhooks: crate::webhooks::WebhookState,
    attachments: Vec<Attachment>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn reopen_conflict() -> DomainError {
    DomainError::Conflict(Conflict::OpenThreadExists)
}

fn next_id(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX - 1) + 1
}

impl State {
    /// Whether giving `thread` an unresolved status would make a second unresolved thread of
    /// its client and type (each client has at most one per type).
    fn reopening_clashes(&self, thread: &Thread, status: ThreadStatus) -> bool {
        status != ThreadStatus::Resolved
            && thread.status == ThreadStatus::Resolved
            && self.threads.iter().any(|(t, _)| {
                t.id != thread.id
                    && t.client_id == thread.client_id
                    && t.thread_type == thread.thread_type
                    && t.status != ThreadStatus::Resolved
            })
    }

    /// Whether a thread passes `filter` at `now`, its label and text included.
    fn in_list(&self, thread: &Thread, filter: &ThreadFilter, now: Timestamp) -> bool {
        filter.matches(thread, now)
            && filter
                .label
                .is_none_or(|l| self.thread_labels.contains(&(thread.id, l)))
            && filter.text.as_ref().is_none_or(|text| {
                self.messages
                    .iter()
                    .any(|m| m.thread_id == thread.id && text.found_in(&m.body))
            })
    }

    pub(crate) fn thread_mut(&mut self, id: ThreadId) -> DomainResult<&mut (Thread, i64)> {
        self.threads
            .iter_mut()
            .find(|(t, _)| t.id == id)
            .ok_or(DomainError::NotFound("thread"))
    }
}

impl UserStore for MemoryStore {
    fn insert_user(&self, user: NewUser) -> DomainResult<User> {
        let mut s = self.lock();
        let folded = user.username.folded();
        if s.users.iter().any(|u| u.username.folded() == folded) {
            return Err(DomainError::Conflict(Conflict::UsernameTaken));
        }
        let stored = User {
            id: UserId(next_id(s.users.len())),
            username: user.username,
            password_hash: user.password_hash,
            role: user.role,
            created_at: user.created_at,
            deleted_at: None,
        };
        s.users.push(stored.clone());
        Ok(stored)
    }

    fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        Ok(self.lock().users.iter().find(|u| u.id == id).cloned())
    }

    fn user_by_username(&self, username: &str) -> DomainResult<Option<User>> {
        let Ok(name) = Username::parse(username) else {
            return Ok(None);
        };
        Ok(self
            .lock()
            .users
            .iter()
            .find(|u| u.username == name)
            .cloned())
    }

    fn soft_delete_user(&self, id: UserId, at: Timestamp) -> DomainResult<bool> {
        let mut s = self.lock();
        match s
            .users
            .iter_mut()
            .find(|u| u.id == id && u.deleted_at.is_none())
        {
            Some(u) => {
                u.deleted_at = Some(at);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn count_active_with_role(&self, role: Role) -> DomainResult<u64> {
        Ok(self
            .lock()
            .users
            .iter()
            .filter(|u| u.role == role && u.deleted_at.is_none())
            .count() as u64)
    }

    fn usernames(&self, ids: &[UserId]) -> DomainResult<HashMap<UserId, String>> {
        Ok(self
            .lock()
            .users
            .iter()
            .filter(|u| ids.contains(&u.id))
            .map(|u| (u.id, u.username.as_str().to_owned()))
            .collect())
    }

    fn search_clients(&self, text: &str, limit: u32) -> DomainResult<Vec<User>> {
        let needle = text.to_ascii_lowercase();
        let s = self.lock();
        let mut found: Vec<(bool, &User)> = s
            .users
            .iter()
            .filter(|u| u.role == Role::Client && u.deleted_at.is_none())
            .filter_map(|u| {
                let name = u.username.as_str().to_ascii_lowercase();
                name.contains(&needle)
                    .then(|| (!name.starts_with(&needle), u))
            })
            .collect();
        found.sort_by_key(|(not_prefix, u)| (*not_prefix, u.id));
        Ok(found
            .into_iter()
            .take(limit as usize)
            .map(|(_, u)| u.clone())
            .collect())
    }
}

impl SessionStore for MemoryStore {
    fn insert_session(&self, session: NewSession) -> DomainResult<()> {
        self.lock()
            .sessions
            .insert(session.token_hash.clone(), session);
        Ok(())
    }

    fn session_user(&self, token_hash: &str, now: Timestamp) -> DomainResult<Option<SessionUser>> {
        let s = self.lock();
        let Some(session) = s.sessions.get(token_hash).filter(|x| x.expires_at > now) else {
            return Ok(None);
        };
        Ok(s.users
            .iter()
            .find(|u| u.id == session.user_id && u.deleted_at.is_none())
            .map(|user| SessionUser {
                user: user.clone(),
                expires_at: session.expires_at,
            }))
    }

    fn delete_session(&self, token_hash: &str) -> DomainResult<()> {
        self.lock().sessions.remove(token_hash);
        Ok(())
    }

    fn delete_user_sessions(&self, user: UserId) -> DomainResult<()> {
        self.lock().sessions.retain(|_, s| s.user_id != user);
        Ok(())
    }
}

impl ThreadStore for MemoryStore {
    fn open_thread(
        &self,
        client: UserId,
        thread_type: ThreadType,
        now: Timestamp,
    ) -> DomainResult<Thread> {
        let mut s = self.lock();
        if let Some((t, _)) = s.threads.iter().find(|(t, _)| {
            t.client_id == client
                && t.thread_type == thread_type
                && t.status != ThreadStatus::Resolved
        }) {
            return Ok(t.clone());
        }
        let thread = Thread {
            id: ThreadId(next_id(s.threads.len())),
            client_id: client,
            thread_type,
            status: ThreadStatus::Open,
            claim: None,
            agent_id: None,
            created_at: now,
            last_activity_at: now,
            last_seq: 0,
            waiting_since: None,
            urgency: Urgency::default(),
            resolutions: 0,
        };
        s.threads.push((thread.clone(), i64::MIN));
        s.webhooks.record(OutboxEvent::thread_opened(&thread));
        Ok(thread)
    }

    fn user_with_open_thread(
        &self,
        username: &str,
        thread_type: ThreadType,
    ) -> DomainResult<Option<(User, Option<Thread>)>> {
        let Ok(name) = Username::parse(username) else {
            return Ok(None);
        };
        let s = self.lock();
        let Some(user) = s.users.iter().find(|u| u.username == name).cloned() else {
            return Ok(None);
        };
        let thread = s
            .threads
            .iter()
            .map(|(t, _)| t)
            .find(|t| {
                t.client_id == user.id
                    && t.thread_type == thread_type
                    && t.status != ThreadStatus::Resolved
            })
            .cloned();
        Ok(Some((user, thread)))
    }

    fn thread_by_id(&self, id: ThreadId) -> DomainResult<Option<Thread>> {
        Ok(self
            .lock()
            .threads
            .iter()
            .find(|(t, _)| t.id == id)
            .map(|(t, _)| t.clone()))
    }

    fn threads_of_client(&self, client: UserId) -> DomainResult<Vec<Thread>> {
        let mut list: Vec<Thread> = self
            .lock()
            .threads
            .iter()
            .filter(|(t, _)| t.client_id == client)
            .map(|(t, _)| t.clone())
            .collect();
        list.sort_by_key(|t| {
            (
                std::cmp::Reverse(t.last_activity_at),
                std::cmp::Reverse(t.id),
            )
        });
        Ok(list)
    }

    fn try_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<ClaimAttempt> {
        let mut s = self.lock();
        let (t, _) = s.thread_mut(thread)?;
        let renewal = t.is_held_by(agent, now);
        match t.on_claim(agent, until, now, ClaimMode::Take) {
            Ok(patch) => t.apply(patch),
            Err(DomainError::Claimed { holder, until, .. }) => {
                return Ok(ClaimAttempt::Held(Claim {
                    agent_id: holder,
                    until,
                }))
            }
            Err(e) => return Err(e),
        }
        if !renewal {
            s.webhooks.record(OutboxEvent::thread_assigned(
                thread, agent, until, "claim", now,
            ));
        }
        Ok(ClaimAttempt::Won(Claim {
            agent_id: agent,
            until,
        }))
    }

    fn renew_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<bool> {
        let mut s = self.lock();
        let (t, _) = s.thread_mut(thread)?;
        if t.is_held_by(agent, now) {
            t.claim = Some(Claim {
                agent_id: agent,
                until,
            });
            return Ok(true);
        }
        Ok(false)
    }

    fn release_claim(&self, thread: ThreadId, agent: UserId) -> DomainResult<bool> {
        let mut s = self.lock();
        let (t, _) = s.thread_mut(thread)?;
        if t.claim.is_some_and(|c| c.agent_id == agent) {
            t.claim = None;
            return Ok(true);
        }
        Ok(false)
    }

    fn force_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<Claim>> {
        let mut s = self.lock();
        let (t, _) = s.thread_mut(thread)?;
        let patch = t.on_claim(agent, until, now, ClaimMode::TakeOver)?;
        let previous = t.live_claim(now).copied();
        t.apply(patch);
        s.webhooks.record(OutboxEvent::thread_assigned(
            thread,
            agent,
            until,
            "take_over",
            now,
        ));
        Ok(previous)
    }

    fn expire_claims(&self, now: Timestamp) -> DomainResult<Vec<ExpiredClaim>> {
        let mut s = self.lock();
        let mut expired = Vec::new();
        for (t, _) in &mut s.threads {
            if let Some(claim) = t.claim.filter(|c| !c.is_live(now)) {
                t.claim = None;
                expired.push(ExpiredClaim {
                    thread_id: t.id,
                    agent_id: claim.agent_id,
                });
            }
        }
        Ok(expired)
    }

    fn set_status(
        &self,
        thread: ThreadId,
        status: ThreadStatus,
        now: Timestamp,
    ) -> DomainResult<Thread> {
        let mut s = self.lock();
        let current = s.thread_mut(thread)?.0.clone();
        if s.reopening_clashes(&current, status) {
            return Err(reopen_conflict());
        }
        let patch = current.on_status(status);
        let (t, rank) = s.thread_mut(thread)?;
        *rank = patch.rank_key.unwrap_or(*rank);
        t.apply(patch);
        t.last_activity_at = now;
        let updated = t.clone();
        if current.status != ThreadStatus::Resolved && updated.status == ThreadStatus::Resolved {
            s.webhooks
                .record(OutboxEvent::thread_resolved(&updated, now));
        }
        Ok(updated)
    }

    fn queue(&self, now: Timestamp, limit: u32, offset: u32) -> DomainResult<Vec<Thread>> {
        let s = self.lock();
        let mut waiting: Vec<&(Thread, i64)> = s
            .threads
            .iter()
            .filter(|(t, _)| {
                t.status != ThreadStatus::Resolved
                    && t.waiting_since.is_some()
                    && t.live_claim(now).is_none()
            })
            .collect();
        waiting.sort_by_key(|(t, rank)| (std::cmp::Reverse(*rank), t.waiting_since, t.id));
        Ok(waiting
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|(t, _)| t.clone())
            .collect())
    }

    fn queue_len(&self, now: Timestamp) -> DomainResult<u64> {
        let s = self.lock();
        Ok(s.threads
            .iter()
            .filter(|(t, _)| {
                t.status != ThreadStatus::Resolved
                    && t.waiting_since.is_some()
                    && t.live_claim(now).is_none()
            })
            .count() as u64)
    }

    fn waiting_threads(&self) -> DomainResult<Vec<Thread>> {
        Ok(self
            .lock()
            .threads
            .iter()
            .filter(|(t, _)| t.waiting_since.is_some())
            .map(|(t, _)| t.clone())
            .collect())
    }

    fn set_urgency(&self, thread: ThreadId, urgency: &Urgency, rank_key: i64) -> DomainResult<()> {
        let mut s = self.lock();
        let (t, rank) = s.thread_mut(thread)?;
        t.urgency = urgency.clone();
        *rank = rank_key;
        Ok(())
    }

    fn set_urgencies(&self, changes: &[(ThreadId, Urgency, i64)]) -> DomainResult<u64> {
        let mut s = self.lock();
        let mut changed = HashSet::new();
        for (thread, urgency, rank_key) in changes {
            if let Ok((t, rank)) = s.thread_mut(*thread) {
                t.urgency = urgency.clone();
                *rank = *rank_key;
                changed.insert(*thread);
            }
        }
        Ok(changed.len() as u64)
    }

    fn threads_by_ids(&self, ids: &[ThreadId]) -> DomainResult<Vec<Thread>> {
        let mut found: Vec<Thread> = self
            .lock()
            .threads
            .iter()
            .filter(|(t, _)| ids.contains(&t.id))
            .map(|(t, _)| t.clone())
            .collect();
        found.sort_by_key(|t| t.id);
        Ok(found)
    }

    fn threads_page(
        &self,
        filter: &ThreadFilter,
        now: Timestamp,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> DomainResult<Vec<Thread>> {
        let s = self.lock();
        let mut list: Vec<Thread> = s
            .threads
            .iter()
            .map(|(t, _)| t)
            .filter(|t| s.in_list(t, filter, now))
            .filter(|t| after.is_none_or(|c| c.precedes(t)))
            .cloned()
            .collect();
        list.sort_by_key(|t| std::cmp::Reverse((t.last_activity_at, t.id)));
        list.truncate(limit as usize);
        Ok(list)
    }

    fn idle_pending_threads(&self, idle_since: Timestamp, limit: u32) -> DomainResult<Vec<Thread>> {
        let s = self.lock();
        let mut list: Vec<Thread> = s
            .threads
            .iter()
            .map(|(t, _)| t)
            .filter(|t| t.status == ThreadStatus::Pending && t.last_activity_at <= idle_since)
            .cloned()
            .collect();
        list.sort_by_key(|t| (t.last_activity_at, t.id));
        list.truncate(limit as usize);
        Ok(list)
    }

    fn count_threads(&self, filter: &ThreadFilter, now: Timestamp) -> DomainResult<u64> {
        let s = self.lock();
        Ok(s.threads
            .iter()
            .filter(|(t, _)| s.in_list(t, filter, now))
            .count() as u64)
    }
}

impl MessageStore for MemoryStore {
    fn append_message(
        &self,
        new: NewMessage,
        patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
    ) -> DomainResult<Appended> {
        let mut s = self.lock();
        if let Some(hash) = &new.verified_hash {
            let still = s.users.iter().any(|u| {
                u.id == new.sender_id && u.deleted_at.is_none() && u.password_hash == *hash
            });
            if !still {
                return Err(DomainError::Unauthenticated);
            }
        }
        if let Some(cmid) = &new.client_message_id {
            if let Some(existing) = s.messages.iter().find(|m| {
                m.sender_id == new.sender_id
                    && m.client_message_id.as_deref() == Some(cmid.as_str())
            }) {
                let message = existing.clone();
                let thread = s
                    .threads
                    .iter()
                    .find(|(t, _)| t.id == message.thread_id)
                    .map(|(t, _)| t.clone())
                    .ok_or(DomainError::NotFound("thread"))?;
                return Ok(Appended {
                    message,
                    thread,
                    created: false,
                    status_changed: false,
                    reopened: false,
                });
            }
        }
        let mut thread = s.thread_mut(new.thread_id)?.0.clone();
        thread.last_seq += 1;
        thread.last_activity_at = new.created_at;
        let p = patch(&thread)?;
        if s.reopening_clashes(&thread, p.status) {
            return Err(reopen_conflict());
        }
        let message = Message {
            id: MessageId(next_id(s.messages.len())),
            thread_id: thread.id,
            seq: thread.last_seq,
            sender_id: new.sender_id,
            sender_role: new.sender_role,
            kind: new.kind,
            body: new.body.as_str().to_owned(),
            created_at: new.created_at,
            is_read: false,
            client_message_id: new.client_message_id.map(|c| c.as_str().to_owned()),
            attachments: Vec::new(),
            system: new.system,
        };
        let usable = |a: &Attachment| {
            a.thread_id == thread.id && a.uploader_id == new.sender_id && a.message_id.is_none()
        };
        for id in &new.attachments {
            if !s.attachments.iter().any(|a| &a.id == id && usable(a)) {
                return Err(unusable_attachment());
            }
        }
        for a in s
            .attachments
            .iter_mut()
            .filter(|a| new.attachments.contains(&a.id))
        {
            a.message_id = Some(message.id);
        }
        if p.mark_client_messages_read {
            for m in s
                .messages
                .iter_mut()
                .filter(|m| m.thread_id == thread.id && m.sender_role == Role::Client)
            {
                m.is_read = true;
            }
        }
        let status_changed = thread.status != p.status;
        let reopened =
            thread.status == ThreadStatus::Resolved && p.status != ThreadStatus::Resolved;
        let (entry, rank) = s.thread_mut(thread.id)?;
        *rank = p.rank_key.unwrap_or(*rank);
        thread.apply(p);
        *entry = thread.clone();
        s.messages.push(message.clone());
        s.webhooks.record(OutboxEvent::message_created(&message));
        if status_changed && thread.status == ThreadStatus::Resolved {
            s.webhooks
                .record(OutboxEvent::thread_resolved(&thread, message.created_at));
        }
        Ok(Appended {
            message,
            thread,
            created: true,
            status_changed,
            reopened,
        })
    }

    fn messages_after(
        &self,
        thread: ThreadId,
        after_seq: i64,
        limit: u32,
        audience: Audience,
    ) -> DomainResult<Vec<Message>> {
        let s = self.lock();
        let mut list: Vec<Message> = s
            .messages
            .iter()
            .filter(|m| m.thread_id == thread && m.seq > after_seq && audience.sees(m.kind))
            .cloned()
            .collect();
        list.sort_by_key(|m| m.seq);
        list.truncate(limit as usize);
        Ok(list)
    }

    fn mark_read(&self, thread: ThreadId, reader: UserId, up_to_seq: i64) -> DomainResult<u64> {
        let mut s = self.lock();
        let mut changed = 0;
        for m in s.messages.iter_mut().filter(|m| {
            m.thread_id == thread
                && m.kind == MessageKind::Message
                && m.sender_id != reader
                && m.seq <= up_to_seq
                && !m.is_read
        }) {
            m.is_read = true;
            changed += 1;
        }
        Ok(changed)
    }

    fn conversation_between(&self, agent: UserId, client: UserId) -> DomainResult<Vec<Message>> {
        let s = self.lock();
        let threads: Vec<ThreadId> = s
            .threads
            .iter()
            .filter(|(t, _)| t.client_id == client)
            .filter(|(t, _)| {
                s.messages.iter().any(|m| {
                    m.thread_id == t.id && m.sender_id == agent && m.kind == MessageKind::Message
                })
            })
            .map(|(t, _)| t.id)
            .collect();
        let mut list: Vec<Message> = s
            .messages
            .iter()
            .filter(|m| threads.contains(&m.thread_id) && m.kind == MessageKind::Message)
            .cloned()
            .collect();
        list.sort_by_key(|m| (m.created_at, m.id));
        Ok(list)
    }

    fn first_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>> {
        let s = self.lock();
        let mut first: HashMap<ThreadId, Message> = HashMap::new();
        for &(thread, since) in waiting {
            let earliest = s
                .messages
                .iter()
                .filter(|m| {
                    m.thread_id == thread && m.sender_role == Role::Client && m.created_at >= since
                })
                .min_by_key(|m| m.seq);
            if let Some(m) = earliest {
                first.insert(thread, m.clone());
            }
        }
        Ok(first)
    }

    fn latest_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>> {
        let s = self.lock();
        let mut latest: HashMap<ThreadId, Message> = HashMap::new();
        for &(thread, since) in waiting {
            let newest = s
                .messages
                .iter()
                .filter(|m| {
                    m.thread_id == thread && m.sender_role == Role::Client && m.created_at >= since
                })
                .max_by_key(|m| m.seq);
            if let Some(m) = newest {
                latest.insert(thread, m.clone());
            }
        }
        Ok(latest)
    }

    fn count_sent_by(&self, user: UserId) -> DomainResult<u64> {
        Ok(self
            .lock()
            .messages
            .iter()
            .filter(|m| m.sender_id == user)
            .count() as u64)
    }

    fn unread_client_messages(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, u64>> {
        let s = self.lock();
        let mut unread: HashMap<ThreadId, u64> = HashMap::new();
        for m in s.messages.iter().filter(|m| {
            threads.contains(&m.thread_id)
                && m.kind == MessageKind::Message
                && m.sender_role == Role::Client
                && !m.is_read
        }) {
            *unread.entry(m.thread_id).or_default() += 1;
        }
        Ok(unread)
    }

    fn search(&self, query: &SearchQuery) -> DomainResult<Vec<SearchHit>> {
        let terms = query.terms();
        let s = self.lock();
        let mut hits: Vec<SearchHit> = Vec::new();
        for m in &s.messages {
            let Some((thread, _)) = s.threads.iter().find(|(t, _)| t.id == m.thread_id) else {
                continue;
            };
            if let SearchScope::ClientThreads(client) = query.scope {
                if thread.client_id != client || m.kind != MessageKind::Message {
                    continue;
                }
            }
            let words: Vec<String> = m
                .body
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            if !terms.iter().all(|t| words.contains(t)) {
                continue;
            }
            let count = words.iter().filter(|w| terms.contains(w)).count();
            let client_username = s
                .users
                .iter()
                .find(|u| u.id == thread.client_id)
                .map(|u| u.username.as_str().to_owned())
                .unwrap_or_default();
            hits.push(SearchHit {
                message: m.clone(),
                client_username,
                rank: count as f64 / words.len().max(1) as f64,
            });
        }
        hits.sort_by(|a, b| {
            b.rank
                .total_cmp(&a.rank)
                .then(b.message.created_at.cmp(&a.message.created_at))
        });
        hits.truncate(query.limit as usize);
        Ok(hits)
    }
}

impl CannedReplyStore for MemoryStore {
    fn insert_canned(&self, reply: NewCannedReply) -> DomainResult<CannedReply> {
        let mut s = self.lock();
        let stored = CannedReply {
            id: {
                s.canned_ids += 1;
                CannedReplyId(s.canned_ids)
            },
            title: reply.title,
            body: reply.body,
            created_by: reply.created_by,
            created_at: reply.created_at,
        };
        s.canned.push(stored.clone());
        Ok(stored)
    }

    fn list_canned(&self) -> DomainResult<Vec<CannedReply>> {
        let mut list = self.lock().canned.clone();
        list.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    fn canned_by_id(&self, id: CannedReplyId) -> DomainResult<Option<CannedReply>> {
        Ok(self.lock().canned.iter().find(|c| c.id == id).cloned())
    }

    fn delete_canned(&self, id: CannedReplyId) -> DomainResult<bool> {
        let mut s = self.lock();
        let before = s.canned.len();
        s.canned.retain(|c| c.id != id);
        Ok(s.canned.len() != before)
    }
}

impl LabelStore for MemoryStore {
    fn insert_label(&self, label: NewLabel) -> DomainResult<Label> {
        let mut s = self.lock();
        if s.labels
            .iter()
            .any(|l| l.name.to_ascii_lowercase() == label.folded)
        {
            return Err(DomainError::Conflict(Conflict::LabelTaken));
        }
        let stored = Label {
            id: LabelId(next_id(s.labels.len())),
            name: label.name,
            color: label.color,
        };
        s.labels.push(stored.clone());
        Ok(stored)
    }

    fn list_labels(&self) -> DomainResult<Vec<Label>> {
        let mut list = self.lock().labels.clone();
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    fn label_by_id(&self, id: LabelId) -> DomainResult<Option<Label>> {
        Ok(self.lock().labels.iter().find(|l| l.id == id).cloned())
    }

    fn add_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool> {
        let mut s = self.lock();
        s.thread_mut(thread)?;
        if !s.labels.iter().any(|l| l.id == label) {
            return Err(DomainError::NotFound("label"));
        }
        if s.thread_labels.contains(&(thread, label)) {
            return Ok(false);
        }
        s.thread_labels.push((thread, label));
        Ok(true)
    }

    fn remove_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool> {
        let mut s = self.lock();
        let before = s.thread_labels.len();
        s.thread_labels.retain(|pair| *pair != (thread, label));
        Ok(s.thread_labels.len() != before)
    }

    fn thread_labels(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, Vec<Label>>> {
        let s = self.lock();
        let mut found: HashMap<ThreadId, Vec<Label>> = HashMap::new();
        for (thread, label) in &s.thread_labels {
            if !threads.contains(thread) {
                continue;
            }
            if let Some(l) = s.labels.iter().find(|l| l.id == *label) {
                found.entry(*thread).or_default().push(l.clone());
            }
        }
        for list in found.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        }
        Ok(found)
    }
}

impl RatingStore for MemoryStore {
    fn insert_rating(&self, rating: NewRating) -> DomainResult<Rating> {
        let mut s = self.lock();
        let resolution_seq = s.thread_mut(rating.thread_id)?.0.resolutions;
        if s.ratings
            .iter()
            .any(|r| r.thread_id == rating.thread_id && r.resolution_seq == resolution_seq)
        {
            return Err(DomainError::Conflict(Conflict::AlreadyRated));
        }
        let stored = Rating {
            id: RatingId(next_id(s.ratings.len())),
            thread_id: rating.thread_id,
            client_id: rating.client_id,
            agent_id: rating.agent_id,
            score: rating.score,
            comment: rating.comment,
            resolution_seq,
            created_at: rating.created_at,
        };
        s.ratings.push(stored.clone());
        s.webhooks.record(OutboxEvent::thread_rated(&stored));
        Ok(stored)
    }

    fn ratings_of_thread(&self, thread: ThreadId) -> DomainResult<Vec<Rating>> {
        Ok(self
            .lock()
            .ratings
            .iter()
            .filter(|r| r.thread_id == thread)
            .cloned()
            .collect())
    }
}

fn unusable_attachment() -> DomainError {
    DomainError::invalid(
        "attachment_ids",
        "each attachment must be one you uploaded to this thread and not attached to a message yet",
    )
}

impl AttachmentStore for MemoryStore {
    fn insert_attachment(&self, attachment: &Attachment) -> DomainResult<()> {
        let mut s = self.lock();
        s.thread_mut(attachment.thread_id)?;
        let mut stored = attachment.clone();
        stored.message_id = None;
        s.attachments.push(stored);
        Ok(())
    }

    fn attachment(&self, id: &AttachmentId) -> DomainResult<Option<Attachment>> {
        Ok(self
            .lock()
            .attachments
            .iter()
            .find(|a| &a.id == id)
            .cloned())
    }

    fn unattached_before(&self, before: Timestamp, limit: u32) -> DomainResult<Vec<Attachment>> {
        let s = self.lock();
        let mut found: Vec<Attachment> = s
            .attachments
            .iter()
            .filter(|a| a.message_id.is_none() && a.created_at < before)
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        found.truncate(limit as usize);
        Ok(found)
    }

    fn remove_unattached(&self, id: &AttachmentId) -> DomainResult<bool> {
        let mut s = self.lock();
        let before = s.attachments.len();
        s.attachments
            .retain(|a| !(&a.id == id && a.message_id.is_none()));
        Ok(s.attachments.len() < before)
    }

    fn message_attachments(
        &self,
        messages: &[MessageId],
    ) -> DomainResult<HashMap<MessageId, Vec<Attachment>>> {
        let s = self.lock();
        let mut found: Vec<&Attachment> = s
            .attachments
            .iter()
            .filter(|a| a.message_id.is_some_and(|m| messages.contains(&m)))
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let mut map: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
        for a in found {
            if let Some(m) = a.message_id {
                map.entry(m).or_default().push(a.clone());
            }
        }
        Ok(map)
    }
}

impl Store for MemoryStore {
    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
