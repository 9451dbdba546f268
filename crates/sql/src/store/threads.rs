//! Threads, claims and the queue.

use chat_domain::claim::{Claim, ClaimAttempt, ClaimMode, ExpiredClaim};
use chat_domain::inbox::{ActivityCursor, Assignee, ThreadFilter};
use chat_domain::ports::ThreadStore;
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::user::{User, Username};
use chat_domain::webhook::OutboxEvent;
use chat_domain::{Conflict, DomainError, DomainResult, ThreadId, Timestamp, UserId};
use diesel::prelude::*;

use super::constant::NotResolved;
use super::SqlStore;
use crate::connection::MultiBackend;
use crate::connection::{on_concrete, write_transaction, DbConnection};
use crate::error::{conflict_if_unique, is_unique_violation, StoreError};
use crate::rows::{into_threads, reasons_json, NewThreadRow, ThreadRow, UserRow};
use crate::schema::{messages, thread_labels, threads, users};
use crate::store::users::{like_escaped, lower};
use diesel::dsl::exists;
use std::collections::BTreeMap;

/// How often `open_thread` and `try_claim` retry when the row changed under them between their
/// write and their read (each retry means another caller made progress).
const RACE_RETRIES: usize = 16;

/// Locks a thread's row for the rest of the write transaction and reads it: an `UPDATE` that
/// changes nothing takes the row lock on Postgres (and sees the latest committed version);
/// SQLite's `BEGIN IMMEDIATE` already holds the database's write lock. NotFound if there is no
/// such thread.
pub(crate) fn lock_thread(conn: &mut DbConnection, id: ThreadId) -> Result<ThreadRow, StoreError> {
    diesel::update(threads::table.find(id.0))
        .set(threads::last_seq.eq(threads::last_seq))
        .returning(threads::all_columns)
        .get_result::<ThreadRow>(conn)
        .optional()?
        .ok_or_else(thread_not_found)
}

/// Locks a thread's row for the rest of the write transaction, like [`lock_thread`], without
/// reading it; false if there is no such thread.
pub(crate) fn lock_thread_if_exists(
    conn: &mut DbConnection,
    id: ThreadId,
) -> Result<bool, StoreError> {
    let locked = diesel::update(threads::table.find(id.0))
        .set(threads::last_seq.eq(threads::last_seq))
        .execute(conn)?;
    Ok(locked == 1)
}

/// NotFound("thread").
pub(crate) fn thread_not_found() -> StoreError {
    StoreError::Domain(DomainError::NotFound("thread"))
}

/// Writes a thread back whole. Reopening a resolved thread while the client has another
/// unresolved thread of its type violates the partial unique index: that is a Conflict.
pub(crate) fn save_thread(
    conn: &mut DbConnection,
    thread: &Thread,
    rank_key: i64,
) -> Result<(), StoreError> {
    diesel::update(threads::table.find(thread.id.0))
        .set(&ThreadRow::new(thread, rank_key)?)
        .execute(conn)
        .map_err(|e| conflict_if_unique(e, Conflict::OpenThreadExists))?;
    Ok(())
}

fn thread_row(conn: &mut DbConnection, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
    Ok(threads::table
        .find(id.0)
        .select(ThreadRow::as_select())
        .first(conn)
        .optional()?)
}

/// Overwrites one thread's urgency and rank key; how many rows changed (0: no such thread).
fn write_urgency(
    conn: &mut DbConnection,
    thread: ThreadId,
    urgency: &Urgency,
    rank_key: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::update(threads::table.find(thread.0))
        .set((
            threads::urgency_score.eq(urgency.score),
            threads::urgency_reasons.eq(reasons_json(urgency)?),
            threads::rank_key.eq(rank_key),
        ))
        .execute(conn)?)
}

/// `set_urgencies` on Postgres: one statement (and one round trip) however many threads, where
/// a statement per thread cost a round trip and a plan each (2,700 in 30 s of a 101,000-socket
/// bench, when the setup's clocks came at risk). It locks the rows first, in id order, as the
/// batch's `LockThreads` does, so the two never wait for each other in a cycle.
fn write_urgencies(
    pg: &mut diesel::pg::PgConnection,
    changes: &BTreeMap<i64, (&Urgency, i64)>,
) -> Result<u64, StoreError> {
    use diesel::sql_types::{Array, BigInt, Text};
    let mut ids = Vec::with_capacity(changes.len());
    let mut scores = Vec::with_capacity(changes.len());
    let mut reasons = Vec::with_capacity(changes.len());
    let mut ranks = Vec::with_capacity(changes.len());
    for (id, (urgency, rank_key)) in changes {
        ids.push(*id);
        scores.push(urgency.score);
        reasons.push(reasons_json(urgency)?);
        ranks.push(*rank_key);
    }
    let changed = diesel::sql_query(
        "WITH locked AS (SELECT id FROM threads WHERE id = ANY($1) ORDER BY id FOR UPDATE) \
         UPDATE threads AS t SET urgency_score = v.score, urgency_reasons = v.reasons, \
         rank_key = v.rank_key \
         FROM unnest($1, $2, $3, $4) AS v(id, score, reasons, rank_key) \
         WHERE t.id = v.id AND t.id IN (SELECT id FROM locked)",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .bind::<Array<BigInt>, _>(&scores)
    .bind::<Array<Text>, _>(&reasons)
    .bind::<Array<BigInt>, _>(&ranks)
    .execute(pg)?;
    Ok(changed as u64)
}

/// The thread, or NotFound.
fn existing_thread(conn: &mut DbConnection, id: ThreadId) -> Result<Thread, StoreError> {
    thread_row(conn, id)?
        .ok_or_else(thread_not_found)?
        .to_thread()
}

impl ThreadStore for SqlStore {
    fn open_thread(
        &self,
        client: UserId,
        thread_type: ThreadType,
        now: Timestamp,
    ) -> DomainResult<Thread> {
        self.run(|conn| {
            for _ in 0..RACE_RETRIES {
                let open = threads::table
                    .filter(threads::client_id.eq(client.0))
                    .filter(threads::thread_type.eq(thread_type.code()))
                    .filter(NotResolved)
                    .select(ThreadRow::as_select())
                    .first(conn)
                    .optional()?;
                if let Some(row) = open {
                    return row.to_thread();
                }
                // The partial unique index makes the insert fail if another caller opened one
                // meanwhile; then the next round reads that one.
                let opened = write_transaction(conn, |conn| {
                    let row = diesel::insert_into(threads::table)
                        .values(NewThreadRow::new(client, thread_type, now))
                        .returning(threads::all_columns)
                        .get_result::<ThreadRow>(conn)?;
                    let thread = row.to_thread()?;
                    super::webhooks::record(conn, &OutboxEvent::thread_opened(&thread))?;
                    Ok(thread)
                });
                match opened {
                    Ok(thread) => return Ok(thread),
                    Err(StoreError::Db(e)) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(DomainError::unavailable("could not open a thread: too much contention").into())
        })
    }

    fn user_with_open_thread(
        &self,
        username: &str,
        thread_type: ThreadType,
    ) -> DomainResult<Option<(User, Option<Thread>)>> {
        let Ok(name) = Username::parse(username) else {
            return Ok(None);
        };
        self.run(|conn| {
            let found = on_concrete!(conn, c => users::table
                .left_join(
                    threads::table.on(threads::client_id
                        .eq(users::id)
                        .and(threads::thread_type.eq(thread_type.code()))
                        .and(NotResolved)),
                )
                .filter(users::username.eq(name.as_str()))
                .select((UserRow::as_select(), Option::<ThreadRow>::as_select()))
                .first::<(UserRow, Option<ThreadRow>)>(c)
                .optional()?);
            let Some((user, thread)) = found else {
                return Ok(None);
            };
            let thread = thread.map(|t| t.to_thread()).transpose()?;
            Ok(Some((user.into_user()?, thread)))
        })
    }

    fn thread_by_id(&self, id: ThreadId) -> DomainResult<Option<Thread>> {
        self.run(|conn| thread_row(conn, id)?.map(|r| r.to_thread()).transpose())
    }

    fn threads_of_client(&self, client: UserId) -> DomainResult<Vec<Thread>> {
        self.run(|conn| {
            let rows = threads::table
                .filter(threads::client_id.eq(client.0))
                .order((threads::last_activity_at_ms.desc(), threads::id.desc()))
                .select(ThreadRow::as_select())
                .load(conn)?;
            into_threads(rows)
        })
    }

    fn try_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<ClaimAttempt> {
        self.write(|conn| {
            let renewal = thread_row(conn, thread)?.is_some_and(|r| {
                r.claim_agent_id == Some(agent.0)
                    && r.claim_until_ms.is_some_and(|u| u > now.millis())
            });
            for _ in 0..RACE_RETRIES {
                // The one conditional step: of concurrent attempts on a free thread, the
                // database lets exactly one update the row.
                let won = diesel::update(threads::table.find(thread.0))
                    .filter(NotResolved)
                    .filter(
                        threads::claim_agent_id
                            .is_null()
                            .or(threads::claim_until_ms.le(now.millis()))
                            .or(threads::claim_agent_id.eq(agent.0)),
                    )
                    .set((
                        threads::claim_agent_id.eq(agent.0),
                        threads::claim_until_ms.eq(until.millis()),
                        threads::agent_id.eq(agent.0),
                    ))
                    .execute(conn)?;
                if won == 1 {
                    if !renewal {
                        super::webhooks::record(
                            conn,
                            &OutboxEvent::thread_assigned(thread, agent, until, "claim", now),
                        )?;
                    }
                    return Ok(ClaimAttempt::Won(Claim {
                        agent_id: agent,
                        until,
                    }));
                }
                // Lost: say why, from the row as it is now (the rule the update's condition
                // is written from).
                let current = existing_thread(conn, thread)?;
                match current.on_claim(agent, until, now, ClaimMode::Take) {
                    // Released or reopened in between: try again.
                    Ok(_) => {}
                    Err(DomainError::Claimed { holder, until, .. }) => {
                        return Ok(ClaimAttempt::Held(Claim {
                            agent_id: holder,
                            until,
                        }))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(DomainError::unavailable("could not claim: too much contention").into())
        })
    }

    fn renew_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<bool> {
        self.run(|conn| {
            let renewed = diesel::update(threads::table.find(thread.0))
                .filter(threads::claim_agent_id.eq(agent.0))
                .filter(threads::claim_until_ms.gt(now.millis()))
                .set(threads::claim_until_ms.eq(until.millis()))
                .execute(conn)?;
            if renewed == 0 {
                existing_thread(conn, thread)?;
            }
            Ok(renewed == 1)
        })
    }

    fn release_claim(&self, thread: ThreadId, agent: UserId) -> DomainResult<bool> {
        self.run(|conn| {
            let released = diesel::update(threads::table.find(thread.0))
                .filter(threads::claim_agent_id.eq(agent.0))
                .set((
                    threads::claim_agent_id.eq(None::<i64>),
                    threads::claim_until_ms.eq(None::<i64>),
                ))
                .execute(conn)?;
            if released == 0 {
                existing_thread(conn, thread)?;
            }
            Ok(released == 1)
        })
    }

    fn force_claim(
        &self,
        thread: ThreadId,
        agent: UserId,
        until: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<Claim>> {
        self.write(|conn| {
            let row = lock_thread(conn, thread)?;
            let mut current = row.to_thread()?;
            let patch = current.on_claim(agent, until, now, ClaimMode::TakeOver)?;
            let previous = current.live_claim(now).copied();
            let rank_key = patch.rank_key.unwrap_or(row.rank_key);
            current.apply(patch);
            save_thread(conn, &current, rank_key)?;
            super::webhooks::record(
                conn,
                &OutboxEvent::thread_assigned(thread, agent, until, "take_over", now),
            )?;
            Ok(previous)
        })
    }

    fn expire_claims(&self, now: Timestamp) -> DomainResult<Vec<ExpiredClaim>> {
        self.write(|conn| {
            let ended: Vec<(i64, Option<i64>, Option<i64>)> = threads::table
                .filter(threads::claim_until_ms.le(now.millis()))
                .select((
                    threads::id,
                    threads::claim_agent_id,
                    threads::claim_until_ms,
                ))
                .load(conn)?;
            clear_claims(conn, ended)
        })
    }

    fn set_status(
        &self,
        thread: ThreadId,
        status: ThreadStatus,
        now: Timestamp,
    ) -> DomainResult<Thread> {
        self.write(|conn| {
            let row = lock_thread(conn, thread)?;
            let mut current = row.to_thread()?;
            let was = current.status;
            let patch = current.on_status(status);
            let rank_key = patch.rank_key.unwrap_or(row.rank_key);
            current.apply(patch);
            current.last_activity_at = now;
            save_thread(conn, &current, rank_key)?;
            if was != ThreadStatus::Resolved && current.status == ThreadStatus::Resolved {
                super::webhooks::record(conn, &OutboxEvent::thread_resolved(&current, now))?;
            }
            Ok(current)
        })
    }

    fn queue(&self, now: Timestamp, limit: u32, offset: u32) -> DomainResult<Vec<Thread>> {
        self.run(|conn| {
            let rows = threads::table
                .filter(NotResolved)
                .filter(threads::waiting_since_ms.is_not_null())
                .filter(
                    threads::claim_until_ms
                        .is_null()
                        .or(threads::claim_until_ms.le(now.millis())),
                )
                .order((
                    threads::rank_key.desc(),
                    threads::waiting_since_ms.asc(),
                    threads::id.asc(),
                ))
                .limit(i64::from(limit))
                .offset(i64::from(offset))
                .select(ThreadRow::as_select())
                .load(conn)?;
            into_threads(rows)
        })
    }

    fn queue_len(&self, now: Timestamp) -> DomainResult<u64> {
        self.run(|conn| {
            let count: i64 = threads::table
                .filter(NotResolved)
                .filter(threads::waiting_since_ms.is_not_null())
                .filter(
                    threads::claim_until_ms
                        .is_null()
                        .or(threads::claim_until_ms.le(now.millis())),
                )
                .count()
                .get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    fn waiting_threads(&self) -> DomainResult<Vec<Thread>> {
        self.run(|conn| {
            let rows = threads::table
                .filter(threads::waiting_since_ms.is_not_null())
                .order(threads::id.asc())
                .select(ThreadRow::as_select())
                .load(conn)?;
            into_threads(rows)
        })
    }

    fn set_urgency(&self, thread: ThreadId, urgency: &Urgency, rank_key: i64) -> DomainResult<()> {
        self.run(|conn| {
            if write_urgency(conn, thread, urgency, rank_key)? == 0 {
                return Err(thread_not_found());
            }
            Ok(())
        })
    }

    fn set_urgencies(&self, changes: &[(ThreadId, Urgency, i64)]) -> DomainResult<u64> {
        if changes.is_empty() {
            return Ok(0);
        }
        // A thread named twice takes its last entry (and counts once).
        let last: BTreeMap<i64, (&Urgency, i64)> = changes
            .iter()
            .map(|(thread, urgency, rank_key)| (thread.0, (urgency, *rank_key)))
            .collect();
        self.run(|conn| {
            if let DbConnection::Postgresql(pg) = conn {
                return write_urgencies(pg, &last);
            }
            write_transaction(conn, |conn| {
                let mut changed = 0;
                for (thread, (urgency, rank_key)) in &last {
                    changed += write_urgency(conn, ThreadId(*thread), urgency, *rank_key)?;
                }
                Ok::<u64, StoreError>(changed as u64)
            })
        })
    }

    fn threads_by_ids(&self, ids: &[ThreadId]) -> DomainResult<Vec<Thread>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        self.run(|conn| {
            let rows = threads::table
                .filter(threads::id.eq_any(&ids))
                .order(threads::id.asc())
                .select(ThreadRow::as_select())
                .load(conn)?;
            into_threads(rows)
        })
    }

    fn threads_page(
        &self,
        filter: &ThreadFilter,
        now: Timestamp,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> DomainResult<Vec<Thread>> {
        self.run(|conn| {
            let mut query = filtered(filter, now)
                .order((threads::last_activity_at_ms.desc(), threads::id.desc()))
                .limit(i64::from(limit))
                .select(ThreadRow::as_select());
            if let Some(cursor) = after {
                let at = cursor.last_activity_at.millis();
                query = query.filter(
                    threads::last_activity_at_ms
                        .lt(at)
                        .or(threads::last_activity_at_ms
                            .eq(at)
                            .and(threads::id.lt(cursor.id.0))),
                );
            }
            into_threads(query.load(conn)?)
        })
    }

    fn idle_pending_threads(&self, idle_since: Timestamp, limit: u32) -> DomainResult<Vec<Thread>> {
        self.run(|conn| {
            let rows = threads::table
                .filter(threads::status.eq(ThreadStatus::Pending.as_str()))
                .filter(threads::last_activity_at_ms.le(idle_since.millis()))
                .order((threads::last_activity_at_ms.asc(), threads::id.asc()))
                .limit(i64::from(limit))
                .select(ThreadRow::as_select())
                .load(conn)?;
            into_threads(rows)
        })
    }

    fn count_threads(&self, filter: &ThreadFilter, now: Timestamp) -> DomainResult<u64> {
        self.run(|conn| {
            let count: i64 = filtered(filter, now).count().get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }
}

/// The threads `filter` selects at `now` (see [`ThreadStore::threads_page`]), unordered.
fn filtered<'a>(filter: &ThreadFilter, now: Timestamp) -> threads::BoxedQuery<'a, MultiBackend> {
    let mut query = threads::table.into_boxed();
    query = match filter.assignee {
        Assignee::Anyone => query,
        Assignee::Agent(agent) => query
            .filter(threads::claim_agent_id.eq(agent.0))
            .filter(threads::claim_until_ms.gt(now.millis())),
        Assignee::Nobody => query.filter(
            threads::claim_agent_id
                .is_null()
                .or(threads::claim_until_ms.le(now.millis())),
        ),
    };
    if let Some(status) = filter.status {
        query = query.filter(threads::status.eq(status.as_str()));
    }
    if let Some(client) = filter.client {
        query = query.filter(threads::client_id.eq(client.0));
    }
    if let Some(thread_type) = filter.thread_type {
        query = query.filter(threads::thread_type.eq(thread_type.code()));
    }
    query = match filter.waiting {
        None => query,
        Some(true) => query.filter(threads::waiting_since_ms.is_not_null()),
        Some(false) => query.filter(threads::waiting_since_ms.is_null()),
    };
    if let Some(from) = filter.created.from {
        query = query.filter(threads::created_at_ms.ge(from.millis()));
    }
    if let Some(to) = filter.created.to {
        query = query.filter(threads::created_at_ms.lt(to.millis()));
    }
    if let Some(from) = filter.active.from {
        query = query.filter(threads::last_activity_at_ms.ge(from.millis()));
    }
    if let Some(to) = filter.active.to {
        query = query.filter(threads::last_activity_at_ms.lt(to.millis()));
    }
    if let Some(label) = filter.label {
        query = query.filter(
            threads::id.eq_any(
                thread_labels::table
                    .filter(thread_labels::label_id.eq(label.0))
                    .select(thread_labels::thread_id),
            ),
        );
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", like_escaped(text.folded()));
        query = query.filter(exists(
            messages::table
                .filter(messages::thread_id.eq(threads::id))
                .filter(lower(messages::body).like(pattern).escape('\\')),
        ));
    }
    query
}

/// Clears each listed claim `(thread, holder, lease end)` only if it is still that very claim,
/// and returns the ones it cleared: with concurrent sweepers (or a renewal in between) each is
/// reported by exactly one call.
pub(crate) fn clear_claims(
    conn: &mut DbConnection,
    claims: Vec<(i64, Option<i64>, Option<i64>)>,
) -> Result<Vec<ExpiredClaim>, StoreError> {
    let mut cleared_claims = Vec::with_capacity(claims.len());
    for (id, agent, until) in claims {
        let Some(agent) = agent else { continue };
        let cleared = diesel::update(threads::table.find(id))
            .filter(threads::claim_agent_id.eq(agent))
            .filter(threads::claim_until_ms.eq(until))
            .set((
                threads::claim_agent_id.eq(None::<i64>),
                threads::claim_until_ms.eq(None::<i64>),
            ))
            .execute(conn)?;
        if cleared == 1 {
            cleared_claims.push(ExpiredClaim {
                thread_id: ThreadId(id),
                agent_id: UserId(agent),
            });
        }
    }
    Ok(cleared_claims)
}
