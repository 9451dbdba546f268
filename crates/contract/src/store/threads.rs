use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use chat_domain::claim::ClaimAttempt;
use chat_domain::message::Audience;
use chat_domain::ports::Store;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::{DomainError, ThreadId, UserId};

use crate::fixtures::{
    agent, client, client_wrote, minutes, new_message, reload, say_at, thread, T0,
};

/// open_thread creates an open, empty thread once and then returns that same thread for the
/// same client and type; other types and other clients get their own.
pub fn open_thread_returns_the_one_unresolved_thread_per_client_and_type(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let first = store.open_thread(ann.id, ThreadType::Loan, T0).unwrap();
    assert_eq!(first.client_id, ann.id);
    assert_eq!(first.thread_type, ThreadType::Loan);
    assert_eq!(first.status, ThreadStatus::Open);
    assert_eq!(first.claim, None);
    assert_eq!(first.agent_id, None);
    assert_eq!(first.created_at, T0);
    assert_eq!(first.last_seq, 0);
    assert_eq!(first.waiting_since, None);

    let again = store
        .open_thread(ann.id, ThreadType::Loan, minutes(5))
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.created_at, T0, "an existing thread is not recreated");

    let payment = store.open_thread(ann.id, ThreadType::Payment, T0).unwrap();
    let bobs = store.open_thread(bob.id, ThreadType::Loan, T0).unwrap();
    let ids: BTreeSet<ThreadId> = [first.id, payment.id, bobs.id].into_iter().collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(reload(&store, first.id), first);
    assert_eq!(
        store.thread_by_id(ThreadId(bobs.id.0 + 1000)).unwrap(),
        None
    );

    // a pending (answered) thread is still the client's one unresolved thread
    store
        .set_status(first.id, ThreadStatus::Pending, minutes(6))
        .unwrap();
    let pending = store
        .open_thread(ann.id, ThreadType::Loan, minutes(7))
        .unwrap();
    assert_eq!(pending.id, first.id);
}

/// Many OS threads opening the same client's thread of one type at once all get one thread.
pub fn concurrent_open_thread_from_many_threads_returns_one_thread(store: Arc<dyn Store>) {
    const RACERS: usize = 16;
    for round in 0..3 {
        let who = client(&store, &format!("racer{round}"));
        let barrier = Barrier::new(RACERS);
        let ids: Vec<ThreadId> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..RACERS)
                .map(|_| {
                    let store = Arc::clone(&store);
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        store.open_thread(who.id, ThreadType::Other, T0).unwrap().id
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let distinct: BTreeSet<ThreadId> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), 1, "round {round}: got threads {distinct:?}");
        assert_eq!(store.threads_of_client(who.id).unwrap().len(), 1);
    }
}

/// Once resolved, a thread is never returned by open_thread again: a new one opens.
pub fn open_thread_opens_a_new_thread_after_the_old_one_is_resolved(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let old = thread(&store, &ann, ThreadType::Payment);
    store
        .set_status(old.id, ThreadStatus::Resolved, minutes(1))
        .unwrap();
    let new = store
        .open_thread(ann.id, ThreadType::Payment, minutes(2))
        .unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(new.status, ThreadStatus::Open);
    assert_eq!(new.last_seq, 0);
    assert_eq!(reload(&store, old.id).status, ThreadStatus::Resolved);
    let again = store
        .open_thread(ann.id, ThreadType::Payment, minutes(3))
        .unwrap();
    assert_eq!(again.id, new.id);
    assert_eq!(store.threads_of_client(ann.id).unwrap().len(), 2);
}

/// user_with_open_thread reads the user by exact username with its unresolved thread of that
/// type, never another type's, another client's or a resolved one, and creates nothing.
pub fn user_with_open_thread_reads_the_user_and_only_its_unresolved_thread_of_that_type(
    store: Arc<dyn Store>,
) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let theirs = thread(&store, &bob, ThreadType::Loan);
    let (user, open) = store
        .user_with_open_thread("ann", ThreadType::Loan)
        .unwrap()
        .unwrap();
    assert_eq!(user, ann);
    assert_eq!(open, None);
    assert!(store.threads_of_client(ann.id).unwrap().is_empty());

    let loan = thread(&store, &ann, ThreadType::Loan);
    thread(&store, &ann, ThreadType::Payment);
    let (_, open) = store
        .user_with_open_thread("ann", ThreadType::Loan)
        .unwrap()
        .unwrap();
    assert_eq!(open, Some(loan.clone()));
    let (_, open) = store
        .user_with_open_thread("bob", ThreadType::Loan)
        .unwrap()
        .unwrap();
    assert_eq!(open.map(|t| t.id), Some(theirs.id));

    store
        .set_status(loan.id, ThreadStatus::Resolved, minutes(1))
        .unwrap();
    let (_, open) = store
        .user_with_open_thread("ann", ThreadType::Loan)
        .unwrap()
        .unwrap();
    assert_eq!(open, None);
    store.soft_delete_user(ann.id, minutes(2)).unwrap();
    let (deleted, _) = store
        .user_with_open_thread("ann", ThreadType::Loan)
        .unwrap()
        .unwrap();
    assert!(deleted.is_deleted());
    assert_eq!(
        store
            .user_with_open_thread("Ann", ThreadType::Loan)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .user_with_open_thread("nobody", ThreadType::Loan)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .user_with_open_thread("a b", ThreadType::Loan)
            .unwrap(),
        None
    );
}

/// threads_of_client lists the client's threads only, newest activity first (a message is
/// activity).
pub fn threads_of_client_lists_only_that_client_newest_activity_first(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let loan = store.open_thread(ann.id, ThreadType::Loan, T0).unwrap();
    let payment = store
        .open_thread(ann.id, ThreadType::Payment, minutes(1))
        .unwrap();
    let other = store
        .open_thread(ann.id, ThreadType::Other, minutes(2))
        .unwrap();
    store
        .open_thread(bob.id, ThreadType::Loan, minutes(3))
        .unwrap();
    assert!(store
        .threads_of_client(UserId(ann.id.0 + 1000))
        .unwrap()
        .is_empty());

    say_at(&store, loan.id, &ann, "news on my loan?", minutes(10));
    let ids: Vec<ThreadId> = store
        .threads_of_client(ann.id)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, vec![loan.id, other.id, payment.id]);
}

/// Resolving clears the claim and the waiting time (and takes the thread out of the queue);
/// other statuses keep the claim.
pub fn set_status_resolving_clears_claim_and_waiting(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    store
        .append_message(new_message(t.id, &ann, "help", minutes(1)), &|th| {
            Ok(client_wrote(th, minutes(1), 30, 100))
        })
        .unwrap();
    assert!(matches!(
        store
            .try_claim(t.id, ag.id, minutes(30), minutes(2))
            .unwrap(),
        ClaimAttempt::Won(_)
    ));

    let pending = store
        .set_status(t.id, ThreadStatus::Pending, minutes(3))
        .unwrap();
    assert_eq!(pending.status, ThreadStatus::Pending);
    assert_eq!(pending.claim.map(|c| c.agent_id), Some(ag.id));

    let resolved = store
        .set_status(t.id, ThreadStatus::Resolved, minutes(4))
        .unwrap();
    assert_eq!(resolved.status, ThreadStatus::Resolved);
    assert_eq!(resolved.claim, None);
    assert_eq!(resolved.waiting_since, None);
    let stored = reload(&store, t.id);
    assert_eq!(stored.status, ThreadStatus::Resolved);
    assert_eq!(stored.claim, None);
    assert_eq!(stored.waiting_since, None);
    assert!(store.queue(minutes(60), 10, 0).unwrap().is_empty());
    assert!(store
        .waiting_threads()
        .unwrap()
        .iter()
        .all(|w| w.id != t.id));
}

/// set_status on a thread that does not exist fails with NotFound.
pub fn set_status_on_an_unknown_thread_is_not_found(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    match store.set_status(ThreadId(t.id.0 + 1000), ThreadStatus::Resolved, T0) {
        Err(DomainError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Reopening a resolved thread (an append whose patch sets it open, or set_status) while the
/// client already has another unresolved thread of that type fails with Conflict and changes
/// nothing.
pub fn a_client_never_has_two_unresolved_threads_of_one_type(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let old = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, old.id, &ann, "first question", T0);
    store
        .set_status(old.id, ThreadStatus::Resolved, minutes(1))
        .unwrap();
    let new = store
        .open_thread(ann.id, ThreadType::Loan, minutes(2))
        .unwrap();
    let result = store.append_message(new_message(old.id, &ann, "one more", minutes(3)), &|t| {
        Ok(client_wrote(t, minutes(3), 30, 100))
    });
    match result {
        Err(DomainError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    for status in [ThreadStatus::Open, ThreadStatus::Pending] {
        match store.set_status(old.id, status, minutes(4)) {
            Err(DomainError::Conflict(_)) => {}
            other => panic!("expected Conflict reopening as {status:?}, got {other:?}"),
        }
    }
    let stored = reload(&store, old.id);
    assert_eq!(stored.status, ThreadStatus::Resolved);
    assert_eq!(stored.last_seq, 1);
    assert_eq!(
        store
            .messages_after(old.id, 0, 10, Audience::Staff)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(reload(&store, new.id).status, ThreadStatus::Open);
}

/// `idle_pending_threads`: pending threads whose last activity is at or before the instant,
/// oldest activity first, at most `limit`; open and resolved ones never.
pub fn idle_pending_threads_lists_pending_threads_idle_the_longest_first(store: Arc<dyn Store>) {
    let mut pending = Vec::new();
    for i in 0..4 {
        let c = crate::fixtures::client(&store, &format!("c{i}"));
        let t = crate::fixtures::thread(&store, &c, ThreadType::Loan);
        crate::fixtures::say_at(&store, t.id, &c, "hi", crate::fixtures::minutes(10 - i));
        let status = if i == 3 {
            ThreadStatus::Open
        } else {
            ThreadStatus::Pending
        };
        store
            .set_status(t.id, status, crate::fixtures::minutes(10 - i))
            .unwrap();
        pending.push(t.id);
    }
    let c = crate::fixtures::client(&store, "resolved");
    let t = crate::fixtures::thread(&store, &c, ThreadType::Loan);
    store
        .set_status(t.id, ThreadStatus::Resolved, crate::fixtures::minutes(1))
        .unwrap();
    let ids = |at: i64, limit: u32| -> Vec<_> {
        store
            .idle_pending_threads(crate::fixtures::minutes(at), limit)
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect()
    };
    // Activity: pending[0] at 10, [1] at 9, [2] at 8; [3] is open at 7.
    assert_eq!(ids(20, 10), vec![pending[2], pending[1], pending[0]]);
    assert_eq!(ids(9, 10), vec![pending[2], pending[1]]);
    assert_eq!(ids(20, 1), vec![pending[2]]);
    assert!(ids(7, 10).is_empty());
}
