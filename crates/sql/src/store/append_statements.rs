//! The append's statements, written so that diesel keeps them prepared.
//!
//! diesel prepares a statement once per connection and reuses it only when it can tell the SQL
//! never changes. Its `UPDATE` builder always opts out (a changeset may skip `None` fields), and
//! so does an `INSERT` with an optional column (it may render `DEFAULT`). Every message would
//! then make Postgres parse, analyse and plan three statements afresh, about a tenth of the
//! machine's CPU at 1,000 messages a second (docs/BENCHMARKS.md). These types render the same
//! statements with fixed text: column names come from the schema, every value is a bind, and
//! each type is its own cache key ([`QueryId`]). The text is the same on both backends
//! (`UPDATE ... RETURNING` needs SQLite 3.35, which the bundled library is newer than).

use diesel::backend::Backend;
use diesel::dsl::SqlTypeOf;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text};
use diesel::{Column, QueryResult, RunQueryDsl, Table};

use crate::rows::{NewMessageRow, ThreadRow};
use crate::schema::{messages, threads};

/// `"name" = <bind>`, preceded by `, ` unless it is the first.
fn assign<'b, C, T, U, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    first: bool,
    value: &'b U,
) -> QueryResult<()>
where
    C: Column,
    DB: Backend + HasSqlType<T>,
    U: ToSql<T, DB> + ?Sized,
{
    if !first {
        out.push_sql(", ");
    }
    out.push_identifier(C::NAME)?;
    out.push_sql(" = ");
    out.push_bind_param::<T, U>(value)
}

/// `" RETURNING <columns>"`.
fn returning<'b, C, DB>(out: &mut AstPass<'_, 'b, DB>, columns: &'b C) -> QueryResult<()>
where
    C: QueryFragment<DB>,
    DB: Backend,
{
    out.push_sql(" RETURNING ");
    // Columns render the same way everywhere and never opt out of caching.
    columns.walk_ast(out.reborrow())
}

/// Takes a thread's next sequence number: `UPDATE threads SET last_seq = last_seq + 1,
/// last_activity_at_ms = ? WHERE id = ? RETURNING *`. On Postgres it takes the row's lock
/// until the transaction ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TakeNextSeq {
    pub thread_id: i64,
    pub at_ms: i64,
}

impl QueryId for TakeNextSeq {
    type QueryId = TakeNextSeq;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for TakeNextSeq {
    type SqlType = SqlTypeOf<<threads::table as Table>::AllColumns>;
}

impl<Conn> RunQueryDsl<Conn> for TakeNextSeq {}

impl<DB> QueryFragment<DB> for TakeNextSeq
where
    DB: Backend + HasSqlType<BigInt>,
    i64: ToSql<BigInt, DB>,
    <threads::table as Table>::AllColumns: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        out.push_identifier("threads")?;
        out.push_sql(" SET ");
        out.push_identifier(threads::last_seq::NAME)?;
        out.push_sql(" = ");
        out.push_identifier(threads::last_seq::NAME)?;
        out.push_sql(" + 1");
        assign::<threads::last_activity_at_ms, BigInt, _, _>(&mut out, false, &self.at_ms)?;
        out.push_sql(" WHERE ");
        assign::<threads::id, BigInt, _, _>(&mut out, true, &self.thread_id)?;
        returning(&mut out, &threads::all_columns)
    }
}

/// Stores a message: `INSERT INTO messages (...) VALUES (...) RETURNING *`, the client message
/// id bound as a nullable value rather than rendered as `DEFAULT`.
#[derive(Debug)]
pub(crate) struct InsertMessage<'a> {
    pub row: NewMessageRow<'a>,
}

impl QueryId for InsertMessage<'_> {
    type QueryId = InsertMessage<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for InsertMessage<'_> {
    type SqlType = SqlTypeOf<<messages::table as Table>::AllColumns>;
}

impl<Conn> RunQueryDsl<Conn> for InsertMessage<'_> {}

impl<DB> QueryFragment<DB> for InsertMessage<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Bool>,
    DB: HasSqlType<Nullable<Text>>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    for<'x> Option<&'x str>: ToSql<Nullable<Text>, DB>,
    <messages::table as Table>::AllColumns: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let columns = [
            messages::thread_id::NAME,
            messages::seq::NAME,
            messages::sender_id::NAME,
            messages::sender_role::NAME,
            messages::body::NAME,
            messages::created_at_ms::NAME,
            messages::is_read::NAME,
            messages::client_message_id::NAME,
            messages::kind::NAME,
            messages::is_system::NAME,
        ];
        out.push_sql("INSERT INTO ");
        out.push_identifier("messages")?;
        out.push_sql(" (");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(column)?;
        }
        out.push_sql(") VALUES (");
        let row = &self.row;
        out.push_bind_param::<BigInt, _>(&row.thread_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&row.seq)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&row.sender_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(row.sender_role)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(row.body)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&row.created_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&row.is_read)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&row.client_message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(row.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&row.is_system)?;
        out.push_sql(")");
        returning(&mut out, &messages::all_columns)
    }
}

/// Writes what an append's patch may change on its thread, from the thread's whole row
/// (`last_seq` and `last_activity_at_ms` were set by [`TakeNextSeq`]; the rest never changes).
#[derive(Debug)]
pub(crate) struct SavePatch {
    pub row: ThreadRow,
}

impl QueryId for SavePatch {
    type QueryId = SavePatch;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for SavePatch {}

impl<DB> QueryFragment<DB> for SavePatch
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Nullable<BigInt>>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
    Option<i64>: ToSql<Nullable<BigInt>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        out.push_identifier("threads")?;
        out.push_sql(" SET ");
        let row = &self.row;
        assign::<threads::status, Text, _, _>(&mut out, true, &row.status)?;
        assign::<threads::claim_agent_id, Nullable<BigInt>, _, _>(
            &mut out,
            false,
            &row.claim_agent_id,
        )?;
        assign::<threads::claim_until_ms, Nullable<BigInt>, _, _>(
            &mut out,
            false,
            &row.claim_until_ms,
        )?;
        assign::<threads::agent_id, Nullable<BigInt>, _, _>(&mut out, false, &row.agent_id)?;
        assign::<threads::waiting_since_ms, Nullable<BigInt>, _, _>(
            &mut out,
            false,
            &row.waiting_since_ms,
        )?;
        assign::<threads::urgency_score, BigInt, _, _>(&mut out, false, &row.urgency_score)?;
        assign::<threads::urgency_reasons, Text, _, _>(&mut out, false, &row.urgency_reasons)?;
        assign::<threads::rank_key, BigInt, _, _>(&mut out, false, &row.rank_key)?;
        assign::<threads::resolutions, BigInt, _, _>(&mut out, false, &row.resolutions)?;
        out.push_sql(" WHERE ");
        assign::<threads::id, BigInt, _, _>(&mut out, true, &row.id)
    }
}
