//! Webhook endpoints and the outbox.
//!
//! [`record`] is called by the other store modules inside the write transaction of the change
//! it reports: one `INSERT ... SELECT ... WHERE EXISTS (an endpoint)` of the event (nothing
//! while no endpoint is registered: the hot path pays one probe of an empty table), then one
//! `INSERT ... SELECT` of a pending delivery per enabled endpoint subscribed to its type.
//! Workers lease due deliveries with `FOR UPDATE SKIP LOCKED` on Postgres (SQLite's write lock
//! serialises them), never one whose thread has an earlier pending delivery to the same endpoint.

use chat_domain::ports::WebhookStore;
use chat_domain::webhook::{
    event_public_id, AttemptReport, AttemptVerdict, DeliveryLogEntry, DeliveryState, DueDelivery,
    NewWebhook, OutboxEvent, Webhook, WebhookEvent, WebhookEventType,
};
use chat_domain::{DomainError, DomainResult, ThreadId, Timestamp, WebhookId};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::batch_statements::RecordEvents;
use super::routing::{lock_clause, text};
use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Whether any pending delivery to an enabled endpoint is due at `now` and not leased (the
/// partial index `webhook_deliveries_due` answers it); the lease itself checks again under
/// its lock.
fn any_due(conn: &mut DbConnection, now: Timestamp) -> Result<bool, StoreError> {
    let sql = text(
        conn,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.state = 'pending' AND e.enabled AND d.next_attempt_at_ms <= ? \
         AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= ?) LIMIT 1) AS due",
    );
    let due: Count = diesel::sql_query(sql)
        .bind::<BigInt, _>(now.millis())
        .bind::<BigInt, _>(now.millis())
        .get_result(conn)?;
    Ok(due.n > 0)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct EndpointRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = Bool)]
    include_notes: bool,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = BigInt)]
    created_at_ms: i64,
}

#[derive(QueryableByName)]
struct SubscriptionRow {
    #[diesel(sql_type = BigInt)]
    endpoint_id: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    endpoint_id: i64,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = BigInt)]
    created_at_ms: i64,
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = BigInt)]
    thread_id: i64,
    #[diesel(sql_type = Text)]
    data: String,
    #[diesel(sql_type = BigInt)]
    event_created_at_ms: i64,
}

#[derive(QueryableByName)]
struct LogRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    event_id: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = BigInt)]
    thread_id: i64,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_status: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_duration_ms: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_attempt_at_ms: Option<i64>,
    #[diesel(sql_type = BigInt)]
    next_attempt_at_ms: i64,
    #[diesel(sql_type = BigInt)]
    created_at_ms: i64,
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Domain(DomainError::Internal(format!("stored webhook data: {e}")))
}

fn event_type(name: &str) -> Result<WebhookEventType, StoreError> {
    WebhookEventType::parse(name).map_err(internal)
}

/// Records `event` in the outbox and queues its deliveries: call it inside the write
/// transaction of the change it reports.
pub(crate) fn record(conn: &mut DbConnection, event: &OutboxEvent) -> Result<(), StoreError> {
    let sql = text(
        conn,
        "INSERT INTO webhook_events (event_type, thread_id, is_note, data, created_at_ms) \
         SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_endpoints) RETURNING id",
    );
    let recorded = diesel::sql_query(sql)
        .bind::<Text, _>(event.event_type.as_str())
        .bind::<BigInt, _>(event.thread_id.0)
        .bind::<Bool, _>(event.is_note)
        .bind::<Text, _>(event.data.to_string())
        .bind::<BigInt, _>(event.created_at.millis())
        .get_result::<Id>(conn)
        .optional()?;
    let Some(Id { id }) = recorded else {
        return Ok(());
    };
    let notes = if event.is_note {
        " AND e.include_notes"
    } else {
        ""
    };
    let sql = text(
        conn,
        &format!(
            "INSERT INTO webhook_deliveries \
             (endpoint_id, event_id, thread_id, state, attempts, next_attempt_at_ms, created_at_ms) \
             SELECT e.id, ?, ?, 'pending', 0, ?, ? FROM webhook_endpoints e \
             JOIN webhook_subscriptions s ON s.endpoint_id = e.id \
             WHERE s.event_type = ? AND e.enabled{notes}"
        ),
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(event.thread_id.0)
        .bind::<BigInt, _>(event.created_at.millis())
        .bind::<BigInt, _>(event.created_at.millis())
        .bind::<Text, _>(event.event_type.as_str())
        .execute(conn)?;
    Ok(())
}

/// Records every event of `events` as [`record`] does, in one statement on Postgres
/// ([`RecordEvents`]: a sweep that breaches hundreds of clocks pays one round trip, not one
/// per clock), one by one on SQLite.
pub(crate) fn record_all(
    conn: &mut DbConnection,
    events: &[OutboxEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let DbConnection::Postgresql(pg) = conn else {
        return events.iter().try_for_each(|event| record(conn, event));
    };
    let mut all = RecordEvents::default();
    for event in events {
        all.push(event);
    }
    all.execute(pg)?;
    Ok(())
}

fn load_endpoints(
    conn: &mut DbConnection,
    only: Option<WebhookId>,
) -> Result<Vec<Webhook>, StoreError> {
    let filter = if only.is_some() { " WHERE id = ?" } else { "" };
    let sql = text(
        conn,
        &format!(
            "SELECT id, url, secret, include_notes, enabled, created_at_ms \
             FROM webhook_endpoints{filter} ORDER BY id"
        ),
    );
    let mut query = diesel::sql_query(sql).into_boxed();
    if let Some(id) = only {
        query = query.bind::<BigInt, _>(id.0);
    }
    let rows: Vec<EndpointRow> = query.load(conn)?;
    let filter = if only.is_some() {
        " WHERE endpoint_id = ?"
    } else {
        ""
    };
    let sql = text(
        conn,
        &format!("SELECT endpoint_id, event_type FROM webhook_subscriptions{filter}"),
    );
    let mut query = diesel::sql_query(sql).into_boxed();
    if let Some(id) = only {
        query = query.bind::<BigInt, _>(id.0);
    }
    let subscriptions: Vec<SubscriptionRow> = query.load(conn)?;
    rows.into_iter()
        .map(|r| {
            let mut events = subscriptions
                .iter()
                .filter(|s| s.endpoint_id == r.id)
                .map(|s| event_type(&s.event_type))
                .collect::<Result<Vec<_>, _>>()?;
            events.sort();
            Ok(Webhook {
                id: WebhookId(r.id),
                url: r.url,
                events,
                include_notes: r.include_notes,
                secret: r.secret,
                enabled: r.enabled,
                created_at: Timestamp(r.created_at_ms),
            })
        })
        .collect()
}

fn one_endpoint(conn: &mut DbConnection, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    Ok(load_endpoints(conn, Some(id))?.into_iter().next())
}

impl WebhookStore for SqlStore {
    fn insert_webhook(&self, new: NewWebhook) -> DomainResult<Webhook> {
        self.write(|conn| {
            let sql = text(
                conn,
                "INSERT INTO webhook_endpoints (url, secret, include_notes, enabled, created_at_ms) \
                 VALUES (?, ?, ?, ?, ?) RETURNING id",
            );
            let Id { id } = diesel::sql_query(sql)
                .bind::<Text, _>(&new.url)
                .bind::<Text, _>(&new.secret)
                .bind::<Bool, _>(new.include_notes)
                .bind::<Bool, _>(true)
                .bind::<BigInt, _>(new.created_at.millis())
                .get_result(conn)?;
            for event in &new.events {
                let sql = text(
                    conn,
                    "INSERT INTO webhook_subscriptions (event_type, endpoint_id) VALUES (?, ?)",
                );
                diesel::sql_query(sql)
                    .bind::<Text, _>(event.as_str())
                    .bind::<BigInt, _>(id)
                    .execute(conn)?;
            }
            one_endpoint(conn, WebhookId(id))?
                .ok_or_else(|| internal("the endpoint just stored is gone"))
        })
    }

    fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        self.run(|conn| load_endpoints(conn, None))
    }

    fn webhook_by_id(&self, id: WebhookId) -> DomainResult<Option<Webhook>> {
        self.run(|conn| one_endpoint(conn, id))
    }

    fn set_webhook_enabled(&self, id: WebhookId, enabled: bool) -> DomainResult<Option<Webhook>> {
        self.write(|conn| {
            let sql = text(
                conn,
                "UPDATE webhook_endpoints SET enabled = ? WHERE id = ?",
            );
            diesel::sql_query(sql)
                .bind::<Bool, _>(enabled)
                .bind::<BigInt, _>(id.0)
                .execute(conn)?;
            one_endpoint(conn, id)
        })
    }

    fn delete_webhook(&self, id: WebhookId) -> DomainResult<bool> {
        self.write(|conn| {
            for table in ["webhook_deliveries", "webhook_subscriptions"] {
                let sql = text(conn, &format!("DELETE FROM {table} WHERE endpoint_id = ?"));
                diesel::sql_query(sql)
                    .bind::<BigInt, _>(id.0)
                    .execute(conn)?;
            }
            let sql = text(conn, "DELETE FROM webhook_endpoints WHERE id = ?");
            let deleted = diesel::sql_query(sql)
                .bind::<BigInt, _>(id.0)
                .execute(conn)?;
            Ok(deleted == 1)
        })
    }

    fn webhook_deliveries(&self, id: WebhookId, limit: u32) -> DomainResult<Vec<DeliveryLogEntry>> {
        self.run(|conn| {
            let sql = text(
                conn,
                "SELECT d.id, d.event_id, v.event_type, d.thread_id, d.state, d.attempts, \
                 d.last_status, d.last_error, d.last_duration_ms, d.last_attempt_at_ms, \
                 d.next_attempt_at_ms, d.created_at_ms \
                 FROM webhook_deliveries d JOIN webhook_events v ON v.id = d.event_id \
                 WHERE d.endpoint_id = ? ORDER BY d.id DESC LIMIT ?",
            );
            let rows: Vec<LogRow> = diesel::sql_query(sql)
                .bind::<BigInt, _>(id.0)
                .bind::<BigInt, _>(i64::from(limit))
                .load(conn)?;
            rows.into_iter()
                .map(|r| {
                    Ok(DeliveryLogEntry {
                        id: r.id,
                        event_id: event_public_id(r.event_id),
                        event_type: event_type(&r.event_type)?,
                        thread_id: ThreadId(r.thread_id),
                        state: DeliveryState::parse(&r.state)?,
                        attempts: r.attempts,
                        last_status: r.last_status,
                        last_error: r.last_error,
                        last_duration_ms: r.last_duration_ms,
                        last_attempt_at: r.last_attempt_at_ms.map(Timestamp),
                        next_attempt_at: Timestamp(r.next_attempt_at_ms),
                        created_at: Timestamp(r.created_at_ms),
                    })
                })
                .collect()
        })
    }

    fn lease_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> DomainResult<Vec<DueDelivery>> {
        // Most polls find nothing due: a read answers that without a write transaction (on
        // SQLite, without taking the database's one write lock every poll).
        if !self.run(|conn| any_due(conn, now))? {
            return Ok(Vec::new());
        }
        self.write(|conn| {
            let lock = lock_clause(conn, " FOR UPDATE OF d SKIP LOCKED");
            let sql = text(
                conn,
                &format!(
                    "UPDATE webhook_deliveries SET leased_until_ms = ? WHERE id IN (\
                     SELECT d.id FROM webhook_deliveries d \
                     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                     WHERE d.state = 'pending' AND e.enabled AND d.next_attempt_at_ms <= ? \
                     AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= ?) \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                       WHERE p.endpoint_id = d.endpoint_id AND p.thread_id = d.thread_id \
                       AND p.state = 'pending' AND p.id < d.id) \
                     ORDER BY d.id LIMIT ?{lock}) RETURNING id"
                ),
            );
            let leased: Vec<Id> = diesel::sql_query(sql)
                .bind::<BigInt, _>(until.millis())
                .bind::<BigInt, _>(now.millis())
                .bind::<BigInt, _>(now.millis())
                .bind::<BigInt, _>(i64::from(limit))
                .load(conn)?;
            if leased.is_empty() {
                return Ok(Vec::new());
            }
            // Ids are numbers from the database: safe to write into the statement.
            let ids = leased
                .iter()
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let rows: Vec<DueRow> = diesel::sql_query(format!(
                "SELECT d.id, d.endpoint_id, e.url, e.secret, d.attempts, d.created_at_ms, \
                 v.id AS event_id, v.event_type, v.thread_id, v.data, \
                 v.created_at_ms AS event_created_at_ms \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 JOIN webhook_events v ON v.id = d.event_id \
                 WHERE d.id IN ({ids}) ORDER BY d.id"
            ))
            .load(conn)?;
            rows.into_iter()
                .map(|r| {
                    Ok(DueDelivery {
                        id: r.id,
                        webhook_id: WebhookId(r.endpoint_id),
                        url: r.url,
                        secret: r.secret,
                        attempts: r.attempts,
                        created_at: Timestamp(r.created_at_ms),
                        event: WebhookEvent {
                            id: r.event_id,
                            event_type: event_type(&r.event_type)?,
                            thread_id: ThreadId(r.thread_id),
                            data: serde_json::from_str(&r.data).map_err(internal)?,
                            created_at: Timestamp(r.event_created_at_ms),
                        },
                    })
                })
                .collect()
        })
    }

    fn finish_delivery(
        &self,
        delivery: i64,
        report: &AttemptReport,
        verdict: AttemptVerdict,
    ) -> DomainResult<()> {
        self.write(|conn| {
            let (state, next) = match verdict {
                AttemptVerdict::Delivered => (DeliveryState::Delivered, report.at),
                AttemptVerdict::RetryAt(at) => (DeliveryState::Pending, at),
                AttemptVerdict::Failed => (DeliveryState::Failed, report.at),
            };
            let sql = text(
                conn,
                "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, \
                 next_attempt_at_ms = ?, leased_until_ms = NULL, last_status = ?, \
                 last_error = ?, last_duration_ms = ?, last_attempt_at_ms = ? WHERE id = ?",
            );
            diesel::sql_query(sql)
                .bind::<Text, _>(state.as_str())
                .bind::<BigInt, _>(next.millis())
                .bind::<Nullable<BigInt>, _>(report.status)
                .bind::<Nullable<Text>, _>(report.error.as_deref())
                .bind::<BigInt, _>(report.duration_ms)
                .bind::<BigInt, _>(report.at.millis())
                .bind::<BigInt, _>(delivery)
                .execute(conn)?;
            if verdict == AttemptVerdict::Failed {
                let sql = text(
                    conn,
                    "UPDATE webhook_endpoints SET enabled = ? WHERE id = \
                     (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?)",
                );
                diesel::sql_query(sql)
                    .bind::<Bool, _>(false)
                    .bind::<BigInt, _>(delivery)
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn replay_webhook(
        &self,
        id: WebhookId,
        from: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<u64>> {
        self.write(|conn| {
            if one_endpoint(conn, id)?.is_none() {
                return Ok(None);
            }
            let sql = text(
                conn,
                "INSERT INTO webhook_deliveries \
                 (endpoint_id, event_id, thread_id, state, attempts, next_attempt_at_ms, created_at_ms) \
                 SELECT e.id, v.id, v.thread_id, 'pending', 0, ?, ? \
                 FROM webhook_events v JOIN webhook_endpoints e ON e.id = ? \
                 WHERE v.created_at_ms >= ? \
                 AND v.event_type IN (SELECT s.event_type FROM webhook_subscriptions s \
                   WHERE s.endpoint_id = e.id) \
                 AND (e.include_notes OR NOT v.is_note) \
                 ORDER BY v.id",
            );
            let queued = diesel::sql_query(sql)
                .bind::<BigInt, _>(now.millis())
                .bind::<BigInt, _>(now.millis())
                .bind::<BigInt, _>(id.0)
                .bind::<BigInt, _>(from.millis())
                .execute(conn)?;
            Ok(Some(u64::try_from(queued).unwrap_or(u64::MAX)))
        })
    }

    fn pending_deliveries(&self) -> DomainResult<u64> {
        self.run(|conn| {
            let Count { n } = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'pending'",
            )
            .get_result(conn)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
