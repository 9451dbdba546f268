//! Availability, capacity, the routing mode and automatic assignment.
//!
//! Assignment is enforced by the database, with row locks in one fixed order (the agent's
//! `users` row, then the thread's row) and a conditional `UPDATE` whose condition re-counts the
//! agent's held conversations against its capacity:
//! 1. the candidate agent is chosen and its row locked (Postgres: `FOR UPDATE OF u SKIP
//!    LOCKED`, so concurrent routers take different agents instead of queueing on one);
//! 2. the queue's head is taken with `FOR UPDATE SKIP LOCKED` (a thread another router or an
//!    append holds is passed over);
//! 3. the claim is written by an `UPDATE` that holds only if the thread is still waiting and
//!    unclaimed and the agent is online with fewer live claims than its capacity. Every
//!    assignment (and checked transfer) to an agent holds that agent's row lock until it
//!    commits, so in READ COMMITTED this fresh statement, run after the lock was granted,
//!    counts every one of them.
//!
//! On SQLite the write transaction's `BEGIN IMMEDIATE` serialises all of it (no `FOR UPDATE`
//! there). The statements are fixed text with `?` binds, numbered `$n` for Postgres.

use chat_domain::claim::{Claim, ExpiredClaim};
use chat_domain::ports::RoutingStore;
use chat_domain::routing::{
    check_capacity, AgentState, Assignment, Availability, RoutingMode, TransferCheck, Transferred,
};
use chat_domain::thread::ThreadStatus;
use chat_domain::webhook::OutboxEvent;
use chat_domain::{Conflict, DomainError, DomainResult, ThreadId, Timestamp, UserId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::constant::NotResolved;
use super::threads::lock_thread;
use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{routing_settings, threads, users};

/// How often an assignment retries when its conditional update found the agent or the thread
/// changed under it (each retry means another caller made progress).
const RACE_RETRIES: usize = 16;

/// `sql` with each `?` numbered `$1, $2, ...` on Postgres; as is on SQLite.
pub(crate) fn text(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.to_owned(),
        DbConnection::Postgresql(_) => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// The row-lock clause a `SELECT` takes on Postgres (none on SQLite: the transaction holds the
/// database's write lock).
pub(crate) fn lock_clause(conn: &DbConnection, clause: &'static str) -> &'static str {
    match conn {
        DbConnection::Postgresql(_) => clause,
        DbConnection::Sqlite(_) => "",
    }
}

/// Staff: active agents and admins.
const STAFF: &str = "u.role IN ('agent', 'admin') AND u.deleted_at_ms IS NULL";

/// An agent's live claims at `?` (now): bound as (agent, now) by the caller's text.
const HELD: &str =
    "(SELECT COUNT(*) FROM threads c WHERE c.claim_agent_id = u.id AND c.claim_until_ms > ?)";

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    availability: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    capacity: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    availability_changed_at_ms: Option<i64>,
    #[diesel(sql_type = BigInt)]
    held: i64,
}

impl StateRow {
    fn into_state(self) -> Result<AgentState, StoreError> {
        let corrupt = |e: DomainError| {
            StoreError::Domain(DomainError::internal(format!("stored routing state: {e}")))
        };
        Ok(AgentState {
            agent_id: UserId(self.id),
            username: self.username,
            availability: Availability::parse(&self.availability).map_err(corrupt)?,
            capacity: self
                .capacity
                .map(check_capacity)
                .transpose()
                .map_err(corrupt)?,
            held: u32::try_from(self.held).unwrap_or(u32::MAX),
            availability_changed_at: self.availability_changed_at_ms.map(Timestamp),
        })
    }
}

/// Staff's states (one, when `only` is given), by id.
fn load_states(
    conn: &mut DbConnection,
    now: Timestamp,
    only: Option<UserId>,
) -> Result<Vec<AgentState>, StoreError> {
    let filter = if only.is_some() { " AND u.id = ?" } else { "" };
    let sql = text(
        conn,
        &format!(
            "SELECT u.id, u.username, u.availability, u.capacity, \
             u.availability_changed_at_ms, {HELD} AS held \
             FROM users u WHERE {STAFF}{filter} ORDER BY u.id"
        ),
    );
    let query = diesel::sql_query(sql).bind::<BigInt, _>(now.millis());
    let rows: Vec<StateRow> = match only {
        Some(id) => query.bind::<BigInt, _>(id.0).load(conn)?,
        None => query.load(conn)?,
    };
    rows.into_iter().map(StateRow::into_state).collect()
}

fn load_state(
    conn: &mut DbConnection,
    now: Timestamp,
    id: UserId,
) -> Result<Option<AgentState>, StoreError> {
    Ok(load_states(conn, now, Some(id))?.into_iter().next())
}

/// Locks a staff member's `users` row until the transaction ends (a no-op `UPDATE`) and reads
/// their availability; `None` if there is no such staff member.
fn lock_staff(conn: &mut DbConnection, id: UserId) -> Result<Option<String>, StoreError> {
    Ok(diesel::update(users::table.find(id.0))
        .filter(users::role.eq_any(["agent", "admin"]))
        .filter(users::deleted_at_ms.is_null())
        .set(users::availability.eq(users::availability))
        .returning(users::availability)
        .get_result::<String>(conn)
        .optional()?)
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The online staff member with the fewest held conversations and room for another (ties: the
/// oldest last assignment, never assigned first, then the lowest id), its row locked.
fn lock_candidate(
    conn: &mut DbConnection,
    now: Timestamp,
    default_capacity: u32,
) -> Result<Option<Candidate>, StoreError> {
    let lock = lock_clause(conn, " FOR UPDATE OF u SKIP LOCKED");
    let sql = text(
        conn,
        &format!(
            "SELECT u.id, u.username FROM users u \
             WHERE {STAFF} AND u.availability = 'online' \
             AND {HELD} < COALESCE(u.capacity, ?) \
             ORDER BY {HELD} ASC, u.last_assigned_at_ms ASC NULLS FIRST, u.id ASC \
             LIMIT 1{lock}"
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(now.millis())
        .bind::<BigInt, _>(i64::from(default_capacity))
        .bind::<BigInt, _>(now.millis())
        .get_result::<Candidate>(conn)
        .optional()?)
}

/// The queue's head at `now` (`ThreadStore::queue`'s order), its row locked; threads whose row
/// another transaction holds are passed over on Postgres.
fn lock_queue_head(conn: &mut DbConnection, now: Timestamp) -> Result<Option<i64>, StoreError> {
    let lock = lock_clause(conn, " FOR UPDATE SKIP LOCKED");
    let sql = text(
        conn,
        &format!(
            "SELECT id FROM threads WHERE status <> 'resolved' \
             AND waiting_since_ms IS NOT NULL \
             AND (claim_until_ms IS NULL OR claim_until_ms <= ?) \
             ORDER BY rank_key DESC, waiting_since_ms ASC, id ASC LIMIT 1{lock}"
        ),
    );
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(now.millis())
        .get_result::<Id>(conn)
        .optional()?
        .map(|r| r.id))
}

#[derive(QueryableByName)]
struct Room {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    room: bool,
}

/// Whether the agent (its row locked by this transaction) has room for another conversation,
/// counted by a statement of its own: the candidate's count came from the snapshot of the
/// statement that locked it, and an assignment to the same agent committed meanwhile is seen
/// only now.
fn has_room(
    conn: &mut DbConnection,
    agent: i64,
    now: Timestamp,
    default_capacity: u32,
) -> Result<bool, StoreError> {
    let sql = text(
        conn,
        &format!("SELECT {HELD} < COALESCE(u.capacity, ?) AS room FROM users u WHERE u.id = ?"),
    );
    Ok(diesel::sql_query(sql)
        .bind::<BigInt, _>(now.millis())
        .bind::<BigInt, _>(i64::from(default_capacity))
        .bind::<BigInt, _>(agent)
        .get_result::<Room>(conn)
        .optional()?
        .is_some_and(|r| r.room))
}

/// The claim, written only if the thread still waits unclaimed and the agent is online with
/// fewer live claims than its capacity, counted by this very statement. True if written.
fn claim_if_room(
    conn: &mut DbConnection,
    thread: i64,
    agent: i64,
    until: Timestamp,
    now: Timestamp,
    default_capacity: u32,
) -> Result<bool, StoreError> {
    let sql = text(
        conn,
        "UPDATE threads SET claim_agent_id = ?, claim_until_ms = ?, agent_id = ? \
         WHERE id = ? AND status <> 'resolved' AND waiting_since_ms IS NOT NULL \
         AND (claim_until_ms IS NULL OR claim_until_ms <= ?) \
         AND (SELECT COUNT(*) FROM threads c WHERE c.claim_agent_id = ? AND c.claim_until_ms > ?) \
           < (SELECT COALESCE(u.capacity, ?) FROM users u WHERE u.id = ? \
              AND u.availability = 'online' AND u.deleted_at_ms IS NULL)",
    );
    let changed = diesel::sql_query(sql)
        .bind::<BigInt, _>(agent)
        .bind::<BigInt, _>(until.millis())
        .bind::<BigInt, _>(agent)
        .bind::<BigInt, _>(thread)
        .bind::<BigInt, _>(now.millis())
        .bind::<BigInt, _>(agent)
        .bind::<BigInt, _>(now.millis())
        .bind::<BigInt, _>(i64::from(default_capacity))
        .bind::<BigInt, _>(agent)
        .execute(conn)?;
    Ok(changed == 1)
}

/// One assignment attempt in a write transaction: `Ok(None)` nothing to do, `Err(Retry)` lost
/// a race (roll back and try again).
enum Attempt {
    Done(Option<Assignment>),
    Retry,
}

fn try_assign(
    conn: &mut DbConnection,
    now: Timestamp,
    until: Timestamp,
    default_capacity: u32,
) -> Result<Attempt, StoreError> {
    let Some(agent) = lock_candidate(conn, now, default_capacity)? else {
        return Ok(Attempt::Done(None));
    };
    // Before locking the queue's head: a head locked by an attempt that then finds the agent
    // full is passed over by the other instances (`SKIP LOCKED`), and a less urgent
    // conversation would be assigned first.
    if !has_room(conn, agent.id, now, default_capacity)? {
        return Ok(Attempt::Retry);
    }
    let Some(thread) = lock_queue_head(conn, now)? else {
        return Ok(Attempt::Done(None));
    };
    if !claim_if_room(conn, thread, agent.id, until, now, default_capacity)? {
        return Ok(Attempt::Retry);
    }
    diesel::update(users::table.find(agent.id))
        .set(users::last_assigned_at_ms.eq(now.millis()))
        .execute(conn)?;
    super::webhooks::record(
        conn,
        &OutboxEvent::thread_assigned(ThreadId(thread), UserId(agent.id), until, "auto", now),
    )?;
    Ok(Attempt::Done(Some(Assignment {
        thread_id: ThreadId(thread),
        agent_id: UserId(agent.id),
        agent_username: agent.username,
        until,
    })))
}

impl RoutingStore for SqlStore {
    fn set_availability(
        &self,
        agent: UserId,
        availability: Availability,
        now: Timestamp,
    ) -> DomainResult<Option<(AgentState, bool)>> {
        self.write(|conn| {
            let Some(current) = lock_staff(conn, agent)? else {
                return Ok(None);
            };
            let changed = current != availability.as_str();
            if changed {
                diesel::update(users::table.find(agent.0))
                    .set((
                        users::availability.eq(availability.as_str()),
                        users::availability_changed_at_ms.eq(now.millis()),
                    ))
                    .execute(conn)?;
            }
            Ok(load_state(conn, now, agent)?.map(|s| (s, changed)))
        })
    }

    fn set_capacity(
        &self,
        agent: UserId,
        capacity: Option<u32>,
        now: Timestamp,
    ) -> DomainResult<Option<AgentState>> {
        self.write(|conn| {
            if lock_staff(conn, agent)?.is_none() {
                return Ok(None);
            }
            diesel::update(users::table.find(agent.0))
                .set(users::capacity.eq(capacity.map(i64::from)))
                .execute(conn)?;
            load_state(conn, now, agent)
        })
    }

    fn agent_states(&self, now: Timestamp) -> DomainResult<Vec<AgentState>> {
        self.run(|conn| load_states(conn, now, None))
    }

    fn routing_mode(&self) -> DomainResult<Option<RoutingMode>> {
        self.run(|conn| {
            let mode: Option<Option<String>> = routing_settings::table
                .find(1)
                .select(routing_settings::mode)
                .first(conn)
                .optional()?;
            mode.flatten()
                .map(|m| {
                    RoutingMode::parse(&m).map_err(|e| {
                        StoreError::Domain(DomainError::internal(format!("stored mode: {e}")))
                    })
                })
                .transpose()
        })
    }

    fn set_routing_mode(&self, mode: RoutingMode) -> DomainResult<()> {
        self.run(|conn| {
            diesel::update(routing_settings::table.find(1))
                .set(routing_settings::mode.eq(mode.as_str()))
                .execute(conn)?;
            Ok(())
        })
    }

    fn assign_next(
        &self,
        now: Timestamp,
        until: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Option<Assignment>> {
        for _ in 0..RACE_RETRIES {
            let attempt = self.write(|conn| {
                match try_assign(conn, now, until, default_capacity)? {
                    // Roll the locks back: nothing was written.
                    Attempt::Retry => Err(StoreError::Domain(DomainError::Conflict(
                        Conflict::AgentUnavailable,
                    ))),
                    done => Ok(done),
                }
            });
            match attempt {
                Ok(Attempt::Done(assigned)) => return Ok(assigned),
                Ok(Attempt::Retry) | Err(DomainError::Conflict(Conflict::AgentUnavailable)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(DomainError::unavailable(
            "could not assign: too much contention",
        ))
    }

    fn transfer_claim(
        &self,
        thread: ThreadId,
        from: Option<UserId>,
        to: Option<UserId>,
        check: TransferCheck,
        until: Timestamp,
        now: Timestamp,
        default_capacity: u32,
    ) -> DomainResult<Transferred> {
        self.write(|conn| {
            // Agent row first, then the thread's: the assignment's lock order.
            if let Some(to) = to {
                if lock_staff(conn, to)?.is_none() {
                    return Err(DomainError::NotFound("agent").into());
                }
            }
            let row = lock_thread(conn, thread)?;
            let rank_key = row.rank_key;
            let current = row.to_thread()?;
            if current.status == ThreadStatus::Resolved {
                return Err(DomainError::Conflict(Conflict::ThreadResolved).into());
            }
            let previous = current.live_claim(now).copied();
            if let Some(from) = from {
                match previous {
                    Some(c) if c.agent_id == from => {}
                    Some(c) => {
                        return Err(DomainError::Claimed {
                            thread,
                            holder: c.agent_id,
                            until: c.until,
                        }
                        .into())
                    }
                    None => return Err(DomainError::Conflict(Conflict::NotClaimHolder).into()),
                }
            }
            if let Some(to) = to {
                let own = previous.is_some_and(|c| c.agent_id == to);
                if check == TransferCheck::OnlineWithRoom && !own {
                    // A fresh read under the receiver's row lock: every assignment to them
                    // holds that lock until it commits, so the count is current.
                    let state = load_state(conn, now, to)?.ok_or(DomainError::NotFound("agent"))?;
                    let capacity = state.capacity.unwrap_or(default_capacity);
                    if state.availability != Availability::Online || state.held >= capacity {
                        return Err(DomainError::Conflict(Conflict::AgentUnavailable).into());
                    }
                }
            }
            let mut updated = current;
            match to {
                Some(to) => {
                    updated.claim = Some(Claim {
                        agent_id: to,
                        until,
                    });
                    updated.agent_id = Some(to);
                }
                None => updated.claim = None,
            }
            super::threads::save_thread(conn, &updated, rank_key)?;
            super::webhooks::record(
                conn,
                &OutboxEvent::thread_transferred(thread, previous.map(|c| c.agent_id), to, now),
            )?;
            Ok(Transferred {
                thread_id: thread,
                from: previous.map(|c| c.agent_id),
                to,
                until: to.map(|_| until),
            })
        })
    }

    fn renew_claims_of(
        &self,
        agents: &[UserId],
        until: Timestamp,
        now: Timestamp,
        due: Timestamp,
    ) -> DomainResult<Vec<(ThreadId, UserId)>> {
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = agents.iter().map(|a| a.0).collect();
        self.run(|conn| {
            let renewed: Vec<(i64, Option<i64>)> = diesel::update(threads::table)
                .filter(threads::claim_agent_id.eq_any(&ids))
                .filter(threads::claim_until_ms.gt(now.millis()))
                .filter(threads::claim_until_ms.le(due.millis()))
                .filter(NotResolved)
                .set(threads::claim_until_ms.eq(until.millis()))
                .returning((threads::id, threads::claim_agent_id))
                .get_results(conn)?;
            Ok(renewed
                .into_iter()
                .filter_map(|(t, a)| a.map(|a| (ThreadId(t), UserId(a))))
                .collect())
        })
    }

    fn release_claims_of_offline(
        &self,
        offline_since: Timestamp,
    ) -> DomainResult<Vec<ExpiredClaim>> {
        self.write(|conn| {
            let held: Vec<(i64, Option<i64>, Option<i64>)> = threads::table
                .inner_join(users::table.on(threads::claim_agent_id.eq(users::id.nullable())))
                .filter(users::availability.eq("offline"))
                .filter(users::availability_changed_at_ms.le(offline_since.millis()))
                .select((
                    threads::id,
                    threads::claim_agent_id,
                    threads::claim_until_ms,
                ))
                .load(conn)?;
            super::threads::clear_claims(conn, held)
        })
    }
}
