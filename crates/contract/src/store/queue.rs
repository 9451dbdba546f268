use std::collections::BTreeSet;
use std::sync::Arc;

use chat_domain::claim::{Claim, ClaimAttempt};
use chat_domain::ports::Store;
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::{ThreadId, Timestamp};

use crate::fixtures::{
    agent, agent_replied, client, minutes, new_message, reload, say_at, thread, wait_in_queue, T0,
};

fn ids(threads: &[Thread]) -> Vec<ThreadId> {
    threads.iter().map(|t| t.id).collect()
}

/// A thread of a new client whose client wrote at `at` (queue rank `rank_key`).
fn waiting(store: &Arc<dyn Store>, name: &str, at_minute: i64, rank_key: i64) -> Thread {
    let c = client(store, name);
    let t = thread(store, &c, ThreadType::Other);
    wait_in_queue(store, t.id, &c, minutes(at_minute), rank_key);
    reload(store, t.id)
}

/// The queue holds exactly the threads that are not resolved, have a client waiting and are
/// not under a live claim (pending ones included).
pub fn queue_lists_only_unresolved_waiting_unclaimed_threads(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let in_queue = waiting(&store, "waiting", 1, 10);
    let pending = waiting(&store, "pending", 2, 10);
    store
        .set_status(pending.id, ThreadStatus::Pending, minutes(3))
        .unwrap();
    let quiet_client = client(&store, "quiet");
    thread(&store, &quiet_client, ThreadType::Loan);
    let answered = waiting(&store, "answered", 3, 10);
    store
        .append_message(new_message(answered.id, &ag, "done", minutes(4)), &|_| {
            Ok(agent_replied(Claim {
                agent_id: ag.id,
                until: minutes(5),
            }))
        })
        .unwrap();
    let resolved = waiting(&store, "resolved", 4, 10);
    store
        .set_status(resolved.id, ThreadStatus::Resolved, minutes(5))
        .unwrap();
    let claimed = waiting(&store, "claimed", 5, 10);
    assert!(matches!(
        store
            .try_claim(claimed.id, ag.id, minutes(100), minutes(6))
            .unwrap(),
        ClaimAttempt::Won(_)
    ));

    let queue = store.queue(minutes(60), 50, 0).unwrap();
    let got: BTreeSet<ThreadId> = ids(&queue).into_iter().collect();
    let want: BTreeSet<ThreadId> = [in_queue.id, pending.id].into_iter().collect();
    assert_eq!(got, want);
    assert_eq!(store.queue_len(minutes(60)).unwrap(), 2);
    assert_eq!(queue.len(), 2);
    let listed = queue.iter().find(|t| t.id == in_queue.id).unwrap();
    assert_eq!(listed.waiting_since, Some(minutes(1)));
    assert_eq!(listed, &reload(&store, in_queue.id));
}

/// A thread whose claim has run out is back in the queue at its `until`, whether or not the
/// claim was swept.
pub fn an_expired_claim_puts_the_thread_back_in_the_queue(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let t = waiting(&store, "ann", 0, 10);
    assert!(matches!(
        store.try_claim(t.id, ag.id, minutes(10), T0).unwrap(),
        ClaimAttempt::Won(_)
    ));
    assert!(store.queue(minutes(5), 50, 0).unwrap().is_empty());
    assert_eq!(ids(&store.queue(minutes(10), 50, 0).unwrap()), vec![t.id]);
    store.expire_claims(minutes(10)).unwrap();
    assert_eq!(ids(&store.queue(minutes(11), 50, 0).unwrap()), vec![t.id]);
    store.release_claim(t.id, ag.id).unwrap();
    assert_eq!(ids(&store.queue(minutes(11), 50, 0).unwrap()), vec![t.id]);
}

/// The queue is ordered by rank key (highest first), then waiting longest first, then id.
pub fn queue_orders_by_rank_then_waiting_longest_then_id(store: Arc<dyn Store>) {
    let low_mid = waiting(&store, "low-mid", 1, 10);
    let high = waiting(&store, "high", 2, 20);
    let low_early = waiting(&store, "low-early", 0, 10);
    let low_mid_later_id = waiting(&store, "low-mid-2", 1, 10);
    let lowest = waiting(&store, "lowest", 0, -5_000_000);
    assert!(low_mid.id < low_mid_later_id.id);
    assert_eq!(
        ids(&store.queue(minutes(30), 50, 0).unwrap()),
        vec![
            high.id,
            low_early.id,
            low_mid.id,
            low_mid_later_id.id,
            lowest.id
        ]
    );
}

/// limit and offset page through the same order.
pub fn queue_pages_with_limit_and_offset(store: Arc<dyn Store>) {
    let all: Vec<ThreadId> = (0..5)
        .map(|i| waiting(&store, &format!("c{i}"), i, 100 - i).id)
        .collect();
    let page = |limit, offset| ids(&store.queue(minutes(30), limit, offset).unwrap());
    assert_eq!(page(50, 0), all);
    assert_eq!(page(2, 0), all[0..2].to_vec());
    assert_eq!(page(2, 2), all[2..4].to_vec());
    assert_eq!(page(2, 4), all[4..5].to_vec());
    assert!(page(2, 5).is_empty());
    assert!(page(2, 50).is_empty());
}

/// queue_len counts the whole queue (every page together), at the given instant: a claim that
/// lapsed puts its thread back in the count, and an empty queue counts 0.
pub fn queue_len_counts_every_page(store: Arc<dyn Store>) {
    assert_eq!(store.queue_len(minutes(1)).unwrap(), 0);
    let ag = agent(&store, "agent");
    let threads: Vec<Thread> = (0..7)
        .map(|i| waiting(&store, &format!("c{i}"), i, 100 - i))
        .collect();
    assert_eq!(store.queue_len(minutes(30)).unwrap(), 7);
    assert_eq!(store.queue(minutes(30), 3, 6).unwrap().len(), 1);
    assert!(matches!(
        store
            .try_claim(threads[0].id, ag.id, minutes(40), minutes(30))
            .unwrap(),
        ClaimAttempt::Won(_)
    ));
    assert_eq!(store.queue_len(minutes(31)).unwrap(), 6);
    assert_eq!(store.queue_len(minutes(40)).unwrap(), 7, "the lease ended");
}

/// set_urgency overwrites a thread's urgency and moves it in the queue by its new rank key.
pub fn set_urgency_overwrites_urgency_and_rank(store: Arc<dyn Store>) {
    let first = waiting(&store, "first", 0, 10);
    let second = waiting(&store, "second", 0, 5);
    assert_eq!(
        ids(&store.queue(minutes(1), 50, 0).unwrap()),
        vec![first.id, second.id]
    );
    let urgency = Urgency {
        score: 99,
        reasons: vec!["mentions \"fraud\" (+50)".to_owned()],
    };
    store.set_urgency(second.id, &urgency, 50).unwrap();
    assert_eq!(reload(&store, second.id).urgency, urgency);
    assert_eq!(
        ids(&store.queue(minutes(1), 50, 0).unwrap()),
        vec![second.id, first.id]
    );
    let stored = reload(&store, second.id);
    assert_eq!(
        stored.waiting_since,
        Some(T0),
        "only urgency and rank change"
    );
    assert_eq!(stored.status, ThreadStatus::Open);
}

/// set_urgencies overwrites many threads' urgency and rank at once, skipping unknown threads;
/// threads_by_ids reads the existing threads of a list, in id order.
pub fn set_urgencies_and_threads_by_ids_work_on_many_threads(store: Arc<dyn Store>) {
    let first = waiting(&store, "first", 0, 10);
    let second = waiting(&store, "second", 0, 5);
    let third = waiting(&store, "third", 0, 1);
    let missing = ThreadId(third.id.0 + 1000);
    let read = store
        .threads_by_ids(&[third.id, missing, first.id])
        .unwrap();
    assert_eq!(ids(&read), vec![first.id, third.id]);
    assert_eq!(read[0], reload(&store, first.id));
    assert!(store.threads_by_ids(&[]).unwrap().is_empty());

    let high = Urgency {
        score: 99,
        reasons: vec!["first response due soon (+200)".to_owned()],
    };
    let higher = Urgency {
        score: 120,
        reasons: vec!["reply due soon (+200)".to_owned()],
    };
    let changed = store
        .set_urgencies(&[
            (third.id, high.clone(), 60),
            (missing, high.clone(), 70),
            (second.id, higher.clone(), 80),
        ])
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(reload(&store, third.id).urgency, high);
    assert_eq!(reload(&store, second.id).urgency, higher);
    assert_eq!(
        ids(&store.queue(minutes(1), 50, 0).unwrap()),
        vec![second.id, third.id, first.id]
    );
    assert_eq!(store.set_urgencies(&[]).unwrap(), 0);

    // A thread named twice ends with its last entry and counts once.
    let changed = store
        .set_urgencies(&[
            (first.id, higher.clone(), 90),
            (third.id, higher.clone(), 85),
            (first.id, high.clone(), 50),
        ])
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(reload(&store, first.id).urgency, high);
    assert_eq!(reload(&store, third.id).urgency, higher);
    assert_eq!(
        ids(&store.queue(minutes(1), 50, 0).unwrap()),
        vec![third.id, second.id, first.id]
    );
}

/// waiting_threads lists every thread with a client waiting (claimed or not), and no other.
pub fn waiting_threads_lists_threads_with_a_client_waiting(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let free = waiting(&store, "free", 0, 10);
    let claimed = waiting(&store, "claimed", 1, 10);
    assert!(matches!(
        store
            .try_claim(claimed.id, ag.id, minutes(100), minutes(2))
            .unwrap(),
        ClaimAttempt::Won(_)
    ));
    let quiet = client(&store, "quiet");
    thread(&store, &quiet, ThreadType::Loan);
    let resolved = waiting(&store, "resolved", 2, 10);
    store
        .set_status(resolved.id, ThreadStatus::Resolved, minutes(3))
        .unwrap();
    let got: BTreeSet<ThreadId> = ids(&store.waiting_threads().unwrap()).into_iter().collect();
    let want: BTreeSet<ThreadId> = [free.id, claimed.id].into_iter().collect();
    assert_eq!(got, want);
}

/// first_waiting_messages gives, per thread, its lowest-seq client message created at or after
/// the given instant; staff messages, earlier messages, other threads and threads with no such
/// message (or unknown) are left out.
pub fn first_waiting_messages_are_each_threads_first_client_message_since(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let cid = client(&store, "cid");
    let anns = thread(&store, &ann, ThreadType::Loan);
    let bobs = thread(&store, &bob, ThreadType::Other);
    let cids = thread(&store, &cid, ThreadType::Payment);
    say_at(&store, anns.id, &ann, "old question", minutes(1));
    say_at(&store, anns.id, &ag, "old answer", minutes(2));
    say_at(&store, anns.id, &ag, "staff note after", minutes(3));
    let ann_first = say_at(&store, anns.id, &ann, "new question", minutes(3));
    say_at(&store, anns.id, &ann, "and another", minutes(4));
    let bob_first = say_at(&store, bobs.id, &bob, "hello", minutes(5));
    say_at(&store, bobs.id, &bob, "hello again", minutes(6));
    say_at(&store, cids.id, &cid, "long ago", minutes(1));
    let unknown = ThreadId(cids.id.0 + 1000);

    let got = store
        .first_waiting_messages(&[
            (anns.id, minutes(3)),
            (bobs.id, minutes(0)),
            (cids.id, minutes(2)),
            (unknown, minutes(0)),
        ])
        .unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[&anns.id], ann_first.message);
    assert_eq!(got[&bobs.id], bob_first.message);
    assert!(store.first_waiting_messages(&[]).unwrap().is_empty());
    let later = store
        .first_waiting_messages(&[(bobs.id, minutes(6))])
        .unwrap();
    assert_eq!(later[&bobs.id].body, "hello again");
}

/// first_waiting_messages answers for a whole queue page (here 120 threads) at once.
pub fn first_waiting_messages_answers_for_many_threads_at_once(store: Arc<dyn Store>) {
    let threads: Vec<Thread> = (0..120)
        .map(|i| waiting(&store, &format!("client{i}"), i % 7, 10))
        .collect();
    let pairs: Vec<(ThreadId, Timestamp)> = threads
        .iter()
        .map(|t| (t.id, t.waiting_since.unwrap()))
        .collect();
    let got = store.first_waiting_messages(&pairs).unwrap();
    assert_eq!(got.len(), threads.len());
    for t in &threads {
        let first = &got[&t.id];
        assert_eq!(first.thread_id, t.id);
        assert_eq!(first.seq, 1);
        assert_eq!(first.sender_id, t.client_id);
    }
}

/// latest_waiting_messages gives, per thread, its highest-seq client message created at or after
/// the given instant; staff messages, earlier messages, other threads and threads with no such
/// message (or unknown) are left out.
pub fn latest_waiting_messages_are_each_threads_newest_client_message_since(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let cid = client(&store, "cid");
    let anns = thread(&store, &ann, ThreadType::Loan);
    let bobs = thread(&store, &bob, ThreadType::Other);
    let cids = thread(&store, &cid, ThreadType::Payment);
    say_at(&store, anns.id, &ann, "old question", minutes(1));
    say_at(&store, anns.id, &ag, "old answer", minutes(2));
    say_at(&store, anns.id, &ann, "new question", minutes(3));
    let ann_latest = say_at(&store, anns.id, &ann, "and another", minutes(4));
    say_at(&store, anns.id, &ag, "a staff line after", minutes(5));
    let bob_only = say_at(&store, bobs.id, &bob, "hello", minutes(5));
    say_at(&store, cids.id, &cid, "long ago", minutes(1));
    let unknown = ThreadId(cids.id.0 + 1000);

    let got = store
        .latest_waiting_messages(&[
            (anns.id, minutes(3)),
            (bobs.id, minutes(0)),
            (cids.id, minutes(2)),
            (unknown, minutes(0)),
        ])
        .unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[&anns.id], ann_latest.message);
    assert_eq!(got[&bobs.id], bob_only.message);
    assert!(store.latest_waiting_messages(&[]).unwrap().is_empty());
    let first = store
        .first_waiting_messages(&[(anns.id, minutes(3))])
        .unwrap();
    assert_eq!(first[&anns.id].body, "new question");
}

/// latest_waiting_messages answers for a whole queue page (here 120 threads) at once.
pub fn latest_waiting_messages_answers_for_many_threads_at_once(store: Arc<dyn Store>) {
    let threads: Vec<Thread> = (0..120)
        .map(|i| waiting(&store, &format!("client{i}"), i % 7, 10))
        .collect();
    for t in threads.iter().step_by(3) {
        let c = reload(&store, t.id);
        let owner = store.user_by_id(c.client_id).unwrap().unwrap();
        say_at(&store, t.id, &owner, "a second line", minutes(30));
    }
    let pairs: Vec<(ThreadId, Timestamp)> = threads
        .iter()
        .map(|t| (t.id, t.waiting_since.unwrap()))
        .collect();
    let got = store.latest_waiting_messages(&pairs).unwrap();
    assert_eq!(got.len(), threads.len());
    for (i, t) in threads.iter().enumerate() {
        let latest = &got[&t.id];
        assert_eq!(latest.thread_id, t.id);
        assert_eq!(latest.sender_id, t.client_id);
        let want = if i % 3 == 0 { 2 } else { 1 };
        assert_eq!(latest.seq, want, "thread {i}");
    }
}
