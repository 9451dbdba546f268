//! SLA clocks: conditional statements, so each end, breach and warning happens exactly once.

use chat_domain::ports::SlaStore;
use chat_domain::sla::{NewSlaClock, SlaClock, SlaEnd, SlaKind};
use chat_domain::thread::ThreadType;
use chat_domain::{DomainResult, ThreadId, Timestamp, UserId};
use diesel::prelude::*;

use chat_domain::sla::SlaChange;
use diesel::pg::PgConnection;
use diesel::sql_types::Bool;

use super::batch_statements::{FinishClocks, LiveClocks, StartClocks};
use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::{is_unique_violation, StoreError};
use crate::schema::sla_clocks;

/// A stored clock.
#[derive(Debug, Queryable)]
pub(crate) struct SlaClockRow {
    id: i64,
    thread_id: i64,
    thread_type: i16,
    kind: String,
    #[allow(dead_code)]
    track: String,
    started_at_ms: i64,
    target_seconds: Option<i64>,
    due_at_ms: Option<i64>,
    at_risk_at_ms: Option<i64>,
    warned_at_ms: Option<i64>,
    breached_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    agent_id: Option<i64>,
    seconds: Option<i64>,
    met: Option<bool>,
}

impl SlaClockRow {
    fn into_clock(self) -> Result<SlaClock, StoreError> {
        Ok(SlaClock {
            id: self.id,
            thread_id: ThreadId(self.thread_id),
            thread_type: ThreadType::from_code(i64::from(self.thread_type))?,
            kind: SlaKind::parse(&self.kind)?,
            started_at: Timestamp(self.started_at_ms),
            target_seconds: self.target_seconds,
            due_at: self.due_at_ms.map(Timestamp),
            at_risk_at: self.at_risk_at_ms.map(Timestamp),
            warned_at: self.warned_at_ms.map(Timestamp),
            breached_at: self.breached_at_ms.map(Timestamp),
            ended_at: self.ended_at_ms.map(Timestamp),
            agent_id: self.agent_id.map(UserId),
            seconds: self.seconds,
            met: self.met,
        })
    }
}

/// A clock to insert: what `start_sla_clock` and a batch's starts store.
#[derive(Debug, Insertable)]
#[diesel(table_name = sla_clocks)]
struct NewClockRow {
    thread_id: i64,
    thread_type: i16,
    kind: &'static str,
    track: &'static str,
    started_at_ms: i64,
    target_seconds: Option<i64>,
    due_at_ms: Option<i64>,
    at_risk_at_ms: Option<i64>,
}

impl From<&NewSlaClock> for NewClockRow {
    fn from(clock: &NewSlaClock) -> Self {
        NewClockRow {
            thread_id: clock.thread_id.0,
            thread_type: clock.thread_type.code(),
            kind: clock.kind.as_str(),
            track: clock.kind.track(),
            started_at_ms: clock.started_at.millis(),
            target_seconds: clock.target_seconds,
            due_at_ms: clock.due_at.map(Timestamp::millis),
            at_risk_at_ms: clock.at_risk_at.map(Timestamp::millis),
        }
    }
}

fn into_clocks(rows: Vec<SlaClockRow>) -> Result<Vec<SlaClock>, StoreError> {
    rows.into_iter().map(SlaClockRow::into_clock).collect()
}

/// The running clocks and the first-response clocks of these threads: what an append's SLA
/// decision reads ([`chat_domain::sla::SlaPolicy::after_message`]). Only inside the batch's
/// transaction: its plan is made there once per connection, with sequential scans off (see
/// [`LiveClocks`]). Before, it was planned on every call (0.2 ms a plan, a tenth of a core at
/// 1,000 sends/s), because a cached plan made while the table was small had kept scanning
/// every clock once it was not (2.2 ms a read instead of 0.1 in a fan-out bench).
pub(crate) fn live_clocks(
    pg: &mut PgConnection,
    threads: Vec<i64>,
) -> Result<Vec<SlaClock>, StoreError> {
    let rows = LiveClocks { threads }.load::<SlaClockRow>(pg)?;
    into_clocks(rows)
}

/// The `Start`s of `changes` as one statement's rows; a clock whose thread already runs one of
/// its track is skipped (the unique index of running clocks), as `start_sla_clock` does.
pub(crate) fn clock_starts(changes: &[SlaChange]) -> StartClocks {
    let mut starts = StartClocks::default();
    for change in changes {
        if let SlaChange::Start(clock) = change {
            let row = NewClockRow::from(clock);
            starts.thread_id.push(row.thread_id);
            starts.thread_type.push(row.thread_type);
            starts.kind.push(row.kind);
            starts.track.push(row.track);
            starts.started_at_ms.push(row.started_at_ms);
            starts.target_seconds.push(row.target_seconds);
            starts.due_at_ms.push(row.due_at_ms);
            starts.at_risk_at_ms.push(row.at_risk_at_ms);
        }
    }
    starts
}

/// The `Finish`es of `changes` as one statement's rows, in clock id order: each clock ends only
/// if it still runs (as `finish_sla_clock` does).
pub(crate) fn clock_finishes(changes: &[SlaChange]) -> FinishClocks {
    let mut ends: Vec<_> = changes
        .iter()
        .filter_map(|change| match change {
            SlaChange::Finish { clock, end, agent } => Some((*clock, *end, *agent)),
            SlaChange::Start(_) => None,
        })
        .collect();
    ends.sort_unstable_by_key(|(id, _, _)| *id);
    FinishClocks {
        id: ends.iter().map(|(id, _, _)| *id).collect(),
        ended_at_ms: ends
            .iter()
            .map(|(_, end, _)| end.ended_at.millis())
            .collect(),
        seconds: ends.iter().map(|(_, end, _)| end.seconds).collect(),
        met: ends.iter().map(|(_, end, _)| end.met).collect(),
        agent_id: ends.iter().map(|(_, _, a)| a.map(|a| a.0)).collect(),
    }
}

/// Whether this transaction may sweep the clocks. On Postgres one instance sweeps at a time: a
/// transaction-scoped advisory lock, and an instance that does not get it skips this sweep
/// (the holder's update takes every clock due by its own instant; the rest wait for the next
/// sweep) instead of waiting on the holder's row locks only to find those clocks handled.
/// SQLite's write lock serialises sweeps already.
fn sweep_turn(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let DbConnection::Postgresql(pg) = conn else {
        return Ok(true);
    };
    let turn =
        diesel::sql_query("SELECT pg_try_advisory_xact_lock(hashtext('sla_sweep')) AS taken")
            .get_result::<SweepTurn>(pg)?;
    Ok(turn.taken)
}

#[derive(QueryableByName)]
struct SweepTurn {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

impl SlaStore for SqlStore {
    fn start_sla_clock(&self, clock: NewSlaClock) -> DomainResult<Option<SlaClock>> {
        self.run(|conn| {
            let inserted = diesel::insert_into(sla_clocks::table)
                .values(NewClockRow::from(&clock))
                .returning(sla_clocks::all_columns)
                .get_result::<SlaClockRow>(conn);
            match inserted {
                Ok(row) => Ok(Some(row.into_clock()?)),
                Err(err) if is_unique_violation(&err) => Ok(None),
                Err(err) => Err(err.into()),
            }
        })
    }

    fn sla_clocks(&self, threads: &[ThreadId]) -> DomainResult<Vec<SlaClock>> {
        let ids: Vec<i64> = threads.iter().map(|t| t.0).collect();
        self.run(|conn| {
            let query = sla_clocks::table
                .order((sla_clocks::started_at_ms, sla_clocks::id))
                .select(sla_clocks::all_columns)
                .into_boxed();
            // One thread (every message's SLA step) compares with `=`: Postgres's generic plan
            // for `= ANY($1)` guesses ten threads, and a plan cached while the table was small
            // stayed a sequential scan of every clock (100M rows read in a 30 s bench).
            let query = match ids.as_slice() {
                [id] => query.filter(sla_clocks::thread_id.eq(*id)),
                _ => query.filter(sla_clocks::thread_id.eq_any(&ids)),
            };
            into_clocks(query.load::<SlaClockRow>(conn)?)
        })
    }

    fn finish_sla_clock(&self, id: i64, end: SlaEnd, agent: Option<UserId>) -> DomainResult<bool> {
        self.run(|conn| {
            let changed = diesel::update(
                sla_clocks::table
                    .filter(sla_clocks::id.eq(id))
                    .filter(sla_clocks::ended_at_ms.is_null()),
            )
            .set((
                sla_clocks::ended_at_ms.eq(Some(end.ended_at.millis())),
                sla_clocks::seconds.eq(end.seconds),
                sla_clocks::met.eq(end.met),
                sla_clocks::agent_id.eq(agent.map(|a| a.0)),
            ))
            .execute(conn)?;
            Ok(changed == 1)
        })
    }

    fn breach_due_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>> {
        self.write(|conn| {
            if !sweep_turn(conn)? {
                return Ok(Vec::new());
            }
            let rows = diesel::update(
                sla_clocks::table
                    .filter(sla_clocks::ended_at_ms.is_null())
                    .filter(sla_clocks::breached_at_ms.is_null())
                    .filter(sla_clocks::due_at_ms.le(now.millis())),
            )
            .set(sla_clocks::breached_at_ms.eq(Some(now.millis())))
            .returning(sla_clocks::all_columns)
            .load::<SlaClockRow>(conn)?;
            let clocks = into_clocks(rows)?;
            let events: Vec<_> = clocks
                .iter()
                .map(|clock| chat_domain::webhook::OutboxEvent::sla_breached(clock, now))
                .collect();
            super::webhooks::record_all(conn, &events)?;
            Ok(clocks)
        })
    }

    fn warn_at_risk_clocks(&self, now: Timestamp) -> DomainResult<Vec<SlaClock>> {
        self.write(|conn| {
            if !sweep_turn(conn)? {
                return Ok(Vec::new());
            }
            let rows = diesel::update(
                sla_clocks::table
                    .filter(sla_clocks::ended_at_ms.is_null())
                    .filter(sla_clocks::warned_at_ms.is_null())
                    .filter(sla_clocks::at_risk_at_ms.le(now.millis())),
            )
            .set(sla_clocks::warned_at_ms.eq(Some(now.millis())))
            .returning(sla_clocks::all_columns)
            .load::<SlaClockRow>(conn)?;
            into_clocks(rows)
        })
    }
}
