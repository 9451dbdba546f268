//! The Redis adapters on a real three-master Redis Cluster that this test binary starts on
//! loopback ports (`chat_contract::redis_cluster`): the bus, throttle and presence contracts,
//! where events and keys land, and a master restarting under a live bus. If the cluster cannot
//! be started, every test here fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_contract::redis_cluster::RedisCluster;
use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{ThreadId, UserId};
use chat_redis::target::{shard_of, slot_of};
use chat_redis::{RedisBus, RedisTarget};
use futures_util::StreamExt;

const PATIENCE: Duration = Duration::from_secs(30);

fn target() -> RedisTarget {
    RedisTarget::Cluster(RedisCluster::shared().urls())
}

fn unique_prefix(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::new_v4())
}

fn typing(thread: i64, user: i64) -> Event {
    Event::Typing {
        thread_id: ThreadId(thread),
        user_id: UserId(user),
    }
}

async fn two_buses(nodes: &[String]) -> (RedisBus, RedisBus) {
    let prefix = unique_prefix("cluster-bus");
    let a = RedisBus::connect_cluster(nodes, &prefix)
        .await
        .expect("the test cluster must accept the bus");
    let b = RedisBus::connect_cluster(nodes, &prefix)
        .await
        .expect("the test cluster must accept the bus");
    (a, b)
}

mod bus_contract {
    use super::*;

    async fn two_instances() -> (RedisBus, RedisBus) {
        two_buses(&RedisCluster::shared().urls()).await
    }

    chat_contract::bus_contract_tests!(two_instances);
}

mod throttle_contract {
    use chat_domain::throttle::ThrottlePolicy;
    use chat_redis::throttle::{RedisThrottle, RedisThrottleOptions};

    use super::*;

    fn two_instances(policy: ThrottlePolicy) -> (Arc<RedisThrottle>, Arc<RedisThrottle>) {
        let prefix = unique_prefix("cluster-throttle");
        let connect = || {
            Arc::new(
                RedisThrottle::connect_to(
                    &target(),
                    &prefix,
                    policy,
                    RedisThrottleOptions::default(),
                )
                .expect("the test cluster must accept the throttle"),
            )
        };
        (connect(), connect())
    }

    chat_contract::throttle_contract_tests!(two_instances);
}

mod presence_contract {
    use chat_contract::presence::PresencePair;
    use chat_redis::presence::RedisPresence;

    use super::*;

    fn two_instances() -> PresencePair {
        let prefix = unique_prefix("cluster-presence");
        let connect = || {
            Arc::new(
                RedisPresence::connect_to(&target(), &prefix)
                    .expect("the test cluster must accept presence"),
            )
        };
        (connect(), connect(), Box::new(()))
    }

    chat_contract::presence_contract_tests!(two_instances);
}

/// Every key the throttle writes, on every master.
fn cluster_keys(pattern: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for url in RedisCluster::shared().urls() {
        let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
        let found: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut conn).unwrap();
        keys.extend(found);
    }
    keys.sort();
    keys
}

#[test]
fn throttle_keys_carry_the_fingerprint_as_hash_tag_so_count_and_lock_share_a_slot() {
    use chat_contract::throttle::{POLICY, T0};
    use chat_domain::ports::LoginThrottle;
    use chat_domain::throttle::ThrottleKey;
    use chat_domain::Timestamp;
    use chat_redis::throttle::{RedisThrottle, RedisThrottleOptions};

    let prefix = unique_prefix("cluster-keys");
    let throttle =
        RedisThrottle::connect_to(&target(), &prefix, POLICY, RedisThrottleOptions::default())
            .unwrap();
    let ann = ThrottleKey::username("ann", None);
    let ip = ThrottleKey::Ip("192.0.2.7".parse().unwrap());
    // Two failures of ann (one of them with the address), then the third locks ann only.
    throttle.record_failure(&[ann.clone(), ip.clone()], Timestamp(T0));
    throttle.record_failure(std::slice::from_ref(&ann), Timestamp(T0));
    throttle.record_failure(std::slice::from_ref(&ann), Timestamp(T0));
    let keys = cluster_keys(&format!("{prefix}:*"));
    let ann_lock = format!("{prefix}:throttle:{{{}}}:lock", ann.fingerprint());
    let ip_failures = format!("{prefix}:throttle:{{{}}}:failures", ip.fingerprint());
    assert_eq!(keys, {
        let mut expected = vec![ann_lock.clone(), ip_failures];
        expected.sort();
        expected
    });
    let ann_failures = format!("{prefix}:throttle:{{{}}}:failures", ann.fingerprint());
    assert_eq!(slot_of(&ann_lock), slot_of(&ann_failures));
    assert!(throttle.check(&[ann], Timestamp(T0 + 1)).is_err());
    assert!(throttle.check(&[ip], Timestamp(T0 + 1)).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_instances_subscribe_every_shard_channel_on_the_master_owning_it() {
    let cluster = RedisCluster::shared();
    let (a, b) = two_buses(&cluster.urls()).await;
    assert_eq!(a.channels(), b.channels());
    assert_eq!(a.channels().len(), 16);
    // The channels spread over the masters: not all on one.
    let owners: std::collections::BTreeSet<u16> = a
        .channels()
        .iter()
        .map(|c| owner_port(cluster, c))
        .collect();
    assert!(owners.len() >= 2, "all shard channels on one master");
    for channel in a.channels() {
        assert_eq!(cluster.shard_subscribers(channel), 2, "{channel}");
    }
    // A thread's events, published by A, reach B in order.
    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(5))]).unwrap();
    for user in 1..=50 {
        a.publish(typing(5, user)).unwrap();
    }
    for user in 1..=50 {
        assert_eq!(next_event(&mut on_b).await, typing(5, user));
    }
    assert_eq!(b.stats().received, 50);
}

/// The port of the master owning `channel`'s slot.
fn owner_port(cluster: &RedisCluster, channel: &str) -> u16 {
    let slot = slot_of(channel);
    let url = &cluster.urls()[0];
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let ranges: Vec<(u16, u16, (String, u16))> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query::<Vec<redis::Value>>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|range| match range {
            redis::Value::Array(fields) => (
                redis::from_redis_value(&fields[0]).unwrap(),
                redis::from_redis_value(&fields[1]).unwrap(),
                match &fields[2] {
                    redis::Value::Array(node) => (
                        redis::from_redis_value(&node[0]).unwrap(),
                        redis::from_redis_value(&node[1]).unwrap(),
                    ),
                    other => panic!("{other:?}"),
                },
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    ranges
        .iter()
        .find(|(start, end, _)| (*start..=*end).contains(&slot))
        .map(|(_, _, (_, port))| *port)
        .expect("every slot has a master")
}

async fn next(stream: &mut EventStream) -> Delivery {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("no delivery in time")
        .expect("stream ended")
}

async fn next_event(stream: &mut EventStream) -> Event {
    loop {
        if let Delivery::Event(e) = next(stream).await {
            return (*e).clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flow_again_after_the_master_of_a_threads_channel_restarts() {
    // A cluster of its own: the restart must not disturb the other tests.
    let mut cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .unwrap();
    let (a, b) = two_buses(&cluster.urls()).await;
    let thread = 7;
    let channel = a.channels()[shard_of(&typing(thread, 0), a.channels().len())].clone();
    let port = owner_port(&cluster, &channel);
    let index = cluster.ports().iter().position(|p| *p == port).unwrap();

    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(thread))]).unwrap();
    a.publish(typing(thread, 1)).unwrap();
    assert_eq!(next_event(&mut on_b).await, typing(thread, 1));

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart_master(index);
        cluster
    })
    .await
    .unwrap();
    let restarted = Instant::now();

    // B's subscriber notices, starts over, and tells its subscribers to resynchronise.
    loop {
        if next(&mut on_b).await == Delivery::Gap {
            break;
        }
    }
    // Then the thread's events flow again, within a bounded time.
    let deadline = Instant::now() + PATIENCE;
    let mut user = 100;
    'flowing: loop {
        user += 1;
        a.publish(typing(thread, user)).unwrap();
        // Any event published since the restart counts (those published while the master was
        // coming back may be lost, and what follows them is delivered a little later).
        while let Ok(Some(delivery)) =
            tokio::time::timeout(Duration::from_millis(200), on_b.next()).await
        {
            if let Delivery::Event(e) = delivery {
                if matches!(*e, Event::Typing { user_id, .. } if user_id.0 > 100) {
                    break 'flowing;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no event within {PATIENCE:?} of the master's restart"
        );
    }
    eprintln!(
        "events flow again {:?} after the master came back",
        restarted.elapsed()
    );
    assert!(b.is_subscribed());
    assert!(b.stats().reconnects >= 1);
    assert_eq!(cluster.shard_subscribers(&channel), 2);
    // The other masters' channels still work too.
    let other = (thread + 1..thread + 17)
        .find(|t| {
            let c = &a.channels()[shard_of(&typing(*t, 0), a.channels().len())];
            owner_port(&cluster, c) != port
        })
        .unwrap();
    let mut on_other = b.subscribe(&[Topic::Thread(ThreadId(other))]).unwrap();
    a.publish(typing(other, 1)).unwrap();
    assert_eq!(next_event(&mut on_other).await, typing(other, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shard_connections_answer_their_probes_and_stay() {
    use chat_redis::RedisBusOptions;
    let cluster = RedisCluster::shared();
    let options = RedisBusOptions {
        probe_interval: Duration::from_millis(100),
        ..RedisBusOptions::default()
    };
    let prefix = unique_prefix("cluster-probe");
    let target = RedisTarget::Cluster(cluster.urls());
    let a = RedisBus::open(&target, &prefix, options, false)
        .await
        .unwrap();
    let b = RedisBus::open(&target, &prefix, options, false)
        .await
        .unwrap();
    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(9))]).unwrap();
    // Ten probe rounds on every master's connection: all answered, nothing replaced.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(b.stats().reconnects, 0);
    assert!(b.is_subscribed());
    a.publish(typing(9, 1)).unwrap();
    assert_eq!(
        next(&mut on_b).await,
        Delivery::Event(Arc::new(typing(9, 1)))
    );
}
