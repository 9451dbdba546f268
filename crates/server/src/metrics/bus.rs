//! [`MeteredBus`]: the event bus the use cases publish on, counting what passes through it.

use std::sync::Arc;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{Clock, DomainResult};
use futures_util::StreamExt;

use super::{message_kind, Metrics};

/// Wraps the configured bus (in-process or Redis): counts events published (by type) and
/// refused, stored messages and notes (their `*.created` events are published once per
/// stored message), assignments (the router's `assigned` events, and `transferred` ones to
/// an agent), deliveries and gaps on this instance, and each message's or note's lag
/// from being stored (its `created_at`, on the clock of the instance that stored it) to its
/// delivery here.
pub struct MeteredBus {
    inner: Arc<dyn EventBus>,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
}

impl MeteredBus {
    /// `inner`, counted into `metrics`; lags are measured against `clock`.
    pub fn new(inner: Arc<dyn EventBus>, metrics: Metrics, clock: Arc<dyn Clock>) -> Self {
        MeteredBus {
            inner,
            metrics,
            clock,
        }
    }
}

/// The event's `type` as sockets see it (`message.created`, ...), from its serialised form so
/// that every event type, present and future, is named exactly as in the protocol; and
/// whether it gives a thread to an agent (`assigned` by the router, or `transferred` to an
/// agent rather than back to the queue), with how.
fn describe(event: &Event) -> (String, Option<&'static str>) {
    let Ok(value) = serde_json::to_value(event) else {
        return ("unknown".to_owned(), None);
    };
    let kind = value
        .get("type")
        .and_then(|kind| kind.as_str())
        .unwrap_or("unknown")
        .to_owned();
    let assignment = assignment(&kind, &value);
    (kind, assignment)
}

/// How an event of type `kind` (serialised as `value`) gives a thread to an agent, if it does.
fn assignment(kind: &str, value: &serde_json::Value) -> Option<&'static str> {
    match kind {
        "assigned" => Some("automatic"),
        "transferred" if value.get("to").is_some_and(|to| !to.is_null()) => Some("transfer"),
        _ => None,
    }
}

impl EventBus for MeteredBus {
    fn publish(&self, event: Event) -> DomainResult<()> {
        let (kind, assignment) = describe(&event);
        let collectors = &self.metrics.inner;
        if let Some(how) = assignment {
            self.metrics.assignment(how);
        }
        if let Some(stored) = message_kind(&kind) {
            collectors
                .messages_stored
                .with_label_values(&[stored])
                .inc();
        }
        collectors.bus_published.with_label_values(&[&kind]).inc();
        let result = self.inner.publish(event);
        if result.is_err() {
            collectors
                .bus_publish_failures
                .with_label_values(&[&kind])
                .inc();
        }
        result
    }

    fn subscribe(&self, topics: &[Topic]) -> DomainResult<EventStream> {
        let stream = self.inner.subscribe(topics)?;
        let metrics = self.metrics.clone();
        let clock = Arc::clone(&self.clock);
        Ok(Box::pin(stream.inspect(move |delivery| {
            let collectors = &metrics.inner;
            match delivery {
                Delivery::Event(event) => {
                    collectors.bus_deliveries.inc();
                    if let Event::MessageCreated { message, .. }
                    | Event::NoteCreated { message, .. } = &**event
                    {
                        let lag_ms = clock.now().millis() - message.created_at.millis();
                        collectors
                            .bus_delivery_lag
                            .observe(lag_ms.max(0) as f64 / 1000.0);
                    }
                }
                Delivery::Gap => collectors.bus_gaps.inc(),
            }
        })))
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    fn has_connected(&self) -> bool {
        self.inner.has_connected()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::assignment;

    #[test]
    fn assignments_are_the_routers_and_transfers_to_an_agent() {
        let assigned = json!({"type": "assigned", "thread_id": 1, "agent_id": 2});
        assert_eq!(assignment("assigned", &assigned), Some("automatic"));
        let to_agent = json!({"type": "transferred", "from": 2, "to": 3});
        assert_eq!(assignment("transferred", &to_agent), Some("transfer"));
        let to_queue = json!({"type": "transferred", "from": 2, "to": null});
        assert_eq!(assignment("transferred", &to_queue), None);
        let claimed = json!({"type": "claimed", "thread_id": 1, "agent_id": 2});
        assert_eq!(assignment("claimed", &claimed), None);
    }
}
