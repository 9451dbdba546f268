//! The event-bus contract: one check per rule of `chat_domain::ports::EventBus`. Each takes two
//! buses on one backend: instance A and instance B (clones of one bus in-process; two
//! connections to one broker otherwise).
//!
//! Every wait is bounded by a timeout, so a missing delivery fails the check instead of hanging
//! it; no check asserts how fast anything happens.

use std::sync::Arc;
use std::time::Duration;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{ThreadId, Timestamp, UserId};
use chat_memory::InProcessBus;
use futures_util::StreamExt;
use tokio::time::timeout;

/// How long a check waits for one delivery before it fails.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// How many events the slow-subscriber check publishes: more than any sane buffer.
pub const FLOOD: i64 = 10_000;

fn typing(thread: i64, n: i64) -> Event {
    Event::Typing {
        thread_id: ThreadId(thread),
        user_id: UserId(n),
    }
}

fn claimed(thread: i64, agent: i64) -> Event {
    Event::Claimed {
        thread_id: ThreadId(thread),
        agent_id: UserId(agent),
        until: Timestamp(1_764_064_800_000),
    }
}

fn taken_over(thread: i64, from: i64, to: i64) -> Event {
    Event::TakenOver {
        thread_id: ThreadId(thread),
        from: Some(UserId(from)),
        to: UserId(to),
        until: Timestamp(1_764_064_800_000),
    }
}

/// The next delivery, failing the check if none comes in time or the stream ends.
pub async fn next_delivery(stream: &mut EventStream, who: &str) -> Delivery {
    match timeout(DELIVERY_TIMEOUT, stream.next()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("{who}: the subscription ended"),
        Err(_) => panic!("{who}: nothing delivered within {DELIVERY_TIMEOUT:?}"),
    }
}

/// The next event, failing the check on a gap.
pub async fn next_event(stream: &mut EventStream, who: &str) -> Event {
    match next_delivery(stream, who).await {
        Delivery::Event(event) => (*event).clone(),
        Delivery::Gap => panic!("{who}: unexpected gap"),
    }
}

fn publish(bus: &Arc<dyn EventBus>, event: Event) {
    bus.publish(event).unwrap();
}

/// An event published on A reaches subscribers on B and on A (and the other way round).
pub async fn an_event_reaches_subscribers_on_both_instances(
    a: Arc<dyn EventBus>,
    b: Arc<dyn EventBus>,
) {
    let mut on_a = a.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    publish(&a, typing(1, 7));
    assert_eq!(next_event(&mut on_b, "subscriber on B").await, typing(1, 7));
    assert_eq!(next_event(&mut on_a, "subscriber on A").await, typing(1, 7));
    publish(&b, claimed(1, 8));
    assert_eq!(
        next_event(&mut on_a, "subscriber on A").await,
        claimed(1, 8)
    );
    assert_eq!(
        next_event(&mut on_b, "subscriber on B").await,
        claimed(1, 8)
    );
}

/// A subscriber gets the events of its topics only.
pub async fn only_subscribers_of_an_events_topics_receive_it(
    a: Arc<dyn EventBus>,
    b: Arc<dyn EventBus>,
) {
    let mut thread1 = b.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    let mut thread2 = b.subscribe(&[Topic::Thread(ThreadId(2))]).unwrap();
    let mut queue = b.subscribe(&[Topic::Queue]).unwrap();
    let mut user5 = b.subscribe(&[Topic::User(UserId(5))]).unwrap();

    publish(&a, typing(2, 1)); // thread 2 only
    publish(&a, typing(1, 2)); // thread 1 only
    publish(&a, claimed(3, 9)); // thread 3 and the queue
    publish(&a, taken_over(4, 5, 6)); // thread 4, the queue and user 5
    publish(&a, typing(1, 99)); // markers: nothing else came in between
    publish(&a, typing(2, 99));
    publish(&a, taken_over(7, 5, 6));

    assert_eq!(next_event(&mut thread1, "thread 1").await, typing(1, 2));
    assert_eq!(next_event(&mut thread1, "thread 1").await, typing(1, 99));
    assert_eq!(next_event(&mut thread2, "thread 2").await, typing(2, 1));
    assert_eq!(next_event(&mut thread2, "thread 2").await, typing(2, 99));
    assert_eq!(next_event(&mut queue, "queue").await, claimed(3, 9));
    assert_eq!(next_event(&mut queue, "queue").await, taken_over(4, 5, 6));
    assert_eq!(next_event(&mut queue, "queue").await, taken_over(7, 5, 6));
    assert_eq!(next_event(&mut user5, "user 5").await, taken_over(4, 5, 6));
    assert_eq!(next_event(&mut user5, "user 5").await, taken_over(7, 5, 6));
}

/// A subscriber of several of an event's topics gets it once.
pub async fn a_subscriber_of_several_topics_gets_an_event_once(
    a: Arc<dyn EventBus>,
    b: Arc<dyn EventBus>,
) {
    let topics = [
        Topic::Thread(ThreadId(1)),
        Topic::Queue,
        Topic::User(UserId(5)),
    ];
    let mut on_b = b.subscribe(&topics).unwrap();
    let mut on_a = a.subscribe(&topics).unwrap();
    publish(&a, taken_over(1, 5, 6)); // on all three topics
    publish(&a, typing(1, 42)); // marker
    for (stream, who) in [
        (&mut on_b, "subscriber on B"),
        (&mut on_a, "subscriber on A"),
    ] {
        assert_eq!(next_event(stream, who).await, taken_over(1, 5, 6));
        assert_eq!(
            next_event(stream, who).await,
            typing(1, 42),
            "{who}: a duplicate came"
        );
    }
}

/// Each publisher's events arrive in the order it published them, at every subscriber.
pub async fn events_arrive_in_publication_order(a: Arc<dyn EventBus>, b: Arc<dyn EventBus>) {
    const EACH: i64 = 100;
    let topic = [Topic::Thread(ThreadId(1))];
    let readers: Vec<_> = [b.subscribe(&topic).unwrap(), a.subscribe(&topic).unwrap()]
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..2 * EACH {
                    match next_event(&mut stream, "ordered reader").await {
                        Event::Typing { user_id, .. } => got.push(user_id.0),
                        other => panic!("unexpected event {other:?}"),
                    }
                }
                got
            })
        })
        .collect();
    let publishers: Vec<_> = [(Arc::clone(&a), 0), (Arc::clone(&b), 1_000)]
        .into_iter()
        .map(|(bus, base)| {
            tokio::task::spawn_blocking(move || {
                for i in 0..EACH {
                    bus.publish(typing(1, base + i)).unwrap();
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    for reader in readers {
        let got = reader.await.unwrap();
        let from_a: Vec<i64> = got.iter().copied().filter(|n| *n < 1_000).collect();
        let from_b: Vec<i64> = got.iter().copied().filter(|n| *n >= 1_000).collect();
        assert_eq!(from_a, (0..EACH).collect::<Vec<_>>());
        assert_eq!(from_b, (1_000..1_000 + EACH).collect::<Vec<_>>());
    }
}

/// Dropping a subscription disturbs neither publishing nor other subscriptions, and a new
/// subscription sees only what is published after it.
pub async fn a_dropped_subscription_receives_nothing_and_disturbs_nothing(
    a: Arc<dyn EventBus>,
    b: Arc<dyn EventBus>,
) {
    let topic = [Topic::Thread(ThreadId(1))];
    let mut kept = b.subscribe(&topic).unwrap();
    for _ in 0..50 {
        drop(b.subscribe(&topic).unwrap());
        drop(
            a.subscribe(&[Topic::Thread(ThreadId(1)), Topic::Queue])
                .unwrap(),
        );
    }
    let dropped = b.subscribe(&topic).unwrap();
    publish(&a, typing(1, 1));
    drop(dropped);
    publish(&a, typing(1, 2));
    let mut fresh = b.subscribe(&topic).unwrap();
    publish(&a, typing(1, 3));
    assert_eq!(next_event(&mut kept, "kept").await, typing(1, 1));
    assert_eq!(next_event(&mut kept, "kept").await, typing(1, 2));
    assert_eq!(next_event(&mut kept, "kept").await, typing(1, 3));
    // Events published before `fresh` subscribed may still reach it on a networked bus (they
    // were in flight); the port promises only the ones published after, in order.
    loop {
        let event = next_event(&mut fresh, "fresh").await;
        if event == typing(1, 3) {
            break;
        }
        assert!(
            event == typing(1, 1) || event == typing(1, 2),
            "fresh got {event:?}"
        );
    }
}

/// A subscriber that never reads does not block publishing; it later sees a gap instead of
/// every event buffered, and after the gap it receives new events again.
pub async fn a_slow_subscriber_never_blocks_publish_and_sees_a_gap(
    a: Arc<dyn EventBus>,
    b: Arc<dyn EventBus>,
) {
    let mut slow = b.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    let mut probe = b.subscribe(&[Topic::Thread(ThreadId(2))]).unwrap();
    let publisher = Arc::clone(&a);
    let flood = tokio::task::spawn_blocking(move || {
        for i in 0..FLOOD {
            publisher.publish(typing(1, i)).unwrap();
        }
        // after the flood, on a topic the slow subscriber does not read
        publisher.publish(typing(2, FLOOD)).unwrap();
    });
    timeout(Duration::from_secs(120), flood)
        .await
        .expect("publishing to a subscriber that never reads must not block")
        .unwrap();
    // once B has delivered the probe's event, it has handed the whole flood to `slow`
    assert_eq!(next_event(&mut probe, "probe").await, typing(2, FLOOD));

    let mut before_gap = 0;
    loop {
        match next_delivery(&mut slow, "slow subscriber").await {
            Delivery::Gap => break,
            Delivery::Event(_) => {
                before_gap += 1;
                assert!(
                    before_gap < FLOOD,
                    "all {FLOOD} events were buffered for a subscriber that never read"
                );
            }
        }
    }

    // the subscription still works after the gap: a new event arrives (any gap reported on
    // the way is answered with a new event, as a resynchronising subscriber would see them)
    let mut marker = FLOOD + 1;
    publish(&a, typing(1, marker));
    for _ in 0..=FLOOD {
        match next_delivery(&mut slow, "slow subscriber after the gap").await {
            Delivery::Event(event) => {
                if let Event::Typing { user_id, .. } = *event {
                    if user_id.0 > FLOOD {
                        return;
                    }
                }
            }
            Delivery::Gap => {
                marker += 1;
                publish(&a, typing(1, marker));
            }
        }
    }
    panic!("no new event reached the subscriber after its gap");
}

/// In-process only: dropped subscriptions are forgotten (no leak).
pub async fn in_process_bus_forgets_dropped_subscriptions(bus: InProcessBus) {
    assert_eq!(bus.subscriptions(), 0);
    let one = bus.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    let several = bus
        .subscribe(&[
            Topic::Thread(ThreadId(1)),
            Topic::Queue,
            Topic::User(UserId(3)),
        ])
        .unwrap();
    let other = bus.subscribe(&[Topic::Queue]).unwrap();
    assert_eq!(bus.subscriptions(), 3);
    drop(several);
    assert_eq!(bus.subscriptions(), 2);
    drop(one);
    drop(other);
    assert_eq!(bus.subscriptions(), 0);
    bus.publish(typing(1, 1)).unwrap();
    bus.publish(claimed(1, 1)).unwrap();
    assert_eq!(bus.subscriptions(), 0);
}
