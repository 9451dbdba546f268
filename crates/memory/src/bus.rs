use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::DomainResult;

/// Events delivered within one process. Each subscription has a bounded buffer; a subscriber
/// that falls behind loses events and is told so with a [`Delivery::Gap`], so a slow reader
/// never makes the publisher wait or buffer without bound.
#[derive(Clone)]
pub struct InProcessBus {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field("buffer", &self.hub.buffer)
            .finish()
    }
}

struct Subscriber {
    tx: mpsc::Sender<Delivery>,
    lagged: Arc<AtomicBool>,
}

struct Hub {
    buffer: usize,
    next_id: AtomicU64,
    topics: Mutex<HashMap<Topic, HashMap<u64, Arc<Subscriber>>>>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new(256)
    }
}

impl InProcessBus {
    /// A bus whose subscriptions each buffer up to `buffer` deliveries.
    pub fn new(buffer: usize) -> Self {
        InProcessBus {
            hub: Arc::new(Hub {
                buffer: buffer.max(1),
                next_id: AtomicU64::new(1),
                topics: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Delivers an event to this process's subscribers of its topics (each subscriber once).
    pub fn deliver(&self, event: Event) {
        let event = Arc::new(event);
        let mut targets: HashMap<u64, Arc<Subscriber>> = HashMap::new();
        {
            let topics = self.hub.lock();
            for topic in event.topics() {
                if let Some(subs) = topics.get(&topic) {
                    for (id, sub) in subs {
                        targets.entry(*id).or_insert_with(|| Arc::clone(sub));
                    }
                }
            }
        }
        for sub in targets.values() {
            if sub
                .tx
                .try_send(Delivery::Event(Arc::clone(&event)))
                .is_err()
            {
                sub.lagged.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Tells every subscriber that events may have been lost (e.g. the broker reconnected).
    pub fn signal_gap(&self) {
        let topics = self.hub.lock();
        for subs in topics.values() {
            for sub in subs.values() {
                if sub.tx.try_send(Delivery::Gap).is_err() {
                    sub.lagged.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// How many subscriptions are open (for metrics and tests).
    pub fn subscriptions(&self) -> usize {
        let topics = self.hub.lock();
        let mut ids: Vec<u64> = topics.values().flat_map(|s| s.keys().copied()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, HashMap<u64, Arc<Subscriber>>>> {
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, event: Event) -> DomainResult<()> {
        self.deliver(event);
        Ok(())
    }

    fn subscribe(&self, topics: &[Topic]) -> DomainResult<EventStream> {
        let (tx, rx) = mpsc::channel(self.hub.buffer);
        let lagged = Arc::new(AtomicBool::new(false));
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        let sub = Arc::new(Subscriber {
            tx,
            lagged: Arc::clone(&lagged),
        });
        {
            let mut map = self.hub.lock();
            for topic in topics {
                map.entry(*topic).or_default().insert(id, Arc::clone(&sub));
            }
        }
        Ok(Box::pin(Subscription {
            rx,
            lagged,
            id,
            topics: topics.to_vec(),
            hub: Arc::downgrade(&self.hub),
        }))
    }

    fn backend_name(&self) -> &'static str {
        "in-process"
    }
}

struct Subscription {
    rx: mpsc::Receiver<Delivery>,
    lagged: Arc<AtomicBool>,
    id: u64,
    topics: Vec<Topic>,
    hub: Weak<Hub>,
}

impl Stream for Subscription {
    type Item = Delivery;

    /// A gap also discards what was still buffered: the subscriber resynchronises from the
    /// store anyway, and the emptied buffer lets new events through. (Reporting the gap while
    /// keeping a full buffer would drop every later event and report gap after gap for as long
    /// as publishers outpace one poll.)
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delivery>> {
        if self.lagged.swap(false, Ordering::SeqCst) {
            while self.rx.try_recv().is_ok() {}
            return Poll::Ready(Some(Delivery::Gap));
        }
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            let mut map = hub.lock();
            for topic in &self.topics {
                if let Some(subs) = map.get_mut(topic) {
                    subs.remove(&self.id);
                    if subs.is_empty() {
                        map.remove(topic);
                    }
                }
            }
        }
    }
}
