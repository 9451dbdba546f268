//! Webhook endpoints and the outbox in memory: recorded under the store's one lock by the same
//! call that makes the change (see [`chat_domain::ports::WebhookStore`]).

use chat_domain::ports::WebhookStore;
use chat_domain::webhook::{
    event_public_id, AttemptReport, AttemptVerdict, DeliveryLogEntry, DeliveryState, DueDelivery,
    NewWebhook, OutboxEvent, Webhook, WebhookEvent,
};
use chat_domain::{DomainResult, Timestamp, WebhookId};

use crate::MemoryStore;

#[derive(Debug, Clone)]
struct Delivery {
    id: i64,
    webhook_id: WebhookId,
    event_id: i64,
    state: DeliveryState,
    attempts: i64,
    next_attempt_at: Timestamp,
    leased_until: Option<Timestamp>,
    last: Option<AttemptReport>,
    created_at: Timestamp,
}

/// The webhook tables.
#[derive(Debug, Default)]
pub(crate) struct WebhookState {
    endpoints: Vec<Webhook>,
    endpoint_ids: i64,
    /// Events by id (ids are positions + 1).
    events: Vec<(WebhookEvent, bool)>,
    deliveries: Vec<Delivery>,
}

impl WebhookState {
    /// Records an event and queues its deliveries (nothing while no endpoint exists).
    pub(crate) fn record(&mut self, event: OutboxEvent) {
        if self.endpoints.is_empty() {
            return;
        }
        let id = i64::try_from(self.events.len()).unwrap_or(i64::MAX - 1) + 1;
        let stored = WebhookEvent {
            id,
            event_type: event.event_type,
            thread_id: event.thread_id,
            data: event.data,
            created_at: event.created_at,
        };
        let targets: Vec<WebhookId> = self
            .endpoints
            .iter()
            .filter(|e| e.enabled && subscribes(e, &stored, event.is_note))
            .map(|e| e.id)
            .collect();
        for webhook in targets {
            self.queue(webhook, id, event.created_at);
        }
        self.events.push((stored, event.is_note));
    }

    fn queue(&mut self, webhook_id: WebhookId, event_id: i64, now: Timestamp) {
        let id = i64::try_from(self.deliveries.len()).unwrap_or(i64::MAX - 1) + 1;
        self.deliveries.push(Delivery {
            id,
            webhook_id,
            event_id,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            leased_until: None,
            last: None,
            created_at: now,
        });
    }

    fn event(&self, id: i64) -> Option<&WebhookEvent> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.events.get(i))
            .map(|(e, _)| e)
    }
}

fn subscribes(endpoint: &Webhook, event: &WebhookEvent, is_note: bool) -> bool {
    endpoint.events.contains(&event.event_type) && (!is_note || endpoint.include_notes)
}

impl WebhookStore for MemoryStore {
    fn insert_webhook(&self, new: NewWebhook) -> DomainResult<Webhook> {
        let mut s = self.lock();
        let w = &mut s.webhooks;
        w.endpoint_ids += 1;
        let webhook = Webhook {
            id: WebhookId(w.endpoint_ids),
            url: new.url,
            events: new.events,
            include_notes: new.include_notes,
            secret: new.secret,
            enabled: true,
            created_at: new.created_at,
        };
        w.endpoints.push(webhook.clone());
        Ok(webhook)
    }

    fn webhooks(&self) -> DomainResult<Vec<Webhook>> {
        Ok(self.lock().webhooks.endpoints.clone())
    }

    fn webhook_by_id(&self, id: WebhookId) -> DomainResult<Option<Webhook>> {
        Ok(self
            .lock()
            .webhooks
            .endpoints
            .iter()
            .find(|e| e.id == id)
            .cloned())
    }

    fn set_webhook_enabled(&self, id: WebhookId, enabled: bool) -> DomainResult<Option<Webhook>> {
        let mut s = self.lock();
        Ok(s.webhooks
            .endpoints
            .iter_mut()
            .find(|e| e.id == id)
            .map(|e| {
                e.enabled = enabled;
                e.clone()
            }))
    }

    fn delete_webhook(&self, id: WebhookId) -> DomainResult<bool> {
        let mut s = self.lock();
        let w = &mut s.webhooks;
        let before = w.endpoints.len();
        w.endpoints.retain(|e| e.id != id);
        w.deliveries.retain(|d| d.webhook_id != id);
        Ok(w.endpoints.len() != before)
    }

    fn webhook_deliveries(&self, id: WebhookId, limit: u32) -> DomainResult<Vec<DeliveryLogEntry>> {
        let s = self.lock();
        let w = &s.webhooks;
        Ok(w.deliveries
            .iter()
            .rev()
            .filter(|d| d.webhook_id == id)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .filter_map(|d| {
                let event = w.event(d.event_id)?;
                Some(DeliveryLogEntry {
                    id: d.id,
                    event_id: event_public_id(d.event_id),
                    event_type: event.event_type,
                    thread_id: event.thread_id,
                    state: d.state,
                    attempts: d.attempts,
                    last_status: d.last.as_ref().and_then(|a| a.status),
                    last_error: d.last.as_ref().and_then(|a| a.error.clone()),
                    last_duration_ms: d.last.as_ref().map(|a| a.duration_ms),
                    last_attempt_at: d.last.as_ref().map(|a| a.at),
                    next_attempt_at: d.next_attempt_at,
                    created_at: d.created_at,
                })
            })
            .collect())
    }

    fn lease_deliveries(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> DomainResult<Vec<DueDelivery>> {
        let mut s = self.lock();
        let w = &mut s.webhooks;
        let mut leased = Vec::new();
        let mut blocked: Vec<(WebhookId, chat_domain::ThreadId)> = Vec::new();
        for i in 0..w.deliveries.len() {
            if leased.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            let d = &w.deliveries[i];
            if d.state != DeliveryState::Pending {
                continue;
            }
            let Some(event) = w.event(d.event_id).cloned() else {
                continue;
            };
            let key = (d.webhook_id, event.thread_id);
            // The first pending delivery of each (endpoint, thread) is the only candidate.
            if blocked.contains(&key) {
                continue;
            }
            blocked.push(key);
            let Some(endpoint) = w.endpoints.iter().find(|e| e.id == d.webhook_id) else {
                continue;
            };
            let due = d.next_attempt_at <= now && d.leased_until.is_none_or(|l| l <= now);
            if !endpoint.enabled || !due {
                continue;
            }
            let (url, secret) = (endpoint.url.clone(), endpoint.secret.clone());
            let d = &mut w.deliveries[i];
            d.leased_until = Some(until);
            leased.push(DueDelivery {
                id: d.id,
                webhook_id: d.webhook_id,
                url,
                secret,
                attempts: d.attempts,
                created_at: d.created_at,
                event,
            });
        }
        Ok(leased)
    }

    fn finish_delivery(
        &self,
        delivery: i64,
        report: &AttemptReport,
        verdict: AttemptVerdict,
    ) -> DomainResult<()> {
        let mut s = self.lock();
        let w = &mut s.webhooks;
        let Some(d) = w.deliveries.iter_mut().find(|d| d.id == delivery) else {
            return Ok(());
        };
        d.attempts += 1;
        d.leased_until = None;
        d.last = Some(report.clone());
        match verdict {
            AttemptVerdict::Delivered => d.state = DeliveryState::Delivered,
            AttemptVerdict::RetryAt(at) => d.next_attempt_at = at,
            AttemptVerdict::Failed => {
                d.state = DeliveryState::Failed;
                let endpoint = d.webhook_id;
                if let Some(e) = w.endpoints.iter_mut().find(|e| e.id == endpoint) {
                    e.enabled = false;
                }
            }
        }
        Ok(())
    }

    fn replay_webhook(
        &self,
        id: WebhookId,
        from: Timestamp,
        now: Timestamp,
    ) -> DomainResult<Option<u64>> {
        let mut s = self.lock();
        let w = &mut s.webhooks;
        let Some(endpoint) = w.endpoints.iter().find(|e| e.id == id).cloned() else {
            return Ok(None);
        };
        let events: Vec<i64> = w
            .events
            .iter()
            .filter(|(e, note)| e.created_at >= from && subscribes(&endpoint, e, *note))
            .map(|(e, _)| e.id)
            .collect();
        for event in &events {
            w.queue(id, *event, now);
        }
        Ok(Some(u64::try_from(events.len()).unwrap_or(u64::MAX)))
    }

    fn pending_deliveries(&self) -> DomainResult<u64> {
        let s = self.lock();
        let n = s
            .webhooks
            .deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}
