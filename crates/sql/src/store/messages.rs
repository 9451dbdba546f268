//! Messages: the append (sequence numbers, idempotency, the thread patch) and reads.

use std::collections::HashMap;
use std::sync::Arc;

use chat_domain::message::{Appended, Audience, Message, MessageKind, NewMessage};
use chat_domain::ports::MessageStore;
use chat_domain::ports::{SharedPatch, SharedSlaDecision};
use chat_domain::search::{SearchHit, SearchQuery};
use chat_domain::sla::SlaApplied;
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus};
use chat_domain::user::Role;
use chat_domain::webhook::OutboxEvent;
use chat_domain::{Conflict, DomainError, DomainResult, ThreadId, Timestamp, UserId};
use diesel::dsl::{max, min};
use diesel::prelude::*;

use super::append_statements::{InsertMessage, SavePatch, TakeNextSeq};
use super::client_reads;
use super::threads::{lock_thread_if_exists, thread_not_found};
use super::SqlStore;
use crate::connection::{on_concrete, write_transaction, DbConnection};
use crate::error::{conflict_if_unique, is_unique_violation, StoreError};
use crate::rows::{MessageRow, NewMessageRow, ThreadRow};
use crate::schema::{messages, threads, users};

/// The append, inside its write transaction. Order matters:
/// 1. `UPDATE threads SET last_seq = last_seq + 1 ... RETURNING *` takes the thread's row lock
///    (Postgres) under the write lock (SQLite): concurrent appends to a thread queue up here, so
///    sequence numbers are 1, 2, ... without gaps or repeats;
/// 2. the insert, where the unique `(sender_id, client_message_id)` turns a retry into
///    [`StoreError::DuplicateClientMessage`] (and the whole transaction rolls back);
/// 3. the caller's patch, applied to the thread and written back.
///
/// A send authenticated by a remembered password first checks that its sender still has the
/// hash the password was verified against ([`NewMessage::verified_hash`]).
fn append_in_transaction(
    conn: &mut DbConnection,
    new: &NewMessage,
    patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
) -> Result<Appended, StoreError> {
    if let Some(hash) = &new.verified_hash {
        let stored: Option<String> = on_concrete!(conn, c => users::table
            .filter(users::id.eq(new.sender_id.0))
            .filter(users::deleted_at_ms.is_null())
            .select(users::password_hash)
            .first::<String>(c)
            .optional()?);
        if stored.as_deref() != Some(hash.0.as_str()) {
            return Err(DomainError::Unauthenticated.into());
        }
    }
    let row = TakeNextSeq {
        thread_id: new.thread_id.0,
        at_ms: new.created_at.millis(),
    }
    .get_result::<ThreadRow>(conn)
    .optional()?
    .ok_or_else(thread_not_found)?;
    let mut thread = row.to_thread()?;
    let stored = InsertMessage {
        row: NewMessageRow::new(new, thread.last_seq),
    }
    .get_result::<MessageRow>(conn)
    .map_err(|e| {
        if new.client_message_id.is_some() && is_unique_violation(&e) {
            StoreError::DuplicateClientMessage
        } else {
            StoreError::Db(e)
        }
    })?;
    super::attachments::attach(conn, new, stored.id)?;
    let p = patch(&thread)?;
    if p.mark_client_messages_read {
        client_reads::mark(conn, thread.id.0, stored.seq - 1)?;
    }
    let status_changed = thread.status != p.status;
    let reopened = thread.status == ThreadStatus::Resolved && p.status != ThreadStatus::Resolved;
    let rank_key = p.rank_key.unwrap_or(row.rank_key);
    thread.apply(p);
    SavePatch {
        row: ThreadRow::new(&thread, rank_key)?,
    }
    .execute(conn)
    .map_err(|e| conflict_if_unique(e, Conflict::OpenThreadExists))?;
    let message = stored.into_message()?;
    super::webhooks::record(conn, &OutboxEvent::message_created(&message))?;
    if status_changed && thread.status == ThreadStatus::Resolved {
        super::webhooks::record(
            conn,
            &OutboxEvent::thread_resolved(&thread, message.created_at),
        )?;
    }
    Ok(Appended {
        message,
        thread,
        created: true,
        status_changed,
        reopened,
    })
}

/// The message a sender stored earlier under this client message id, with its thread.
fn earlier_message(
    conn: &mut DbConnection,
    sender: UserId,
    client_message_id: &str,
) -> Result<Appended, StoreError> {
    let row = messages::table
        .filter(messages::sender_id.eq(sender.0))
        .filter(messages::client_message_id.eq(client_message_id))
        .select(MessageRow::as_select())
        .first(conn)?;
    let message = client_reads::into_messages(conn, vec![row])?
        .pop()
        .ok_or_else(|| StoreError::Domain(DomainError::NotFound("message")))?;
    let thread = threads::table
        .find(message.thread_id.0)
        .select(ThreadRow::as_select())
        .first(conn)?
        .to_thread()?;
    Ok(Appended {
        message,
        thread,
        created: false,
        status_changed: false,
        reopened: false,
    })
}

/// The first waiting message of each thread, in two indexed queries: the lowest client `seq`
/// at or after `waiting_since` per thread (a range on `(thread_id, created_at_ms)` per thread,
/// grouped), then those messages by their `(thread_id, seq)`.
/// Which client message of a waiting thread: its first or its newest since it started waiting.
#[derive(Clone, Copy)]
enum Edge {
    First,
    Latest,
}

/// Per thread, the `seq` of its first or newest client message created at or after the given
/// instant: one grouped query.
fn waiting_seqs(
    conn: &mut DbConnection,
    waiting: &[(ThreadId, Timestamp)],
    edge: Edge,
) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let Some(((first_thread, first_since), rest)) = waiting.split_first() else {
        return Ok(Vec::new());
    };
    let since = |thread: ThreadId, at: Timestamp| {
        messages::thread_id
            .eq(thread.0)
            .and(messages::created_at_ms.ge(at.millis()))
            .and(messages::sender_role.eq(Role::Client.as_str()))
    };
    macro_rules! grouped {
        ($aggregate:expr) => {{
            let mut query = messages::table
                .group_by(messages::thread_id)
                .select((messages::thread_id, $aggregate))
                .filter(since(*first_thread, *first_since))
                .into_boxed();
            for (thread, at) in rest {
                query = query.or_filter(since(*thread, *at));
            }
            query.load(conn)?
        }};
    }
    Ok(match edge {
        Edge::First => grouped!(min(messages::seq)),
        Edge::Latest => grouped!(max(messages::seq)),
    })
}

fn waiting_messages(
    conn: &mut DbConnection,
    waiting: &[(ThreadId, Timestamp)],
    edge: Edge,
) -> Result<HashMap<ThreadId, Message>, StoreError> {
    let seqs = waiting_seqs(conn, waiting, edge)?;
    let at = |(thread, seq): (i64, i64)| messages::thread_id.eq(thread).and(messages::seq.eq(seq));
    let mut keys = seqs
        .into_iter()
        .filter_map(|(thread, seq)| seq.map(|seq| (thread, seq)));
    let Some(first_key) = keys.next() else {
        return Ok(HashMap::new());
    };
    let mut wanted = messages::table
        .select(MessageRow::as_select())
        .filter(at(first_key))
        .into_boxed();
    for key in keys {
        wanted = wanted.or_filter(at(key));
    }
    let rows = wanted.load(conn)?;
    let found = client_reads::into_messages(conn, rows)?;
    Ok(found.into_iter().map(|m| (m.thread_id, m)).collect())
}

impl SqlStore {
    /// An append in a transaction of its own (SQLite, sends with attachments, and what a batch
    /// hands back: see `store::batch`).
    pub(super) fn append_direct(
        &self,
        new: NewMessage,
        patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
    ) -> DomainResult<Appended> {
        let mut conn = self.conn()?;
        let result = match write_transaction(&mut conn, |c| append_in_transaction(c, &new, patch)) {
            // A retry: the transaction rolled back; answer with what the first attempt stored.
            Err(StoreError::DuplicateClientMessage) => match &new.client_message_id {
                Some(cmid) => earlier_message(&mut conn, new.sender_id, cmid.as_str()),
                None => Err(StoreError::DuplicateClientMessage),
            },
            result => result,
        };
        result.map_err(|err| super::failure(&mut conn, err))
    }
}

impl MessageStore for SqlStore {
    fn append_message(
        &self,
        new: NewMessage,
        patch: &dyn Fn(&Thread) -> DomainResult<ThreadPatch>,
    ) -> DomainResult<Appended> {
        match &self.batcher {
            // Attachments are rare and have their own checks: those sends go one by one.
            Some(batcher) if new.attachments.is_empty() => {
                batcher.append(new, patch, |new| self.append_direct(new, patch))
            }
            _ => self.append_direct(new, patch),
        }
    }

    fn append_message_with_sla(
        &self,
        new: NewMessage,
        patch: SharedPatch,
        sla: SharedSlaDecision,
    ) -> DomainResult<(Appended, SlaApplied)> {
        match &self.batcher {
            // Batched: the writer runs both, and stores the clock changes in its transaction.
            Some(batcher) if new.attachments.is_empty() => {
                let direct_patch = Arc::clone(&patch);
                batcher.append_shared(new, patch, sla, |new| {
                    self.append_direct(new, &*direct_patch)
                })
            }
            _ => Ok((self.append_direct(new, &*patch)?, SlaApplied::Left)),
        }
    }

    fn messages_after(
        &self,
        thread: ThreadId,
        after_seq: i64,
        limit: u32,
        audience: Audience,
    ) -> DomainResult<Vec<Message>> {
        self.run(|conn| {
            let mut query = messages::table
                .filter(messages::thread_id.eq(thread.0))
                .filter(messages::seq.gt(after_seq))
                .order(messages::seq.asc())
                .limit(i64::from(limit))
                .select(MessageRow::as_select())
                .into_boxed();
            if audience == Audience::Client {
                query = query.filter(messages::kind.eq(MessageKind::Message.as_str()));
            }
            let rows = query.load(conn)?;
            client_reads::into_messages(conn, rows)
        })
    }

    fn mark_read(&self, thread: ThreadId, reader: UserId, up_to_seq: i64) -> DomainResult<u64> {
        // The thread's row lock first, as the append takes it: an agent's reply (which marks
        // the client's messages read under that lock) and this update then run one after the
        // other instead of locking the same rows in different orders.
        self.write(|conn| {
            if !lock_thread_if_exists(conn, thread)? {
                return Ok(0);
            }
            // The staff's messages (but the reader's own) carry their flag.
            let staff = diesel::update(
                messages::table
                    .filter(messages::thread_id.eq(thread.0))
                    .filter(messages::sender_id.ne(reader.0))
                    .filter(messages::sender_role.ne(Role::Client.as_str()))
                    .filter(messages::seq.le(up_to_seq))
                    .filter(messages::kind.eq(MessageKind::Message.as_str()))
                    .filter(messages::is_read.eq(false)),
            )
            .set(messages::is_read.eq(true))
            .execute(conn)?;
            // The client's messages: staff raise the thread's mark.
            let client: i64 = threads::table
                .find(thread.0)
                .select(threads::client_id)
                .first(conn)?;
            let mut clients = 0;
            if client != reader.0 {
                let from = client_reads::marked(conn, thread.0)?;
                if up_to_seq > from {
                    clients = messages::table
                        .filter(messages::thread_id.eq(thread.0))
                        .filter(messages::seq.gt(from))
                        .filter(messages::seq.le(up_to_seq))
                        .filter(messages::is_read.eq(false))
                        .filter(super::constant::ClientMessage)
                        .count()
                        .get_result::<i64>(conn)?;
                    client_reads::mark(conn, thread.0, up_to_seq)?;
                }
            }
            Ok(staff as u64 + u64::try_from(clients).unwrap_or(0))
        })
    }

    fn conversation_between(&self, agent: UserId, client: UserId) -> DomainResult<Vec<Message>> {
        self.run(|conn| {
            let clients_threads = threads::table
                .filter(threads::client_id.eq(client.0))
                .select(threads::id);
            // The threads the agent wrote in (an alias: the outer query reads `messages` too).
            let written = diesel::alias!(messages as written);
            let agents_threads = written
                .filter(written.field(messages::sender_id).eq(agent.0))
                .filter(
                    written
                        .field(messages::kind)
                        .eq(MessageKind::Message.as_str()),
                )
                .select(written.field(messages::thread_id));
            let rows = messages::table
                .filter(messages::thread_id.eq_any(clients_threads))
                .filter(messages::thread_id.eq_any(agents_threads))
                .filter(messages::kind.eq(MessageKind::Message.as_str()))
                .order((messages::created_at_ms.asc(), messages::id.asc()))
                .select(MessageRow::as_select())
                .load(conn)?;
            client_reads::into_messages(conn, rows)
        })
    }

    fn first_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>> {
        self.run(|conn| waiting_messages(conn, waiting, Edge::First))
    }

    fn latest_waiting_messages(
        &self,
        waiting: &[(ThreadId, Timestamp)],
    ) -> DomainResult<HashMap<ThreadId, Message>> {
        self.run(|conn| waiting_messages(conn, waiting, Edge::Latest))
    }

    fn count_sent_by(&self, user: UserId) -> DomainResult<u64> {
        self.run(|conn| {
            let count: i64 = messages::table
                .filter(messages::sender_id.eq(user.0))
                .count()
                .get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    fn unread_client_messages(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, u64>> {
        if threads.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = threads.iter().map(|t| t.0).collect();
        self.run(|conn| {
            let rows = client_reads::unread_counts(conn, &ids)?;
            Ok(rows
                .into_iter()
                .map(|(thread, n)| (ThreadId(thread), u64::try_from(n).unwrap_or(0)))
                .collect())
        })
    }

    fn search(&self, query: &SearchQuery) -> DomainResult<Vec<SearchHit>> {
        self.run(|conn| super::search::search(conn, query))
    }
}
