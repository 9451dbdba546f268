//! The batched append's statements (Postgres only): each covers a whole batch with one round
//! trip, whatever its size, by binding one array per column and reading them with `unnest`.
//!
//! Like `append_statements`, each is written with fixed text and its own [`QueryId`], so diesel
//! prepares it once per connection and Postgres never re-plans it: the text does not depend on
//! how many appends the batch holds. The writes after the lock (the messages, read marks,
//! threads and clock changes) are parts, not statements of their own: [`WriteAppends`] runs them
//! together in one round trip.

use chat_domain::webhook::OutboxEvent;
use diesel::dsl::SqlTypeOf;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, SmallInt, Text};
use diesel::{QueryResult, RunQueryDsl, Table};

use crate::schema::{messages, sla_clocks, threads};

/// Implements [`QueryId`] (static: the text never changes) and [`RunQueryDsl`] for a statement.
macro_rules! fixed_statement {
    ($name:ident) => {
        impl QueryId for $name {
            type QueryId = $name;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<Conn> RunQueryDsl<Conn> for $name {}
    };
}

/// `SELECT <threads>, <retries> FROM threads WHERE id = ANY($1) ORDER BY id FOR UPDATE`: locks
/// every thread of the batch in one statement, in id order (so two batchers, on two instances,
/// never wait for each other in a cycle), and reads them as locked. The same round trip finds
/// the batch's retries: `<retries>` (the same on every row) is the 1-based positions in
/// `senders`/`client_message_ids` of the pairs stored already, or NULL when none is. It is
/// read on the statement's snapshot, taken before any lock wait, as a statement of its own
/// before the lock would be: a retry stored after it is refused by the unique constraint, and
/// the batch then runs send by send on the direct path.
#[derive(Debug)]
pub(crate) struct LockThreads {
    pub ids: Vec<i64>,
    pub senders: Vec<i64>,
    pub client_message_ids: Vec<String>,
}

fixed_statement!(LockThreads);

impl Query for LockThreads {
    type SqlType = (
        SqlTypeOf<<threads::table as Table>::AllColumns>,
        Nullable<Array<BigInt>>,
    );
}

impl QueryFragment<Pg> for LockThreads {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        threads::all_columns.walk_ast(out.reborrow())?;
        out.push_sql(", (SELECT array_agg(c.n ORDER BY c.n) FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.senders)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.client_message_ids)?;
        out.push_sql(
            ") WITH ORDINALITY AS c(sender_id, client_message_id, n) JOIN messages m \
             ON m.sender_id = c.sender_id AND m.client_message_id = c.client_message_id) \
             FROM threads WHERE id = ANY(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(") ORDER BY id FOR UPDATE");
        Ok(())
    }
}

/// `SELECT <clocks> FROM sla_clocks WHERE thread_id = ANY($1) AND (ended_at_ms IS NULL OR kind =
/// 'first_response') ORDER BY started_at_ms, id`: what the SLA policy reads of the batch's
/// threads, through the partial index `sla_clocks_live`, whose predicate is this condition
/// (written out, not bound, so the planner can prove it). Its plan is made once per connection
/// inside the batch, where sequential scans are off (`BEGIN_GENERIC`), so a plan made while
/// the table was small is still the index scan once it is not.
#[derive(Debug)]
pub(crate) struct LiveClocks {
    pub threads: Vec<i64>,
}

fixed_statement!(LiveClocks);

impl Query for LiveClocks {
    type SqlType = SqlTypeOf<<sla_clocks::table as Table>::AllColumns>;
}

impl QueryFragment<Pg> for LiveClocks {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        sla_clocks::all_columns.walk_ast(out.reborrow())?;
        out.push_sql(" FROM sla_clocks WHERE thread_id = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(&self.threads)?;
        out.push_sql(
            ") AND (ended_at_ms IS NULL OR kind = 'first_response') \
             ORDER BY started_at_ms, id",
        );
        Ok(())
    }
}

/// `SELECT id, password_hash FROM users WHERE id = ANY($1) AND deleted_at_ms IS NULL`: the
/// stored hashes of the batch's senders that were authenticated by a remembered password.
#[derive(Debug)]
pub(crate) struct SenderHashes {
    pub ids: Vec<i64>,
}

fixed_statement!(SenderHashes);

impl Query for SenderHashes {
    type SqlType = (BigInt, Text);
}

impl QueryFragment<Pg> for SenderHashes {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT id, password_hash FROM users WHERE id = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(") AND deleted_at_ms IS NULL");
        Ok(())
    }
}

/// Raises the client-read mark (`client_reads`) of every thread of the batch an agent answered
/// to just before its last reply, in one statement: `INSERT ... SELECT FROM unnest(thread ids,
/// before seqs) ON CONFLICT (thread_id) DO UPDATE ... WHERE` the mark was lower.
#[derive(Debug, Default)]
pub(crate) struct MarkRepliedThreadsRead {
    pub thread_id: Vec<i64>,
    pub before_seq: Vec<i64>,
}

impl QueryFragment<Pg> for MarkRepliedThreadsRead {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("INSERT INTO client_reads (thread_id, up_to_seq) SELECT r.thread_id, r.before_seq - 1 FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.thread_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.before_seq)?;
        out.push_sql(
            ") AS r(thread_id, before_seq) ON CONFLICT (thread_id) DO UPDATE \
             SET up_to_seq = EXCLUDED.up_to_seq WHERE client_reads.up_to_seq < EXCLUDED.up_to_seq",
        );
        Ok(())
    }
}

/// Stores the batch's messages, one row per array index, in that order (so their ids follow
/// it): `INSERT INTO messages (...) SELECT * FROM unnest(...) RETURNING *`.
#[derive(Debug, Default)]
pub(crate) struct InsertMessages {
    pub thread_id: Vec<i64>,
    pub seq: Vec<i64>,
    pub sender_id: Vec<i64>,
    pub sender_role: Vec<&'static str>,
    pub body: Vec<String>,
    pub created_at_ms: Vec<i64>,
    pub is_read: Vec<bool>,
    pub client_message_id: Vec<Option<String>>,
    pub kind: Vec<&'static str>,
    pub is_system: Vec<bool>,
}

impl QueryFragment<Pg> for InsertMessages {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO messages (thread_id, seq, sender_id, sender_role, body, created_at_ms, \
             is_read, client_message_id, kind, is_system) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.thread_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.seq)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.sender_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.sender_role)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.body)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.created_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.is_read)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.client_message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.is_system)?;
        out.push_sql(") RETURNING ");
        messages::all_columns.walk_ast(out.reborrow())
    }
}

/// Writes back every thread the batch changed, whole (what the patches may change, and the
/// sequence counter and last activity the appends moved): one `UPDATE ... FROM unnest(...)`.
#[derive(Debug, Default)]
pub(crate) struct SaveThreads {
    pub id: Vec<i64>,
    pub status: Vec<String>,
    pub claim_agent_id: Vec<Option<i64>>,
    pub claim_until_ms: Vec<Option<i64>>,
    pub agent_id: Vec<Option<i64>>,
    pub waiting_since_ms: Vec<Option<i64>>,
    pub urgency_score: Vec<i64>,
    pub urgency_reasons: Vec<String>,
    pub rank_key: Vec<i64>,
    pub last_seq: Vec<i64>,
    pub last_activity_at_ms: Vec<i64>,
    pub resolutions: Vec<i64>,
}

impl QueryFragment<Pg> for SaveThreads {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE threads AS t SET status = v.status, claim_agent_id = v.claim_agent_id, \
             claim_until_ms = v.claim_until_ms, agent_id = v.agent_id, \
             waiting_since_ms = v.waiting_since_ms, urgency_score = v.urgency_score, \
             urgency_reasons = v.urgency_reasons, rank_key = v.rank_key, last_seq = v.last_seq, \
             last_activity_at_ms = v.last_activity_at_ms, resolutions = v.resolutions FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.claim_agent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.claim_until_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.agent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.waiting_since_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.urgency_score)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.urgency_reasons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.rank_key)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.last_seq)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.last_activity_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.resolutions)?;
        out.push_sql(
            ") AS v(id, status, claim_agent_id, claim_until_ms, agent_id, waiting_since_ms, \
             urgency_score, urgency_reasons, rank_key, last_seq, last_activity_at_ms, resolutions) \
             WHERE t.id = v.id",
        );
        Ok(())
    }
}

/// Records the batch's webhook events in the outbox, in order, and queues one pending delivery
/// per event and enabled endpoint subscribed to its type (notes only to endpoints with
/// `include_notes`): what `webhooks::record` does for one event, for all of them in one
/// statement. Nothing is recorded while no endpoint exists.
#[derive(Debug, Default)]
pub(crate) struct RecordEvents {
    pub event_type: Vec<&'static str>,
    pub thread_id: Vec<i64>,
    pub is_note: Vec<bool>,
    pub data: Vec<String>,
    pub created_at_ms: Vec<i64>,
}

fixed_statement!(RecordEvents);

impl RecordEvents {
    /// Adds `event` as the statement's next row.
    pub(crate) fn push(&mut self, event: &OutboxEvent) {
        self.event_type.push(event.event_type.as_str());
        self.thread_id.push(event.thread_id.0);
        self.is_note.push(event.is_note);
        self.data.push(event.data.to_string());
        self.created_at_ms.push(event.created_at.millis());
    }
}

impl QueryFragment<Pg> for RecordEvents {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH ev AS (INSERT INTO webhook_events \
             (event_type, thread_id, is_note, data, created_at_ms) \
             SELECT e.event_type, e.thread_id, e.is_note, e.data, e.created_at_ms FROM unnest(",
        );
        out.push_bind_param::<Array<Text>, _>(&self.event_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.thread_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Bool>, _>(&self.is_note)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.data)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.created_at_ms)?;
        out.push_sql(
            ") WITH ORDINALITY AS e(event_type, thread_id, is_note, data, created_at_ms, n) \
             WHERE EXISTS (SELECT 1 FROM webhook_endpoints) ORDER BY e.n \
             RETURNING id, event_type, thread_id, is_note, created_at_ms) \
             INSERT INTO webhook_deliveries \
             (endpoint_id, event_id, thread_id, state, attempts, next_attempt_at_ms, created_at_ms) \
             SELECT en.id, ev.id, ev.thread_id, 'pending', 0, ev.created_at_ms, ev.created_at_ms \
             FROM ev JOIN webhook_subscriptions s ON s.event_type = ev.event_type \
             JOIN webhook_endpoints en ON en.id = s.endpoint_id \
             WHERE en.enabled AND (NOT ev.is_note OR en.include_notes) ORDER BY ev.id, en.id",
        );
        Ok(())
    }
}

/// Starts the batch's new SLA clocks: one row per array index; a clock already running for the
/// same thread and kind (the partial unique index) is left as it is.
#[derive(Debug, Default)]
pub(crate) struct StartClocks {
    pub thread_id: Vec<i64>,
    pub thread_type: Vec<i16>,
    pub kind: Vec<&'static str>,
    pub track: Vec<&'static str>,
    pub started_at_ms: Vec<i64>,
    pub target_seconds: Vec<Option<i64>>,
    pub due_at_ms: Vec<Option<i64>>,
    pub at_risk_at_ms: Vec<Option<i64>>,
}

impl QueryFragment<Pg> for StartClocks {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO sla_clocks (thread_id, thread_type, kind, track, started_at_ms, \
             target_seconds, due_at_ms, at_risk_at_ms) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.thread_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SmallInt>, _>(&self.thread_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.track)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.started_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.target_seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.due_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.at_risk_at_ms)?;
        out.push_sql(") ON CONFLICT DO NOTHING");
        Ok(())
    }
}

/// Ends the batch's finished SLA clocks, each only if it still runs.
#[derive(Debug, Default)]
pub(crate) struct FinishClocks {
    pub id: Vec<i64>,
    pub ended_at_ms: Vec<i64>,
    pub seconds: Vec<Option<i64>>,
    pub met: Vec<Option<bool>>,
    pub agent_id: Vec<Option<i64>>,
}

impl QueryFragment<Pg> for FinishClocks {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "UPDATE sla_clocks AS c SET ended_at_ms = v.ended_at_ms, seconds = v.seconds, \
             met = v.met, agent_id = v.agent_id FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.ended_at_ms)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Bool>>, _>(&self.met)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<BigInt>>, _>(&self.agent_id)?;
        out.push_sql(
            ") AS v(id, ended_at_ms, seconds, met, agent_id) \
             WHERE c.id = v.id AND c.ended_at_ms IS NULL",
        );
        Ok(())
    }
}

/// Everything an accepted batch writes once its threads are locked, in ONE statement (one
/// round trip while the locks are held): its messages inserted (and read back), the read marks
/// of its agents' replies, its threads written back, and its clock changes, as data-modifying
/// `WITH` parts; each row read back also says whether any webhook endpoint exists (when none
/// does, the outbox has nothing to record and [`RecordEvents`] is skipped).
///
/// The parts run on one snapshot, so the returned rows cannot show the read marks beside them:
/// a client message of the batch that one of its replies answers is inserted read already.
/// Every part is always there (empty arrays change nothing), so the text never changes.
#[derive(Debug, Default)]
pub(crate) struct WriteAppends {
    pub insert: InsertMessages,
    pub mark_read: MarkRepliedThreadsRead,
    pub save: SaveThreads,
    pub starts: StartClocks,
    pub finishes: FinishClocks,
}

fixed_statement!(WriteAppends);

impl Query for WriteAppends {
    type SqlType = (SqlTypeOf<<messages::table as Table>::AllColumns>, Bool);
}

impl QueryFragment<Pg> for WriteAppends {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH ins AS (");
        self.insert.walk_ast(out.reborrow())?;
        out.push_sql("), marked AS (");
        self.mark_read.walk_ast(out.reborrow())?;
        out.push_sql("), saved AS (");
        self.save.walk_ast(out.reborrow())?;
        out.push_sql("), started AS (");
        self.starts.walk_ast(out.reborrow())?;
        out.push_sql("), finished AS (");
        self.finishes.walk_ast(out.reborrow())?;
        out.push_sql(") SELECT ins.*, EXISTS (SELECT 1 FROM webhook_endpoints) FROM ins");
        Ok(())
    }
}
