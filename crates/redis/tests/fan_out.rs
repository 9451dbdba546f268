//! The Redis bus against a real Redis: events cross instances, each exactly once locally, and a
//! bus whose Redis restarts reconnects by itself and reports the gap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::{ThreadId, UserId};
use chat_redis::RedisBus;
use futures_util::StreamExt;

const PATIENCE: Duration = Duration::from_secs(15);

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4())
}

fn typing(thread: i64, user: i64) -> Event {
    Event::Typing {
        thread_id: ThreadId(thread),
        user_id: UserId(user),
    }
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

#[tokio::test]
async fn an_event_published_on_one_instance_reaches_subscribers_on_another() {
    let prefix = unique_prefix();
    let a = RedisBus::connect(&redis_url(), &prefix).await.unwrap();
    let b = RedisBus::connect(&redis_url(), &prefix).await.unwrap();
    let mut on_a = a.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();

    for user in 1..=3 {
        a.publish(typing(1, user)).unwrap();
    }
    b.publish(typing(1, 4)).unwrap();

    // B sees A's events in A's order, then its own.
    let mut seen_b = Vec::new();
    for _ in 0..4 {
        seen_b.push(next_event(&mut on_b).await);
    }
    let from_a: Vec<_> = seen_b
        .iter()
        .filter(|e| **e != typing(1, 4))
        .cloned()
        .collect();
    assert_eq!(from_a, vec![typing(1, 1), typing(1, 2), typing(1, 3)]);
    assert!(seen_b.contains(&typing(1, 4)));

    // A sees each event exactly once: its own are not echoed back from Redis.
    let mut seen_a = Vec::new();
    for _ in 0..4 {
        seen_a.push(next_event(&mut on_a).await);
    }
    seen_a.sort_by_key(|e| match e {
        Event::Typing { user_id, .. } => user_id.0,
        _ => 0,
    });
    assert_eq!(
        seen_a,
        vec![typing(1, 1), typing(1, 2), typing(1, 3), typing(1, 4)]
    );
    // A marker published last arrives next: nothing duplicated in between.
    a.publish(typing(1, 99)).unwrap();
    assert_eq!(next_event(&mut on_a).await, typing(1, 99));
    assert_eq!(next_event(&mut on_b).await, typing(1, 99));
}

#[tokio::test]
async fn instances_with_other_prefixes_do_not_hear_each_other() {
    let a = RedisBus::connect(&redis_url(), &unique_prefix())
        .await
        .unwrap();
    let b = RedisBus::connect(&redis_url(), &unique_prefix())
        .await
        .unwrap();
    let b_twin = RedisBus::connect(&redis_url(), b.channel().trim_end_matches(":events"))
        .await
        .unwrap();
    let mut on_b = b.subscribe(&[Topic::Queue]).unwrap();
    let claimed = |t| Event::Released {
        thread_id: ThreadId(t),
        agent_id: UserId(1),
    };
    a.publish(claimed(1)).unwrap();
    b_twin.publish(claimed(2)).unwrap();
    assert_eq!(next_event(&mut on_b).await, claimed(2));
}

#[tokio::test]
async fn topics_filter_what_a_subscriber_receives() {
    let prefix = unique_prefix();
    let a = RedisBus::connect(&redis_url(), &prefix).await.unwrap();
    let b = RedisBus::connect(&redis_url(), &prefix).await.unwrap();
    let mut user_7 = b.subscribe(&[Topic::User(UserId(7))]).unwrap();
    a.publish(typing(5, 1)).unwrap();
    let taken = Event::TakenOver {
        thread_id: ThreadId(5),
        from: Some(UserId(7)),
        to: UserId(8),
        until: chat_domain::Timestamp(1_000),
    };
    a.publish(taken.clone()).unwrap();
    assert_eq!(next_event(&mut user_7).await, taken);
}

#[tokio::test]
async fn connecting_to_an_unreachable_redis_fails() {
    let port = free_port();
    let err = RedisBus::connect(&format!("redis://127.0.0.1:{port}"), "x").await;
    assert!(err.is_err());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private redis-server, killed on drop.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let mut redis = PrivateRedis {
            port,
            child: Some(child),
        };
        redis.wait_ready();
        redis
    }

    fn wait_ready(&mut self) {
        let deadline = std::time::Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_bus_whose_redis_restarts_reconnects_and_reports_a_gap() {
    let port = free_port();
    let mut redis = PrivateRedis::start(port);
    let prefix = unique_prefix();
    let a = RedisBus::connect(&redis.url(), &prefix).await.unwrap();
    let b = RedisBus::connect(&redis.url(), &prefix).await.unwrap();
    let mut on_b = b.subscribe(&[Topic::Thread(ThreadId(1))]).unwrap();
    a.publish(typing(1, 1)).unwrap();
    assert_eq!(next_event(&mut on_b).await, typing(1, 1));

    redis.kill();
    // Publishing while Redis is down neither blocks nor fails.
    a.publish(typing(1, 2)).unwrap();
    let mut redis = PrivateRedis::start(port);

    // B's subscriber comes back by itself and tells its subscribers to resynchronise.
    loop {
        if next(&mut on_b).await == Delivery::Gap {
            break;
        }
    }
    // Then live events flow again (A's publisher recovers by itself too).
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        a.publish(typing(1, 3)).unwrap();
        match tokio::time::timeout(Duration::from_millis(200), on_b.next()).await {
            Ok(Some(Delivery::Event(e))) if *e == typing(1, 3) => break,
            _ => assert!(
                tokio::time::Instant::now() < deadline,
                "no event after restart"
            ),
        }
    }
    assert!(b.is_subscribed());
    assert!(b.stats().reconnects >= 1);
    redis.kill();
}
