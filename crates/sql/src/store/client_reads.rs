//! Which client messages staff have read: per thread, the end of the read prefix
//! (`client_reads.up_to_seq`), not a flag rewritten on each message.
//!
//! Every mark covers "the client's messages up to a seq" and is taken under the thread's lock
//! (an agent's reply, or staff marking a thread read), so the read client messages of a thread
//! are always a prefix of them by seq, and the prefix's end says which. Raising it is one small
//! row per thread; the flag it replaces was an UPDATE of each message, never HOT (`is_read` is
//! in an index predicate), so every read mark rewrote all the message's index entries, the
//! full-text ones too. `messages.is_read` still holds the staff's messages a client marked read,
//! and client messages stored read (answered within their own batch, or before the mark existed).

use std::collections::{HashMap, HashSet};

use chat_domain::message::{Message, MessageKind};
use chat_domain::user::Role;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::constant::ClientMessage;
use crate::connection::{on_concrete, DbConnection};
use crate::error::StoreError;
use crate::rows::MessageRow;
use crate::schema::{client_reads, messages, threads};

diesel::define_sql_function! {
    /// SQL's `COALESCE` of a nullable and a default.
    fn coalesce(value: diesel::sql_types::Nullable<diesel::sql_types::BigInt>, default: diesel::sql_types::BigInt) -> diesel::sql_types::BigInt;
}

/// Marks the thread's client messages up to `up_to_seq` read: sets its mark. The caller holds
/// the thread's lock and never lowers the mark: a reply's mark (just before the reply) is the
/// thread's last seq before it, which no earlier mark exceeds, and `mark_read` raises only.
pub(crate) fn mark(conn: &mut DbConnection, thread: i64, up_to_seq: i64) -> QueryResult<()> {
    on_concrete!(conn, c => diesel::insert_into(client_reads::table)
        .values((
            client_reads::thread_id.eq(thread),
            client_reads::up_to_seq.eq(up_to_seq),
        ))
        .on_conflict(client_reads::thread_id)
        .do_update()
        .set(client_reads::up_to_seq.eq(excluded(client_reads::up_to_seq)))
        .execute(c))?;
    Ok(())
}

/// The thread's mark: its client messages up to this seq are read (0: none).
pub(crate) fn marked(conn: &mut DbConnection, thread: i64) -> QueryResult<i64> {
    Ok(client_reads::table
        .find(thread)
        .select(client_reads::up_to_seq)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Sets `is_read` on the client messages among `rows` that their thread's mark covers: one
/// query, none when every such row is read already.
pub(crate) fn resolve(conn: &mut DbConnection, rows: &mut [MessageRow]) -> Result<(), StoreError> {
    let unread = |row: &MessageRow| {
        !row.is_read
            && row.sender_role == Role::Client.as_str()
            && row.kind == MessageKind::Message.as_str()
    };
    let threads: Vec<i64> = rows
        .iter()
        .filter(|row| unread(row))
        .map(|row| row.thread_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if threads.is_empty() {
        return Ok(());
    }
    let marks: HashMap<i64, i64> = client_reads::table
        .filter(client_reads::thread_id.eq_any(&threads))
        .select((client_reads::thread_id, client_reads::up_to_seq))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    for row in rows.iter_mut().filter(|row| unread(row)) {
        if marks
            .get(&row.thread_id)
            .is_some_and(|&up_to| row.seq <= up_to)
        {
            row.is_read = true;
        }
    }
    Ok(())
}

/// The rows as messages, with `is_read` resolved from their threads' marks ([`resolve`]).
pub(crate) fn into_messages(
    conn: &mut DbConnection,
    mut rows: Vec<MessageRow>,
) -> Result<Vec<Message>, StoreError> {
    resolve(conn, &mut rows)?;
    crate::rows::into_messages(rows)
}

/// Per thread (of `ids`, with any), how many of its client messages come after its mark: a
/// range of the `messages_client_seq` index per thread.
pub(crate) fn unread_counts(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    let after_mark = messages::thread_id
        .eq(threads::id)
        .and(messages::seq.gt(coalesce(client_reads::up_to_seq.nullable(), 0)));
    threads::table
        .left_join(client_reads::table.on(client_reads::thread_id.eq(threads::id)))
        .inner_join(messages::table.on(after_mark))
        .filter(threads::id.eq_any(ids))
        .filter(ClientMessage)
        .group_by(threads::id)
        .select((threads::id, diesel::dsl::count_star()))
        .load(conn)
}
