//! Full-text search: the one query whose SQL differs per backend, because the two databases'
//! text search features differ. Postgres matches `to_tsvector('simple', body)` (a GIN expression
//! index) against `plainto_tsquery` and ranks with `ts_rank`; SQLite matches an FTS5 index kept in
//! sync by triggers and ranks with `bm25`. Both use lowercased whole words without stemming, as the
//! in-memory reference does; the columns, joins, scope and order are shared.

use chat_domain::search::{SearchHit, SearchQuery, SearchScope};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text};

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::rows::MessageRow;

/// What both backends select: the message, its client's username (and a `score`, per backend).
macro_rules! hit_columns {
    () => {
        "m.id, m.thread_id, m.seq, m.sender_id, m.sender_role, m.body, m.created_at_ms, \
         m.is_read, m.client_message_id, m.kind, m.is_system, u.username AS client_username"
    };
}

/// The joins from a message to its thread's client.
macro_rules! hit_joins {
    () => {
        " JOIN threads t ON t.id = m.thread_id JOIN users u ON u.id = t.client_id "
    };
}

/// Best first; ties: newest first.
macro_rules! hit_order {
    () => {
        " ORDER BY score DESC, m.created_at_ms DESC, m.id DESC "
    };
}

/// Binds: $1 the terms, $2 whether every thread (and every note) is in scope, $3 else the client
/// (whose scope has messages only, never a note), $4 the limit.
const POSTGRES_SEARCH: &str = concat!(
    "SELECT ",
    hit_columns!(),
    ", ts_rank(to_tsvector('simple', m.body), q.query)::float8 AS score",
    " FROM messages m",
    hit_joins!(),
    " CROSS JOIN plainto_tsquery('simple', $1) AS q(query)",
    " WHERE to_tsvector('simple', m.body) @@ q.query AND ($2 OR (t.client_id = $3 AND m.kind = 'message'))",
    hit_order!(),
    " LIMIT $4"
);

/// Binds as [`POSTGRES_SEARCH`]; bm25 is lower for better matches, hence its negation.
const SQLITE_SEARCH: &str = concat!(
    "SELECT ",
    hit_columns!(),
    ", -bm25(messages_fts) AS score",
    " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid",
    hit_joins!(),
    " WHERE messages_fts MATCH ?1 AND (?2 OR (t.client_id = ?3 AND m.kind = 'message'))",
    hit_order!(),
    " LIMIT ?4"
);

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(embed)]
    message: MessageRow,
    #[diesel(sql_type = Text)]
    client_username: String,
    #[diesel(sql_type = Double)]
    score: f64,
}

/// Messages matching every term of the query, within its scope, best first.
pub(crate) fn search(
    conn: &mut DbConnection,
    query: &SearchQuery,
) -> Result<Vec<SearchHit>, StoreError> {
    let terms = query.terms();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, text) = match conn {
        // plainto_tsquery ANDs the words it is given.
        DbConnection::Postgresql(_) => (POSTGRES_SEARCH, terms.join(" ")),
        // Each term quoted (terms are letters and digits only): an implicit AND of phrases.
        DbConnection::Sqlite(_) => (
            SQLITE_SEARCH,
            terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    };
    let (all, client) = match query.scope {
        SearchScope::All => (true, 0),
        SearchScope::ClientThreads(client) => (false, client.0),
    };
    let rows: Vec<HitRow> = diesel::sql_query(sql)
        .bind::<Text, _>(text)
        .bind::<Bool, _>(all)
        .bind::<BigInt, _>(client)
        .bind::<BigInt, _>(i64::from(query.limit))
        .load(conn)?;
    let (mut found, rest): (Vec<MessageRow>, Vec<(String, f64)>) = rows
        .into_iter()
        .map(|row| (row.message, (row.client_username, row.score)))
        .unzip();
    super::client_reads::resolve(conn, &mut found)?;
    found
        .into_iter()
        .zip(rest)
        .map(|(message, (client_username, rank))| {
            Ok(SearchHit {
                message: message.into_message()?,
                client_username,
                rank,
            })
        })
        .collect()
}
