//! The routing contract (`chat_domain::ports::RoutingStore`): availability, capacity, the mode,
//! assignment order and capacity, and concurrent assignment on two instances.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};

use chat_domain::ports::Store;
use chat_domain::routing::{Availability, RoutingMode, TransferCheck};
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::user::{Role, User};
use chat_domain::{Conflict, DomainError, ThreadId, UserId};

use crate::fixtures::{agent, client, minutes, reload, thread, user, wait_in_queue, T0};

/// A thread of a new client whose client wrote at `at_minute` (queue rank `rank_key`).
fn waiting(store: &Arc<dyn Store>, name: &str, at_minute: i64, rank_key: i64) -> Thread {
    let c = client(store, name);
    let t = thread(store, &c, ThreadType::Other);
    wait_in_queue(store, t.id, &c, minutes(at_minute), rank_key);
    reload(store, t.id)
}

fn online(store: &Arc<dyn Store>, name: &str, capacity: Option<u32>) -> User {
    let a = agent(store, name);
    store
        .set_availability(a.id, Availability::Online, T0)
        .unwrap()
        .unwrap();
    store.set_capacity(a.id, capacity, T0).unwrap().unwrap();
    a
}

fn held(store: &Arc<dyn Store>, agent: UserId) -> u32 {
    store
        .agent_states(minutes(10))
        .unwrap()
        .into_iter()
        .find(|s| s.agent_id == agent)
        .map(|s| s.held)
        .unwrap_or(0)
}

/// Staff start offline; availability and capacity are stored, a change is reported once and
/// stamped; clients and unknown users are not staff.
pub fn availability_and_capacity_are_stored_for_staff_only(store: Arc<dyn Store>) {
    let a = agent(&store, "ann-agent");
    let admin = user(&store, "boss", Role::Admin);
    let c = client(&store, "carl");
    let states = store.agent_states(T0).unwrap();
    assert_eq!(
        states.iter().map(|s| s.agent_id).collect::<Vec<_>>(),
        vec![a.id, admin.id]
    );
    assert!(states
        .iter()
        .all(|s| s.availability == Availability::Offline && s.capacity.is_none()));
    let (state, changed) = store
        .set_availability(a.id, Availability::Online, minutes(1))
        .unwrap()
        .unwrap();
    assert!(changed);
    assert_eq!(state.availability, Availability::Online);
    assert_eq!(state.username, "ann-agent");
    assert_eq!(state.availability_changed_at, Some(minutes(1)));
    let (again, changed) = store
        .set_availability(a.id, Availability::Online, minutes(2))
        .unwrap()
        .unwrap();
    assert!(!changed);
    assert_eq!(again.availability_changed_at, Some(minutes(1)));
    assert_eq!(
        store
            .set_capacity(a.id, Some(3), T0)
            .unwrap()
            .unwrap()
            .capacity,
        Some(3)
    );
    assert_eq!(
        store
            .set_capacity(a.id, None, T0)
            .unwrap()
            .unwrap()
            .capacity,
        None
    );
    assert_eq!(
        store
            .set_availability(c.id, Availability::Online, T0)
            .unwrap(),
        None
    );
    assert_eq!(store.set_capacity(UserId(999), Some(1), T0).unwrap(), None);
}

/// The mode is unset until stored, then the stored one.
pub fn the_routing_mode_is_stored(store: Arc<dyn Store>) {
    assert_eq!(store.routing_mode().unwrap(), None);
    store.set_routing_mode(RoutingMode::Auto).unwrap();
    assert_eq!(store.routing_mode().unwrap(), Some(RoutingMode::Auto));
    store.set_routing_mode(RoutingMode::Manual).unwrap();
    assert_eq!(store.routing_mode().unwrap(), Some(RoutingMode::Manual));
}

/// Assignment takes the queue's head and gives it to the online agent with the fewest held
/// (ties: never assigned first, then the oldest assignment, then id), never over capacity,
/// never to an agent away or offline; it records the claim, the last agent and the lease.
pub fn assignment_follows_the_queue_and_the_least_loaded_agent(store: Arc<dyn Store>) {
    let low = waiting(&store, "low", 1, 10);
    let high = waiting(&store, "high", 2, 90);
    let mid = waiting(&store, "mid", 3, 50);
    let mid2 = waiting(&store, "mid2", 4, 50);
    let last = waiting(&store, "last", 5, 5);
    let away = agent(&store, "away-agent");
    store
        .set_availability(away.id, Availability::Away, T0)
        .unwrap();
    assert_eq!(
        store.assign_next(minutes(10), minutes(15), 5).unwrap(),
        None
    );
    let a = online(&store, "agent-a", Some(2));
    let b = online(&store, "agent-b", Some(1));
    let now = minutes(10);
    let until = minutes(15);
    let first = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((first.thread_id, first.agent_id), (high.id, a.id));
    assert_eq!(first.agent_username, "agent-a");
    assert_eq!(first.until, until);
    let t = reload(&store, high.id);
    assert_eq!(t.claim.map(|c| (c.agent_id, c.until)), Some((a.id, until)));
    assert_eq!(t.agent_id, Some(a.id));
    // b holds none: fewest first.
    let second = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((second.thread_id, second.agent_id), (mid.id, b.id));
    // b is full (capacity 1); a has one of two.
    let third = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((third.thread_id, third.agent_id), (mid2.id, a.id));
    // Everyone is full: low and last wait.
    assert_eq!(store.assign_next(now, until, 5).unwrap(), None);
    assert_eq!(held(&store, a.id), 2);
    assert_eq!(held(&store, b.id), 1);
    let queue: Vec<ThreadId> = store
        .queue(now, 10, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(queue, vec![low.id, last.id]);
    // A freed slot takes the next most urgent.
    assert!(store.release_claim(mid.id, b.id).unwrap());
    let again = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((again.thread_id, again.agent_id), (mid.id, b.id));
    // Capacity 0 takes nothing; the default capacity applies without one.
    let c = online(&store, "agent-c", Some(0));
    assert_eq!(store.assign_next(now, until, 5).unwrap(), None);
    store.set_capacity(c.id, None, now).unwrap();
    let fourth = store.assign_next(now, until, 1).unwrap().unwrap();
    assert_eq!((fourth.thread_id, fourth.agent_id), (low.id, c.id));
    assert_eq!(store.assign_next(now, until, 1).unwrap(), None);
}

/// Between agents holding as many, the one assigned longest ago (never first) gets the next.
pub fn ties_go_to_the_oldest_last_assignment(store: Arc<dyn Store>) {
    let a = online(&store, "agent-a", Some(5));
    let b = online(&store, "agent-b", Some(5));
    let t1 = waiting(&store, "c1", 1, 10);
    let got = store
        .assign_next(minutes(2), minutes(9), 5)
        .unwrap()
        .unwrap();
    assert_eq!((got.thread_id, got.agent_id), (t1.id, a.id));
    assert!(store.release_claim(t1.id, a.id).unwrap());
    // Both hold none; a was assigned, b never: b.
    let got = store
        .assign_next(minutes(3), minutes(9), 5)
        .unwrap()
        .unwrap();
    assert_eq!(got.agent_id, b.id);
    assert!(store.release_claim(t1.id, b.id).unwrap());
    // a's assignment (minute 2) is older than b's (minute 3): a.
    let got = store
        .assign_next(minutes(4), minutes(9), 5)
        .unwrap()
        .unwrap();
    assert_eq!(got.agent_id, a.id);
}

/// A transfer needs the holder (when named) and an online receiver with room, unless forced;
/// back to the queue ends the claim.
pub fn transfer_moves_the_claim_under_the_same_rules(store: Arc<dyn Store>) {
    let a = online(&store, "agent-a", Some(5));
    let b = online(&store, "agent-b", Some(1));
    let off = agent(&store, "agent-off");
    let c = client(&store, "carl");
    let t = waiting(&store, "waiter", 1, 10);
    let other = waiting(&store, "other", 2, 5);
    let now = minutes(3);
    let until = minutes(8);
    let got = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((got.thread_id, got.agent_id), (t.id, a.id));
    let err = store
        .transfer_claim(
            t.id,
            Some(b.id),
            Some(b.id),
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap_err();
    assert!(matches!(err, DomainError::Claimed { holder, .. } if holder == a.id));
    let err = store
        .transfer_claim(
            t.id,
            Some(a.id),
            Some(off.id),
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap_err();
    assert_eq!(err, DomainError::Conflict(Conflict::AgentUnavailable));
    let err = store
        .transfer_claim(
            t.id,
            Some(a.id),
            Some(c.id),
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap_err();
    assert_eq!(err, DomainError::NotFound("agent"));
    let moved = store
        .transfer_claim(
            t.id,
            Some(a.id),
            Some(b.id),
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap();
    assert_eq!(
        (moved.from, moved.to, moved.until),
        (Some(a.id), Some(b.id), Some(until))
    );
    assert!(reload(&store, t.id).is_held_by(b.id, now));
    // b is full now: a checked transfer refuses, a forced one does not.
    let second = store.assign_next(now, until, 5).unwrap().unwrap();
    assert_eq!((second.thread_id, second.agent_id), (other.id, a.id));
    let err = store
        .transfer_claim(
            other.id,
            Some(a.id),
            Some(b.id),
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap_err();
    assert_eq!(err, DomainError::Conflict(Conflict::AgentUnavailable));
    store
        .transfer_claim(
            other.id,
            None,
            Some(off.id),
            TransferCheck::Force,
            until,
            now,
            5,
        )
        .unwrap();
    assert!(reload(&store, other.id).is_held_by(off.id, now));
    // Back to the queue.
    let back = store
        .transfer_claim(
            t.id,
            Some(b.id),
            None,
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap();
    assert_eq!((back.from, back.to), (Some(b.id), None));
    assert!(reload(&store, t.id).claim.is_none());
    let err = store
        .transfer_claim(
            t.id,
            Some(b.id),
            None,
            TransferCheck::OnlineWithRoom,
            until,
            now,
            5,
        )
        .unwrap_err();
    assert_eq!(err, DomainError::Conflict(Conflict::NotClaimHolder));
    store.set_status(t.id, ThreadStatus::Resolved, now).unwrap();
    let err = store
        .transfer_claim(t.id, None, Some(a.id), TransferCheck::Force, until, now, 5)
        .unwrap_err();
    assert_eq!(err, DomainError::Conflict(Conflict::ThreadResolved));
}

/// Renewal moves only the given agents' live claims that are due; the claims of staff who went
/// offline long enough end, once each, and never those of staff who never changed.
pub fn renewal_and_release_of_offline_agents(store: Arc<dyn Store>) {
    let a = online(&store, "agent-a", Some(5));
    let t1 = waiting(&store, "c1", 1, 10);
    let t2 = waiting(&store, "c2", 2, 5);
    store
        .assign_next(minutes(3), minutes(5), 5)
        .unwrap()
        .unwrap();
    store
        .assign_next(minutes(3), minutes(20), 5)
        .unwrap()
        .unwrap();
    let never = agent(&store, "never-changed");
    let t3 = waiting(&store, "c3", 3, 1);
    assert!(matches!(
        store
            .try_claim(t3.id, never.id, minutes(30), minutes(3))
            .unwrap(),
        chat_domain::claim::ClaimAttempt::Won(_)
    ));
    let renewed = store
        .renew_claims_of(&[a.id, never.id], minutes(14), minutes(4), minutes(6))
        .unwrap();
    assert_eq!(renewed, vec![(t1.id, a.id)]);
    assert!(store
        .renew_claims_of(&[], minutes(14), minutes(4), minutes(6))
        .unwrap()
        .is_empty());
    assert_eq!(
        reload(&store, t1.id).claim.map(|c| c.until),
        Some(minutes(14))
    );
    assert_eq!(
        reload(&store, t2.id).claim.map(|c| c.until),
        Some(minutes(20))
    );
    store
        .set_availability(a.id, Availability::Offline, minutes(5))
        .unwrap();
    assert!(store
        .release_claims_of_offline(minutes(4))
        .unwrap()
        .is_empty());
    let released: BTreeSet<ThreadId> = store
        .release_claims_of_offline(minutes(5))
        .unwrap()
        .iter()
        .map(|r| r.thread_id)
        .collect();
    assert_eq!(released, BTreeSet::from([t1.id, t2.id]));
    assert!(store
        .release_claims_of_offline(minutes(5))
        .unwrap()
        .is_empty());
    assert!(reload(&store, t3.id).is_held_by(never.id, minutes(6)));
}

/// Many routers on two instances assigning at once, several rounds: no agent over its
/// capacity, no conversation to two agents, and every slot or every conversation taken.
pub fn concurrent_assignment_on_two_instances_never_overruns_or_double_assigns(
    store: Arc<dyn Store>,
    other: Arc<dyn Store>,
) {
    const AGENTS: usize = 6;
    const THREADS: usize = 24;
    const ROUTERS: usize = 8;
    let capacities: Vec<u32> = (0..AGENTS).map(|i| [1, 2, 3][i % 3]).collect();
    let slots: u32 = capacities.iter().sum();
    let agents: Vec<User> = capacities
        .iter()
        .enumerate()
        .map(|(i, cap)| online(&store, &format!("agent-{i}"), Some(*cap)))
        .collect();
    for round in 0..4i64 {
        let now = minutes(100 * (round + 1));
        let until = now.plus_millis(60_000);
        for i in 0..THREADS {
            waiting(
                &store,
                &format!("client-{round}-{i}"),
                100 * round + 1,
                i as i64,
            );
        }
        let barrier = Arc::new(Barrier::new(ROUTERS));
        let handles: Vec<_> = (0..ROUTERS)
            .map(|r| {
                let s = if r % 2 == 0 {
                    Arc::clone(&store)
                } else {
                    Arc::clone(&other)
                };
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut got = Vec::new();
                    while let Some(a) = s.assign_next(now, until, 5).unwrap() {
                        got.push((a.thread_id, a.agent_id));
                    }
                    got
                })
            })
            .collect();
        let all: Vec<(ThreadId, UserId)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let threads: BTreeSet<ThreadId> = all.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            threads.len(),
            all.len(),
            "round {round}: a thread assigned twice"
        );
        assert_eq!(all.len() as u32, slots, "round {round}: every slot taken");
        let mut per_agent: BTreeMap<UserId, u32> = BTreeMap::new();
        for (t, a) in &all {
            *per_agent.entry(*a).or_default() += 1;
            assert!(reload(&store, *t).is_held_by(*a, now));
        }
        for (a, cap) in agents.iter().zip(&capacities) {
            assert_eq!(
                per_agent.get(&a.id).copied().unwrap_or(0),
                *cap,
                "round {round}"
            );
        }
        // The next round starts with everyone free again (their leases ended).
    }
}
