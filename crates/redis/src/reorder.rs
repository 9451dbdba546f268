//! Publication order per publisher across shard channels.
//!
//! On a cluster one instance's events travel on several shard channels (one per thread shard),
//! through several masters, so a receiver may get them out of order: thread 3's claim after
//! thread 4's, on the queue that sees both. The bus promises publication order per publisher,
//! so on a cluster each envelope carries its publisher's sequence number and the receiver puts
//! each publisher's events back in order: an event is delivered once all before it were; one
//! that waits longer than [`Reorder::max_wait`] for a predecessor that never comes (it was
//! dropped on the way: pub/sub is at most once) releases the rest in order with a gap, so the
//! subscribers resynchronise from the store.
//!
//! Where a publisher's order starts: its numbers start at 0, so an event numbered 0 is its
//! first. Any other first sighting (the receiver started after the publisher, or forgot it) may
//! have overtaken earlier events on another shard, so the publisher *settles* first: for up to
//! `max_wait` its events are held and the lowest number seen becomes the start, then delivery
//! goes on in order from there (no gap is reported: nothing was lost).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chat_domain::event::Event;
use uuid::Uuid;

/// How long a publisher with no events waiting is remembered.
const FORGET_AFTER: Duration = Duration::from_secs(600);

struct Publisher {
    /// The sequence number expected next.
    next: u64,
    /// Events that came early, by sequence number.
    waiting: BTreeMap<u64, Event>,
    /// Since when the oldest waiting event waits.
    waiting_since: Option<Instant>,
    last_seen: Instant,
    /// While its start is not known yet: until when the lowest number seen is awaited.
    settling_until: Option<Instant>,
}

/// What [`Reorder`] hands back: events to deliver now, in order, and whether a gap came first.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Ready {
    /// Events were skipped (lost on the way): subscribers must resynchronise.
    pub gap: bool,
    /// Events to deliver, in their publisher's order.
    pub events: Vec<Event>,
}

/// Per-publisher reordering (see the module docs).
pub(crate) struct Reorder {
    max_wait: Duration,
    publishers: HashMap<Uuid, Publisher>,
}

impl Reorder {
    /// Events wait at most `max_wait` for their predecessors.
    pub fn new(max_wait: Duration) -> Self {
        Reorder {
            max_wait,
            publishers: HashMap::new(),
        }
    }

    /// Takes event `seq` of `origin`; returns what can be delivered now.
    pub fn accept(&mut self, origin: Uuid, seq: u64, event: Event, now: Instant) -> Ready {
        let max_wait = self.max_wait;
        let publisher = self.publishers.entry(origin).or_insert_with(|| Publisher {
            next: seq,
            waiting: BTreeMap::new(),
            waiting_since: None,
            last_seen: now,
            // Number 0 is the publisher's first event; after any other the start is awaited.
            settling_until: (seq > 0).then(|| now + max_wait),
        });
        publisher.last_seen = now;
        let mut ready = Ready::default();
        if let Some(until) = publisher.settling_until {
            publisher.next = publisher.next.min(seq);
            publisher.waiting.insert(seq, event);
            if seq == 0 || now >= until {
                publisher.settling_until = None;
                release_in_order(publisher, &mut ready);
                publisher.waiting_since = (!publisher.waiting.is_empty()).then_some(now);
            }
            return ready;
        }
        if seq < publisher.next {
            // Late after its place was given up (a gap was reported then): deliver as is.
            ready.events.push(event);
            return ready;
        }
        publisher.waiting.insert(seq, event);
        release_in_order(publisher, &mut ready);
        if publisher.waiting.is_empty() {
            publisher.waiting_since = None;
        } else if publisher.waiting_since.is_none() {
            publisher.waiting_since = Some(now);
        }
        ready
    }

    /// Gives up on predecessors that did not come within the wait: what waited longer is
    /// delivered in order, after a gap. Also forgets publishers long silent.
    pub fn expire(&mut self, now: Instant) -> Ready {
        let mut ready = Ready::default();
        for publisher in self.publishers.values_mut() {
            if let Some(until) = publisher.settling_until {
                if now >= until {
                    // Settled: the lowest number seen starts the order (nothing was lost).
                    publisher.settling_until = None;
                    release_in_order(publisher, &mut ready);
                    publisher.waiting_since = (!publisher.waiting.is_empty()).then_some(now);
                }
                continue;
            }
            let Some(since) = publisher.waiting_since else {
                continue;
            };
            if now.duration_since(since) < self.max_wait {
                continue;
            }
            ready.gap = true;
            if let Some(first) = publisher.waiting.keys().next() {
                publisher.next = *first;
            }
            release_in_order(publisher, &mut ready);
            publisher.waiting_since = (!publisher.waiting.is_empty()).then_some(now);
        }
        self.publishers
            .retain(|_, p| !p.waiting.is_empty() || now.duration_since(p.last_seen) < FORGET_AFTER);
        ready
    }

    /// Forgets everything (after a resubscription, which reports a gap anyway), delivering
    /// what waited, in order.
    pub fn reset(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        for (_, publisher) in self.publishers.drain() {
            events.extend(publisher.waiting.into_values());
        }
        events
    }

    /// The wait allowed for a predecessor.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }
}

fn release_in_order(publisher: &mut Publisher, ready: &mut Ready) {
    while let Some(event) = publisher.waiting.remove(&publisher.next) {
        ready.events.push(event);
        publisher.next += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{ThreadId, UserId};

    fn ev(n: i64) -> Event {
        Event::Typing {
            thread_id: ThreadId(n),
            user_id: UserId(1),
        }
    }

    #[test]
    fn early_events_wait_for_their_predecessors() {
        let mut r = Reorder::new(Duration::from_millis(500));
        let a = Uuid::new_v4();
        let t = Instant::now();
        assert_eq!(r.accept(a, 0, ev(0), t).events, vec![ev(0)]);
        for n in 1..10 {
            assert_eq!(r.accept(a, n, ev(n as i64), t).events, vec![ev(n as i64)]);
        }
        assert_eq!(r.accept(a, 10, ev(10), t).events, vec![ev(10)]);
        assert!(r.accept(a, 12, ev(12), t).events.is_empty());
        assert!(r.accept(a, 13, ev(13), t).events.is_empty());
        assert_eq!(
            r.accept(a, 11, ev(11), t).events,
            vec![ev(11), ev(12), ev(13)]
        );
        // Another publisher has its own sequence.
        let b = Uuid::new_v4();
        assert_eq!(r.accept(b, 0, ev(0), t).events, vec![ev(0)]);
        assert_eq!(r.expire(t + Duration::from_secs(1)), Ready::default());
    }

    #[test]
    fn a_publisher_first_seen_mid_sequence_settles_on_the_lowest_number() {
        let mut r = Reorder::new(Duration::from_millis(500));
        let a = Uuid::new_v4();
        let t = Instant::now();
        // Its 7th event overtook the 3rd to 6th on another shard: held, not taken as the start.
        assert!(r.accept(a, 7, ev(7), t).events.is_empty());
        assert!(r.accept(a, 4, ev(4), t).events.is_empty());
        assert!(r.accept(a, 3, ev(3), t).events.is_empty());
        assert!(r.accept(a, 5, ev(5), t).events.is_empty());
        assert_eq!(r.expire(t + Duration::from_millis(100)), Ready::default());
        assert!(r.accept(a, 6, ev(6), t).events.is_empty());
        // Settled: from the lowest seen, in order, with no gap.
        let ready = r.expire(t + Duration::from_millis(500));
        assert!(!ready.gap);
        assert_eq!(ready.events, vec![ev(3), ev(4), ev(5), ev(6), ev(7)]);
        assert_eq!(r.accept(a, 8, ev(8), t).events, vec![ev(8)]);
    }

    #[test]
    fn a_publishers_first_event_ends_settling_at_once() {
        let mut r = Reorder::new(Duration::from_millis(500));
        let a = Uuid::new_v4();
        let t = Instant::now();
        assert!(r.accept(a, 2, ev(2), t).events.is_empty());
        assert!(r.accept(a, 1, ev(1), t).events.is_empty());
        assert_eq!(r.accept(a, 0, ev(0), t).events, vec![ev(0), ev(1), ev(2)]);
    }

    #[test]
    fn a_lost_predecessor_releases_the_rest_after_the_wait_with_a_gap() {
        let mut r = Reorder::new(Duration::from_millis(500));
        let a = Uuid::new_v4();
        let t = Instant::now();
        r.accept(a, 0, ev(0), t);
        r.accept(a, 1, ev(1), t);
        assert!(r.accept(a, 3, ev(3), t).events.is_empty());
        assert!(r.accept(a, 4, ev(4), t).events.is_empty());
        assert_eq!(r.expire(t + Duration::from_millis(100)), Ready::default());
        let ready = r.expire(t + Duration::from_millis(600));
        assert!(ready.gap);
        assert_eq!(ready.events, vec![ev(3), ev(4)]);
        // The lost one arriving late is delivered as is; the order goes on after 4.
        assert_eq!(r.accept(a, 2, ev(2), t).events, vec![ev(2)]);
        assert_eq!(r.accept(a, 5, ev(5), t).events, vec![ev(5)]);
    }
}
