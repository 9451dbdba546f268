use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use chat_domain::claim::{Claim, ClaimAttempt, ExpiredClaim};
use chat_domain::ports::Store;
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::user::User;
use chat_domain::{DomainError, ThreadId, UserId};

use crate::fixtures::{agent, client, minutes, reload, thread, user, T0};

fn won(attempt: ClaimAttempt) -> Claim {
    match attempt {
        ClaimAttempt::Won(claim) => claim,
        ClaimAttempt::Held(claim) => panic!("expected Won, the thread is held: {claim:?}"),
    }
}

fn held(attempt: ClaimAttempt) -> Claim {
    match attempt {
        ClaimAttempt::Held(claim) => claim,
        ClaimAttempt::Won(claim) => panic!("expected Held, the claim was won: {claim:?}"),
    }
}

fn claim(agent: &User, until_minutes: i64) -> Claim {
    Claim {
        agent_id: agent.id,
        until: minutes(until_minutes),
    }
}

fn setup(store: &Arc<dyn Store>) -> (Thread, User, User) {
    let ann = client(store, "ann");
    let a = agent(store, "agent-a");
    let b = agent(store, "agent-b");
    (thread(store, &ann, ThreadType::Loan), a, b)
}

/// Claiming a free thread wins; the thread then shows the claim and its last agent.
pub fn a_free_thread_is_won(store: Arc<dyn Store>) {
    let (t, a, _) = setup(&store);
    let got = won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    assert_eq!(got, claim(&a, 5));
    let stored = reload(&store, t.id);
    assert_eq!(stored.claim, Some(claim(&a, 5)));
    assert_eq!(stored.agent_id, Some(a.id));
}

/// Another agent's attempt on a live claim answers Held with the holder and its end, and
/// changes nothing.
pub fn a_held_claim_is_reported_and_changes_nothing(store: Arc<dyn Store>) {
    let (t, a, b) = setup(&store);
    won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    let before = reload(&store, t.id);
    let holder = held(store.try_claim(t.id, b.id, minutes(9), minutes(4)).unwrap());
    assert_eq!(holder, claim(&a, 5));
    assert_eq!(reload(&store, t.id), before);
    assert_eq!(reload(&store, t.id).agent_id, Some(a.id));
}

/// The holder claiming again renews its lease.
pub fn the_holder_renews_by_claiming_again(store: Arc<dyn Store>) {
    let (t, a, b) = setup(&store);
    won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    let renewed = won(store.try_claim(t.id, a.id, minutes(8), minutes(3)).unwrap());
    assert_eq!(renewed, claim(&a, 8));
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 8)));
    // the renewed lease holds past the old end
    assert_eq!(
        held(
            store
                .try_claim(t.id, b.id, minutes(12), minutes(6))
                .unwrap()
        ),
        claim(&a, 8)
    );
}

/// A lease ends at its `until`: from then on another agent wins the thread.
pub fn a_lease_ends_at_its_until(store: Arc<dyn Store>) {
    let (t, a, b) = setup(&store);
    won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    let just_before = minutes(5).plus_millis(-1);
    held(
        store
            .try_claim(t.id, b.id, minutes(9), just_before)
            .unwrap(),
    );
    let taken = won(store
        .try_claim(t.id, b.id, minutes(10), minutes(5))
        .unwrap());
    assert_eq!(taken, claim(&b, 10));
    let stored = reload(&store, t.id);
    assert_eq!(stored.claim, Some(claim(&b, 10)));
    assert_eq!(stored.agent_id, Some(b.id));
    // and after it, too
    let c = won(store
        .try_claim(t.id, a.id, minutes(20), minutes(15))
        .unwrap());
    assert_eq!(c, claim(&a, 20));
}

/// Claiming a thread that does not exist fails with NotFound.
pub fn claiming_an_unknown_thread_is_not_found(store: Arc<dyn Store>) {
    let (t, a, _) = setup(&store);
    match store.try_claim(ThreadId(t.id.0 + 1000), a.id, minutes(5), T0) {
        Err(DomainError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// A resolved thread cannot be claimed (Conflict), and stays unclaimed.
pub fn a_resolved_thread_cannot_be_claimed(store: Arc<dyn Store>) {
    let (t, a, _) = setup(&store);
    store.set_status(t.id, ThreadStatus::Resolved, T0).unwrap();
    match store.try_claim(t.id, a.id, minutes(5), minutes(1)) {
        Err(DomainError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(reload(&store, t.id).claim, None);
}

/// renew_claim moves the end of the holder's live claim; anyone else, or a holder whose lease
/// has ended, gets false and nothing changes.
pub fn renew_claim_moves_only_the_holders_live_claim(store: Arc<dyn Store>) {
    let (t, a, b) = setup(&store);
    assert!(
        !store.renew_claim(t.id, a.id, minutes(5), T0).unwrap(),
        "nothing to renew"
    );
    assert_eq!(reload(&store, t.id).claim, None);
    won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    assert!(store
        .renew_claim(t.id, a.id, minutes(9), minutes(4))
        .unwrap());
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 9)));
    assert!(!store
        .renew_claim(t.id, b.id, minutes(20), minutes(5))
        .unwrap());
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 9)));
    assert!(
        !store
            .renew_claim(t.id, a.id, minutes(20), minutes(9))
            .unwrap(),
        "lease ended"
    );
    assert_eq!(
        reload(&store, t.id).claim,
        Some(claim(&a, 9)),
        "a refused renewal changes nothing"
    );
}

/// Only the holder releases its claim; the thread keeps its last agent.
pub fn only_the_holder_releases_a_claim(store: Arc<dyn Store>) {
    let (t, a, b) = setup(&store);
    assert!(
        !store.release_claim(t.id, a.id).unwrap(),
        "nothing to release"
    );
    won(store.try_claim(t.id, a.id, minutes(5), T0).unwrap());
    assert!(!store.release_claim(t.id, b.id).unwrap());
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 5)));
    assert!(store.release_claim(t.id, a.id).unwrap());
    let stored = reload(&store, t.id);
    assert_eq!(stored.claim, None);
    assert_eq!(stored.agent_id, Some(a.id), "the last agent is kept");
    assert!(
        !store.release_claim(t.id, a.id).unwrap(),
        "already released"
    );
    // free again: another agent wins at once
    won(store.try_claim(t.id, b.id, minutes(6), minutes(1)).unwrap());
}

/// force_claim gives the claim to the caller and returns the claim it replaced if that one
/// was live, else None.
pub fn force_claim_returns_the_previous_live_claim(store: Arc<dyn Store>) {
    let (t, a, _) = setup(&store);
    let admin = user(&store, "admin", chat_domain::user::Role::Admin);
    assert_eq!(store.force_claim(t.id, a.id, minutes(5), T0).unwrap(), None);
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 5)));

    let previous = store
        .force_claim(t.id, admin.id, minutes(10), minutes(1))
        .unwrap();
    assert_eq!(previous, Some(claim(&a, 5)));
    let stored = reload(&store, t.id);
    assert_eq!(stored.claim, Some(claim(&admin, 10)));
    assert_eq!(stored.agent_id, Some(admin.id));

    // an expired claim is not "previous"
    let previous = store
        .force_claim(t.id, a.id, minutes(30), minutes(10))
        .unwrap();
    assert_eq!(previous, None);
    assert_eq!(reload(&store, t.id).claim, Some(claim(&a, 30)));
}

/// expire_claims clears the claims whose lease ended at or before `now` and returns each one
/// exactly once; live claims stay.
pub fn expire_claims_returns_each_expired_claim_once(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let a = agent(&store, "agent-a");
    let b = agent(&store, "agent-b");
    let t1 = thread(&store, &ann, ThreadType::Loan);
    let t2 = thread(&store, &ann, ThreadType::Payment);
    let t3 = thread(&store, &ann, ThreadType::Other);
    won(store.try_claim(t1.id, a.id, minutes(5), T0).unwrap());
    won(store.try_claim(t2.id, b.id, minutes(10), T0).unwrap());
    won(store.try_claim(t3.id, a.id, minutes(20), T0).unwrap());

    assert!(store.expire_claims(minutes(4)).unwrap().is_empty());
    let first = store.expire_claims(minutes(10)).unwrap();
    let got: BTreeSet<(ThreadId, UserId)> =
        first.iter().map(|e| (e.thread_id, e.agent_id)).collect();
    assert_eq!(first.len(), 2);
    assert_eq!(
        got,
        [(t1.id, a.id), (t2.id, b.id)]
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
    assert_eq!(reload(&store, t1.id).claim, None);
    assert_eq!(reload(&store, t2.id).claim, None);
    assert_eq!(reload(&store, t3.id).claim, Some(claim(&a, 20)));
    assert!(store.expire_claims(minutes(11)).unwrap().is_empty());
    assert_eq!(
        store.expire_claims(minutes(25)).unwrap(),
        vec![ExpiredClaim {
            thread_id: t3.id,
            agent_id: a.id
        }]
    );
    assert!(store.expire_claims(minutes(30)).unwrap().is_empty());
}

/// Many OS threads sweeping at once between them return every expired claim exactly once.
pub fn concurrent_expire_claims_return_each_claim_exactly_once(store: Arc<dyn Store>) {
    const SWEEPERS: usize = 8;
    let ag = agent(&store, "agent");
    let mut expected = BTreeSet::new();
    for i in 0..20 {
        let c = client(&store, &format!("client{i}"));
        let t = thread(&store, &c, ThreadType::Other);
        won(store.try_claim(t.id, ag.id, minutes(1), T0).unwrap());
        expected.insert((t.id, ag.id));
    }
    let barrier = Barrier::new(SWEEPERS);
    let all: Vec<ExpiredClaim> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SWEEPERS)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    store.expire_claims(minutes(2)).unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(
        all.len(),
        expected.len(),
        "each claim exactly once: {all:?}"
    );
    let got: BTreeSet<(ThreadId, UserId)> = all.iter().map(|e| (e.thread_id, e.agent_id)).collect();
    assert_eq!(got, expected);
}

/// 50 agents on 50 OS threads racing for one free thread: exactly one wins, every other gets
/// Held with the winner's claim. Repeated on fresh threads.
pub fn fifty_agents_racing_for_one_thread_exactly_one_wins(store: Arc<dyn Store>) {
    const AGENTS: usize = 50;
    let agents: Vec<User> = (0..AGENTS)
        .map(|i| agent(&store, &format!("racer{i}")))
        .collect();
    for round in 0..5 {
        let c = client(&store, &format!("client{round}"));
        let t = thread(&store, &c, ThreadType::Loan);
        let barrier = Barrier::new(AGENTS);
        let attempts: Vec<(UserId, ClaimAttempt)> = std::thread::scope(|s| {
            let handles: Vec<_> = agents
                .iter()
                .map(|a| {
                    let store = Arc::clone(&store);
                    let barrier = &barrier;
                    let id = a.id;
                    s.spawn(move || {
                        barrier.wait();
                        (id, store.try_claim(t.id, id, minutes(5), T0).unwrap())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<(UserId, Claim)> = attempts
            .iter()
            .filter_map(|(id, a)| match a {
                ClaimAttempt::Won(c) => Some((*id, *c)),
                ClaimAttempt::Held(_) => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let (winner, winning) = winners[0];
        assert_eq!(winning.agent_id, winner);
        for (id, a) in &attempts {
            if let ClaimAttempt::Held(c) = a {
                assert_ne!(*id, winner);
                assert_eq!(*c, winning, "round {round}: a loser saw another holder");
            }
        }
        let stored = reload(&store, t.id);
        assert_eq!(stored.claim, Some(winning));
        assert_eq!(stored.agent_id, Some(winner));
    }
}
