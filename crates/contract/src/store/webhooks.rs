//! Webhooks: `WebhookStore` and the outbox the other ports write.

use std::collections::HashSet;
use std::sync::{Arc, Barrier, Mutex};

use chat_domain::ports::Store;
use chat_domain::rating::NewRating;
use chat_domain::sla::SlaKind;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::webhook::{
    AttemptReport, AttemptVerdict, DeliveryState, DueDelivery, NewWebhook, WebhookEventType,
};
use chat_domain::{Timestamp, WebhookId};

use crate::fixtures::{agent, client, minutes, note_at, say_at};

fn endpoint(store: &Arc<dyn Store>, events: &[WebhookEventType], include_notes: bool) -> WebhookId {
    store
        .insert_webhook(NewWebhook {
            url: "https://example.com/hook".into(),
            events: events.to_vec(),
            include_notes,
            secret: "s3cret".into(),
            created_at: minutes(0),
        })
        .unwrap()
        .id
}

fn report(at: Timestamp, status: i64) -> AttemptReport {
    AttemptReport {
        status: Some(status),
        error: None,
        duration_ms: 3,
        at,
    }
}

/// Leases everything due at `now`, delivering each at once, until nothing is left; answers the
/// deliveries in lease order.
fn deliver_all(store: &Arc<dyn Store>, now: Timestamp) -> Vec<DueDelivery> {
    let mut out = Vec::new();
    loop {
        let leased: Vec<DueDelivery> = store
            .lease_deliveries(now, now.plus_millis(60_000), 100)
            .unwrap();
        if leased.is_empty() {
            return out;
        }
        for d in leased {
            store
                .finish_delivery(d.id, &report(now, 200), AttemptVerdict::Delivered)
                .unwrap();
            out.push(d);
        }
    }
}

/// [`deliver_all`], answering `webhook`'s event types in delivery order with their event ids.
fn drain(
    store: &Arc<dyn Store>,
    webhook: WebhookId,
    now: Timestamp,
) -> Vec<(WebhookEventType, i64)> {
    deliver_all(store, now)
        .into_iter()
        .filter(|d| d.webhook_id == webhook)
        .map(|d| (d.event.event_type, d.event.id))
        .collect()
}

/// Every change the ports report is in the outbox for each enabled endpoint subscribed to it
/// (notes only with `include_notes`, a renewal is no assignment), in order per thread; with no
/// endpoint nothing is recorded, and endpoints are stored and read back.
pub fn the_outbox_records_each_change_for_subscribed_endpoints(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bo = agent(&store, "bo");
    let early = store
        .open_thread(ann.id, ThreadType::Loan, minutes(1))
        .unwrap();
    say_at(&store, early.id, &ann, "before any endpoint", minutes(1));
    assert_eq!(store.pending_deliveries().unwrap(), 0);

    let all = endpoint(&store, &WebhookEventType::ALL, false);
    let notes = endpoint(&store, &[WebhookEventType::MessageCreated], true);
    let opened = endpoint(&store, &[WebhookEventType::ThreadOpened], false);
    let read = store.webhook_by_id(all).unwrap().unwrap();
    assert_eq!(read.events, WebhookEventType::ALL.to_vec());
    assert!(read.enabled && !read.include_notes);
    assert_eq!(read.secret, "s3cret");
    assert_eq!(store.webhooks().unwrap().len(), 3);

    let t = store
        .open_thread(ann.id, ThreadType::Payment, minutes(2))
        .unwrap();
    say_at(&store, t.id, &ann, "hello", minutes(3));
    note_at(&store, t.id, &bo, "private", minutes(4));
    store
        .try_claim(t.id, bo.id, minutes(30), minutes(5))
        .unwrap();
    // A renewal is not an assignment.
    store
        .try_claim(t.id, bo.id, minutes(40), minutes(6))
        .unwrap();
    store
        .set_status(t.id, ThreadStatus::Resolved, minutes(7))
        .unwrap();
    // Resolving twice reports once.
    store
        .set_status(t.id, ThreadStatus::Resolved, minutes(8))
        .unwrap();
    store
        .insert_rating(NewRating {
            thread_id: t.id,
            client_id: ann.id,
            agent_id: Some(bo.id),
            score: 4,
            comment: None,
            created_at: minutes(9),
        })
        .unwrap();
    // all: 5 events; notes: message + note; opened: 1.
    assert_eq!(store.pending_deliveries().unwrap(), 8);

    let now = minutes(10);
    let mut by_endpoint: Vec<Vec<WebhookEventType>> = vec![Vec::new(); 3];
    let mut ids = Vec::new();
    loop {
        let leased = store
            .lease_deliveries(now, now.plus_millis(60_000), 100)
            .unwrap();
        if leased.is_empty() {
            break;
        }
        // One per (endpoint, thread) at a time: order per thread.
        let keys: HashSet<_> = leased
            .iter()
            .map(|d| (d.webhook_id, d.event.thread_id))
            .collect();
        assert_eq!(keys.len(), leased.len());
        for d in leased {
            assert_eq!(d.url, "https://example.com/hook");
            assert_eq!(d.event.thread_id, t.id);
            let i = [all, notes, opened]
                .iter()
                .position(|w| *w == d.webhook_id)
                .unwrap();
            by_endpoint[i].push(d.event.event_type);
            ids.push((d.webhook_id, d.event.id));
            store
                .finish_delivery(d.id, &report(now, 204), AttemptVerdict::Delivered)
                .unwrap();
        }
    }
    use WebhookEventType as E;
    assert_eq!(
        by_endpoint[0],
        vec![
            E::ThreadOpened,
            E::MessageCreated,
            E::ThreadAssigned,
            E::ThreadResolved,
            E::ThreadRated
        ]
    );
    assert_eq!(by_endpoint[1], vec![E::MessageCreated, E::MessageCreated]);
    assert_eq!(by_endpoint[2], vec![E::ThreadOpened]);
    // Event ids grow in the order events were recorded.
    let all_ids: Vec<i64> = ids
        .iter()
        .filter(|(w, _)| *w == all)
        .map(|(_, id)| *id)
        .collect();
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.pending_deliveries().unwrap(), 0);
    let log = store.webhook_deliveries(all, 100).unwrap();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].event_type, E::ThreadRated);
    assert!(log.iter().all(|d| d.state == DeliveryState::Delivered
        && d.attempts == 1
        && d.last_status == Some(204)));
}

/// One sweep that breaches several clocks records one `sla.breached` event per clock, in clock
/// order, for the endpoints subscribed to it only; a second sweep records nothing more.
pub fn a_sweep_records_each_breach_for_subscribed_endpoints(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let cy = client(&store, "cy");
    let breaches = endpoint(&store, &[WebhookEventType::SlaBreached], false);
    let messages = endpoint(&store, &[WebhookEventType::MessageCreated], false);
    let policy = super::sla::policy();
    let mut clocks = Vec::new();
    for who in [&ann, &cy] {
        let t = store
            .open_thread(who.id, ThreadType::Loan, minutes(0))
            .unwrap();
        let clock = store
            .start_sla_clock(policy.start(t.id, t.thread_type, SlaKind::FirstResponse, minutes(0)))
            .unwrap()
            .unwrap();
        clocks.push(clock);
    }
    let before = store.pending_deliveries().unwrap();
    let breached = store.breach_due_clocks(minutes(6)).unwrap();
    assert_eq!(breached.len(), 2);
    assert!(store.breach_due_clocks(minutes(7)).unwrap().is_empty());
    assert_eq!(store.pending_deliveries().unwrap(), before + 2);

    let mut seen = Vec::new();
    for d in deliver_all(&store, minutes(8)) {
        assert_ne!(d.webhook_id, messages, "not subscribed to breaches");
        if d.webhook_id == breaches {
            assert_eq!(d.event.event_type, WebhookEventType::SlaBreached);
            seen.push((d.event.id, d.event.thread_id, d.event.data));
        }
    }
    seen.sort_by_key(|(id, _, _)| *id);
    let expected: Vec<_> = clocks.iter().map(|c| (c.thread_id, c.id)).collect();
    let got: Vec<_> = seen
        .iter()
        .map(|(_, thread, data)| (*thread, data["clock_id"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(got, expected);
    assert!(seen
        .iter()
        .all(|(_, _, data)| data["kind"] == "first_response" && data["target_seconds"] == 300));
}

/// A lease is exclusive until it ends, a later delivery of the same thread waits for the
/// earlier one, a retry waits for its time, and a failure disables the endpoint; a disabled
/// endpoint queues nothing new and leases nothing until enabled again.
pub fn leases_retries_and_failures(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let w = endpoint(&store, &[WebhookEventType::MessageCreated], false);
    let t = store
        .open_thread(ann.id, ThreadType::Loan, minutes(1))
        .unwrap();
    say_at(&store, t.id, &ann, "one", minutes(1));
    say_at(&store, t.id, &ann, "two", minutes(2));
    let now = minutes(3);
    let first = store.lease_deliveries(now, minutes(4), 10).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].event.data["body"], "one");
    assert_eq!(first[0].attempts, 0);
    // Leased: nothing for anyone else, and "two" waits behind "one".
    assert!(store
        .lease_deliveries(now, minutes(4), 10)
        .unwrap()
        .is_empty());
    // The lease lapsed: "one" again, never "two".
    let again = store.lease_deliveries(minutes(4), minutes(5), 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    store
        .finish_delivery(
            first[0].id,
            &report(minutes(4), 500),
            AttemptVerdict::RetryAt(minutes(6)),
        )
        .unwrap();
    assert!(store
        .lease_deliveries(minutes(5), minutes(7), 10)
        .unwrap()
        .is_empty());
    let retry = store.lease_deliveries(minutes(6), minutes(7), 10).unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].attempts, 1);
    let log = store.webhook_deliveries(w, 10).unwrap();
    assert_eq!(log[1].last_status, Some(500));
    store
        .finish_delivery(
            retry[0].id,
            &AttemptReport {
                status: None,
                error: Some("connection refused".into()),
                duration_ms: 1,
                at: minutes(6),
            },
            AttemptVerdict::Failed,
        )
        .unwrap();
    let disabled = store.webhook_by_id(w).unwrap().unwrap();
    assert!(!disabled.enabled);
    let log = store.webhook_deliveries(w, 10).unwrap();
    assert_eq!(log[1].state, DeliveryState::Failed);
    assert_eq!(log[1].last_error.as_deref(), Some("connection refused"));
    assert_eq!(log[1].attempts, 2);
    // Disabled: "two" waits, and nothing new is queued.
    assert!(store
        .lease_deliveries(minutes(7), minutes(8), 10)
        .unwrap()
        .is_empty());
    say_at(&store, t.id, &ann, "three", minutes(7));
    assert_eq!(store.pending_deliveries().unwrap(), 1);
    store.set_webhook_enabled(w, true).unwrap().unwrap();
    let leased = drain(&store, w, minutes(8));
    assert_eq!(leased.len(), 1);
    assert_eq!(
        store
            .set_webhook_enabled(WebhookId(w.0 + 99), true)
            .unwrap(),
        None
    );
}

/// A replay queues again, with the same event ids, the events since a time that the endpoint
/// subscribes to; deleting an endpoint deletes its deliveries.
pub fn replay_requeues_the_same_event_ids_and_delete_removes(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bo = agent(&store, "bo");
    let w = endpoint(&store, &[WebhookEventType::MessageCreated], false);
    let t = store
        .open_thread(ann.id, ThreadType::Loan, minutes(1))
        .unwrap();
    say_at(&store, t.id, &ann, "one", minutes(1));
    note_at(&store, t.id, &bo, "not for this endpoint", minutes(2));
    say_at(&store, t.id, &ann, "two", minutes(3));
    let first = drain(&store, w, minutes(4));
    assert_eq!(first.len(), 2);
    assert_eq!(
        store.replay_webhook(w, minutes(2), minutes(5)).unwrap(),
        Some(1)
    );
    let replayed = drain(&store, w, minutes(5));
    assert_eq!(replayed, vec![first[1]]);
    assert_eq!(
        store.replay_webhook(w, minutes(0), minutes(6)).unwrap(),
        Some(2)
    );
    assert_eq!(drain(&store, w, minutes(6)), first);
    assert_eq!(store.webhook_deliveries(w, 2).unwrap().len(), 2);
    assert_eq!(store.webhook_deliveries(w, 100).unwrap().len(), 5);
    assert_eq!(
        store
            .replay_webhook(WebhookId(w.0 + 99), minutes(0), minutes(6))
            .unwrap(),
        None
    );
    assert!(store.delete_webhook(w).unwrap());
    assert!(!store.delete_webhook(w).unwrap());
    assert_eq!(store.webhook_by_id(w).unwrap(), None);
    assert!(store.webhooks().unwrap().is_empty());
}

/// Workers on two instances leasing at once: every delivery is leased exactly once while
/// leases last, and each thread's deliveries in order.
pub fn concurrent_workers_on_two_instances_lease_each_delivery_once(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    const THREADS: usize = 6;
    const MESSAGES: usize = 8;
    const WORKERS: usize = 6;
    let w = endpoint(&store, &[WebhookEventType::MessageCreated], false);
    for i in 0..THREADS {
        let c = client(&store, &format!("client-{i}"));
        let t = store
            .open_thread(c.id, ThreadType::Loan, minutes(1))
            .unwrap();
        for m in 0..MESSAGES {
            say_at(&store, t.id, &c, &format!("{m}"), minutes(1));
        }
    }
    let now = minutes(2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(WORKERS));
    let handles: Vec<_> = (0..WORKERS)
        .map(|i| {
            let s = if i % 2 == 0 {
                Arc::clone(&store)
            } else {
                Arc::clone(&other)
            };
            let seen = Arc::clone(&seen);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut idle = 0;
                while idle < 20 {
                    let leased = s.lease_deliveries(now, minutes(60), 3).unwrap();
                    if leased.is_empty() {
                        idle += 1;
                        std::thread::yield_now();
                        continue;
                    }
                    idle = 0;
                    for d in leased {
                        let body = d.event.data["body"].as_str().unwrap_or("").to_owned();
                        seen.lock()
                            .unwrap()
                            .push((d.event.thread_id, body, d.event.id));
                        s.finish_delivery(d.id, &report(now, 200), AttemptVerdict::Delivered)
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Anything a slow worker left (idle rounds ran out) is drained here.
    let rest = drain(&store, w, now);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len() + rest.len(), THREADS * MESSAGES);
    let unique: HashSet<i64> = seen.iter().map(|(_, _, id)| *id).collect();
    assert_eq!(unique.len(), seen.len(), "a delivery was leased twice");
    // Per thread, in order.
    let mut threads: Vec<_> = seen.iter().map(|(t, _, _)| *t).collect();
    threads.sort();
    threads.dedup();
    for t in threads {
        let bodies: Vec<usize> = seen
            .iter()
            .filter(|(x, _, _)| *x == t)
            .map(|(_, b, _)| b.parse().unwrap())
            .collect();
        assert!(
            bodies.windows(2).all(|w| w[0] < w[1]),
            "out of order: {bodies:?}"
        );
    }
}
