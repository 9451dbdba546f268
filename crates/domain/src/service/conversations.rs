//! Writing, reading and live signals in threads.

use std::sync::Arc;

use super::{can_view, require_staff, Chat};
use crate::event::Event;
use crate::message::{
    Appended, Audience, ClientMessageId, Message, MessageBody, MessageKind, NewMessage,
};
use crate::ports::{SharedPatch, SharedSlaDecision};
use crate::sla::{SlaApplied, SlaClock};
use crate::thread::{Thread, ThreadStatus, ThreadType};
use crate::user::{PasswordHash, Role, User};
use crate::{Conflict, DomainError, DomainResult, ThreadId, UserId};

/// Most messages one read returns.
pub const MAX_PAGE: u32 = 500;

impl Chat {
    /// A client writes about a topic: into its open thread of that type, created if missing (as
    /// the seed's `send-message` does). A resolved thread is never reused: a new one opens.
    pub fn send_as_client(
        &self,
        actor: &User,
        thread_type: ThreadType,
        body: &str,
        client_message_id: Option<&str>,
    ) -> DomainResult<Appended> {
        if actor.role != Role::Client {
            return Err(DomainError::forbidden(
                "only clients open threads; agents reply in a thread they claimed",
            ));
        }
        let body = MessageBody::parse(body)?;
        let cmid = client_message_id.map(ClientMessageId::parse).transpose()?;
        let thread = self.store.open_thread(actor.id, thread_type, self.now())?;
        self.append(actor, thread.id, body, cmid, Vec::new(), None)
    }

    /// [`Chat::send_as_client`] for a client that sends its username and password with every
    /// message (the seed's `send-message`): the password is checked as
    /// [`Chat::authenticate_password_repeatedly`] checks it, and the user and its open thread
    /// of that type are read together ([`crate::ports::ThreadStore::user_with_open_thread`]),
    /// so a send costs one read less. A repeated send whose password, user and open thread
    /// the verified-credential cache remembers reads nothing: its append checks, in its own
    /// transaction, that the user still has the hash the password was verified against and
    /// that the thread is still open, and anything else takes the path above. The outer result
    /// is the password check ([`DomainError::Unauthenticated`] for any wrong credential); the
    /// inner one is the send's, so a right password counts as right even when the send is
    /// refused.
    pub fn send_as_client_with_password(
        &self,
        username: &str,
        password: &str,
        thread_type: ThreadType,
        body: &str,
    ) -> DomainResult<(User, DomainResult<Appended>)> {
        crate::text::check("username", username)?;
        if let Some(sent) = self.send_as_remembered(username, password, thread_type, body) {
            return sent;
        }
        let (user, open) = match self
            .store
            .user_with_open_thread(username.trim(), thread_type)?
        {
            Some((user, open)) => (Some(user), open),
            None => (None, None),
        };
        let user = self.verify_password(user, password, true)?;
        let sent = match open {
            Some(thread) if user.role == Role::Client => MessageBody::parse(body)
                .and_then(|body| self.append(&user, thread.id, body, None, Vec::new(), None)),
            _ => self.send_as_client(&user, thread_type, body, None),
        };
        if let (Some(cache), Ok(appended)) = (&self.credentials, &sent) {
            cache.remember_open_thread(&user, thread_type, appended.message.thread_id);
        }
        Ok((user, sent))
    }

    /// The send of [`Chat::send_as_client_with_password`] when the cache remembers the password,
    /// the user and its open thread of the type; `None` when it does not, or when the append
    /// refused the remembered hash or thread (nothing was stored: the caller's full path then
    /// answers exactly as without the cache).
    fn send_as_remembered(
        &self,
        username: &str,
        password: &str,
        thread_type: ThreadType,
        body: &str,
    ) -> Option<DomainResult<(User, DomainResult<Appended>)>> {
        let cache = self.credentials.as_ref()?;
        let (user, thread) = cache.recall(username, password, thread_type, self.now())?;
        let body = MessageBody::parse(body).ok()?;
        let hash = user.password_hash.clone();
        match self.append(&user, thread, body, None, Vec::new(), Some(hash)) {
            Ok(appended) => Some(Ok((user, Ok(appended)))),
            // Whether it was stored is unknown: no second try.
            Err(err @ (DomainError::Unavailable(_) | DomainError::Internal(_))) => Some(Err(err)),
            Err(DomainError::Unauthenticated) => {
                cache.forget(user.id);
                None
            }
            Err(_) => {
                cache.forget_open_thread(&user, thread_type);
                None
            }
        }
    }

    /// Writes into a thread: its client (a resolved thread reopens), or the agent holding its
    /// claim (the reply renews the lease). Anyone else is refused, by the append itself under
    /// the thread's lock (no separate read of the thread first: a send is one transaction).
    /// A `client_message_id` the actor already used in another thread is a conflict.
    pub fn send_in_thread(
        &self,
        actor: &User,
        thread_id: ThreadId,
        body: &str,
        client_message_id: Option<&str>,
    ) -> DomainResult<Appended> {
        self.send_with_attachments(actor, thread_id, body, client_message_id, &[])
    }

    /// [`Chat::send_in_thread`] with files: each of `attachment_ids` must have been uploaded to
    /// this thread by the actor and not be attached to another message yet (Invalid
    /// `attachment_ids` otherwise, and nothing is stored). The answered message (and its
    /// `message.created` event) carries them.
    pub fn send_with_attachments(
        &self,
        actor: &User,
        thread_id: ThreadId,
        body: &str,
        client_message_id: Option<&str>,
        attachment_ids: &[String],
    ) -> DomainResult<Appended> {
        let body = MessageBody::parse(body)?;
        let cmid = client_message_id.map(ClientMessageId::parse).transpose()?;
        let attachments = super::parse_attachment_ids(attachment_ids)?;
        let appended = self.append(actor, thread_id, body, cmid, attachments, None)?;
        if appended.message.thread_id != thread_id {
            return Err(DomainError::Conflict(Conflict::ClientMessageIdReused));
        }
        Ok(appended)
    }

    /// Stores a message and publishes what it changed. `verified_hash`: the send was
    /// authenticated by a remembered password verified against this hash (the store re-checks
    /// it), and goes only into a thread that is still open (else
    /// [`Conflict::ThreadResolved`], nothing stored).
    fn append(
        &self,
        actor: &User,
        thread_id: ThreadId,
        body: MessageBody,
        client_message_id: Option<ClientMessageId>,
        attachments: Vec<crate::attachment::AttachmentId>,
        verified_hash: Option<PasswordHash>,
    ) -> DomainResult<Appended> {
        let now = self.now();
        let with_files = !attachments.is_empty();
        let text = body.as_str().to_owned();
        let (sender, config) = (actor.clone(), Arc::clone(&self.config));
        let open_only = verified_hash.is_some();
        let patch: SharedPatch = Arc::new(move |thread: &Thread| {
            if open_only && thread.status == ThreadStatus::Resolved {
                return Err(DomainError::Conflict(Conflict::ThreadResolved));
            }
            thread.on_message(&sender, &text, now, &config.claims, &config.urgency)
        });
        let (role, id, config) = (actor.role, actor.id, Arc::clone(&self.config));
        let sla: SharedSlaDecision = Arc::new(move |thread: &Thread, clocks: &[SlaClock]| {
            config.sla.after_message((role, id), thread, now, clocks)
        });
        let (appended, sla_applied) = self.store.append_message_with_sla(
            NewMessage {
                thread_id,
                sender_id: actor.id,
                sender_role: actor.role,
                kind: MessageKind::Message,
                body,
                created_at: now,
                client_message_id,
                attachments,
                system: false,
                verified_hash,
            },
            patch,
            sla,
        )?;
        let mut appended = appended;
        if with_files || !appended.created {
            let filled = self.fill_attachments(vec![appended.message.clone()])?;
            if let Some(message) = filled.into_iter().next() {
                appended.message = message;
            }
        }
        if appended.created {
            self.publish(Event::MessageCreated {
                thread_id,
                seq: appended.message.seq,
                message: appended.message.clone(),
            });
            if appended.status_changed {
                self.publish(Event::StatusChanged {
                    thread_id,
                    status: appended.thread.status,
                });
            }
            if appended.reopened {
                self.publish(Event::Reopened {
                    thread_id,
                    agent_id: appended.thread.agent_id,
                    client_id: appended.thread.client_id,
                });
            }
            if sla_applied == SlaApplied::Left {
                self.sla_after_message(actor, &appended);
            }
        }
        Ok(appended)
    }

    /// Staff write a private note into a thread: stored in order with its messages (its own
    /// `seq`), shown to staff only, and published as `note.created` to the thread's staff and
    /// the queue, never to the client. No claim is needed, and a resolved thread takes notes
    /// too (it stays resolved). A note is not a reply: the client keeps waiting, nothing is
    /// marked read, the urgency and the lease stay as they were. Clients are refused
    /// (Forbidden); the body follows the message rules.
    pub fn add_note(&self, actor: &User, thread_id: ThreadId, body: &str) -> DomainResult<Message> {
        require_staff(actor)?;
        let body = MessageBody::parse(body)?;
        let patch = |thread: &Thread| thread.on_note(actor);
        let appended = self.store.append_message(
            NewMessage {
                thread_id,
                sender_id: actor.id,
                sender_role: actor.role,
                kind: MessageKind::Note,
                body,
                created_at: self.now(),
                client_message_id: None,
                attachments: Vec::new(),
                system: false,
                verified_hash: None,
            },
            &patch,
        )?;
        self.publish(Event::NoteCreated {
            thread_id,
            seq: appended.message.seq,
            message: appended.message.clone(),
        });
        Ok(appended.message)
    }

    /// Entries of a thread the actor may read, after sequence number `after_seq`: messages, and
    /// for staff also notes.
    pub fn messages(
        &self,
        actor: &User,
        thread_id: ThreadId,
        after_seq: i64,
        limit: u32,
    ) -> DomainResult<Vec<Message>> {
        self.viewable_thread(actor, thread_id)?;
        let page = self.store.messages_after(
            thread_id,
            after_seq.max(0),
            limit.clamp(1, MAX_PAGE),
            Audience::of(actor.role),
        )?;
        self.fill_attachments(page)
    }

    /// The threads of a client: the client itself, or staff.
    pub fn threads_of_client(&self, actor: &User, client: UserId) -> DomainResult<Vec<Thread>> {
        if actor.id != client {
            require_staff(actor)?;
        }
        self.store.threads_of_client(client)
    }

    /// The client's own messages in its open thread of a topic (the seed's client
    /// `message-list`): only the unread ones, as the seed lists them.
    pub fn unread_sent_by_client(
        &self,
        actor: &User,
        thread_type: ThreadType,
    ) -> DomainResult<Option<Vec<Message>>> {
        if actor.role != Role::Client {
            return Err(DomainError::forbidden(
                "only clients have sent messages to list",
            ));
        }
        let thread = self
            .store
            .threads_of_client(actor.id)?
            .into_iter()
            .filter(|t| t.thread_type == thread_type)
            .min_by_key(|t| {
                (
                    t.status == ThreadStatus::Resolved,
                    std::cmp::Reverse(t.last_activity_at),
                )
            });
        let Some(thread) = thread else {
            return Ok(None);
        };
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .messages_after(thread.id, after, MAX_PAGE, Audience::Client)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(
                page.into_iter()
                    .filter(|m| m.sender_id == actor.id && !m.is_read),
            );
        }
        Ok(Some(all))
    }

    /// Every message between an agent and a client (the seed's `thread-list`): for that agent,
    /// that client, or an admin.
    pub fn conversation_between(
        &self,
        actor: &User,
        agent: UserId,
        client: UserId,
    ) -> DomainResult<Vec<Message>> {
        let allowed = actor.id == agent || actor.id == client || actor.role == Role::Admin;
        if !allowed {
            return Err(DomainError::forbidden(
                "only that agent, that client or an admin may list their conversations",
            ));
        }
        let agent_user = self.store.user_by_id(agent)?;
        let client_user = self.store.user_by_id(client)?;
        if !agent_user.is_some_and(|u| u.role.is_staff())
            || !client_user.is_some_and(|u| u.role == Role::Client)
        {
            return Err(DomainError::NotFound("agent or client"));
        }
        self.store.conversation_between(agent, client)
    }

    /// Marks the other side's messages read up to `up_to_seq` and tells the thread.
    pub fn mark_read(
        &self,
        actor: &User,
        thread_id: ThreadId,
        up_to_seq: i64,
    ) -> DomainResult<u64> {
        let thread = self.joinable_thread(actor, thread_id)?;
        let up_to = up_to_seq.min(thread.last_seq);
        let changed = self.store.mark_read(thread_id, actor.id, up_to)?;
        self.publish(Event::Read {
            thread_id,
            reader_id: actor.id,
            up_to_seq: up_to,
        });
        Ok(changed)
    }

    /// Tells the thread that the actor is typing.
    pub fn typing(&self, actor: &User, thread_id: ThreadId) -> DomainResult<()> {
        self.joinable_thread(actor, thread_id)?;
        self.publish(Event::Typing {
            thread_id,
            user_id: actor.id,
        });
        Ok(())
    }

    /// Whether the actor may read the thread (without loading it twice for callers that have it).
    pub fn may_view(&self, actor: &User, thread: &Thread) -> bool {
        can_view(actor, thread)
    }
}
