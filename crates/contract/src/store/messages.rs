use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};

use chat_domain::claim::Claim;
use chat_domain::message::Audience;
use chat_domain::ports::Store;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::user::{PasswordHash, Role, User};
use chat_domain::{DomainError, MessageId, ThreadId};

use crate::fixtures::{
    agent, agent_replied, client, client_wrote, failing, keep, minutes, new_message, reload, say,
    say_at, thread, wait_in_queue, with_client_id, T0,
};

/// A system message (the desk's own, e.g. the auto-resolve notice) is stored as one and read
/// back as one, by staff and by the thread's client alike (it is not a note); typed messages are
/// not system messages.
pub fn a_system_message_is_read_back_as_one_and_seen_by_the_client(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bo = agent(&store, "bo");
    let t = thread(&store, &ann, ThreadType::Loan);
    let typed = say(&store, t.id, &ann, "hello");
    assert!(!typed.message.system);
    let mut notice = new_message(t.id, &bo, "resolved automatically", minutes(1));
    notice.system = true;
    let stored = store.append_message(notice, &|t| Ok(keep(t))).unwrap();
    assert!(stored.message.system);
    for audience in [Audience::Client, Audience::Staff] {
        let read: Vec<(i64, bool)> = store
            .messages_after(t.id, 0, 10, audience)
            .unwrap()
            .iter()
            .map(|m| (m.seq, m.system))
            .collect();
        assert_eq!(read, vec![(1, false), (2, true)], "{audience:?}");
    }
}

/// Sequence numbers run 1, 2, 3, ... in each thread separately; last_seq follows.
pub fn messages_are_numbered_1_2_3_per_thread(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &ann, ThreadType::Other);
    let mut seqs = Vec::new();
    for i in 0..3 {
        seqs.push(say(&store, loan.id, &ann, &format!("loan {i}")).message.seq);
        seqs.push(
            say(&store, other.id, &ann, &format!("other {i}"))
                .message
                .seq,
        );
    }
    assert_eq!(seqs, vec![1, 1, 2, 2, 3, 3]);
    let appended = say(&store, loan.id, &ann, "loan 3");
    assert_eq!(appended.message.seq, 4);
    assert_eq!(appended.thread.last_seq, 4);
    assert!(appended.created);
    assert_eq!(appended.message.thread_id, loan.id);
    assert_eq!(appended.message.sender_id, ann.id);
    assert_eq!(appended.message.sender_role, Role::Client);
    assert_eq!(appended.message.body, "loan 3");
    assert_eq!(appended.message.created_at, T0);
    assert!(!appended.message.is_read);
    assert_eq!(appended.message.client_message_id, None);
    assert_eq!(reload(&store, loan.id).last_seq, 4);
    assert_eq!(reload(&store, other.id).last_seq, 3);
}

/// Appends from many OS threads at once get exactly the numbers 1..=N, none lost.
pub fn concurrent_appends_number_messages_1_to_n_with_nothing_lost(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let barrier = Barrier::new(WRITERS);
    let seqs: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = Arc::clone(&store);
                let barrier = &barrier;
                let sender = if w % 2 == 0 { ann.clone() } else { ag.clone() };
                s.spawn(move || {
                    barrier.wait();
                    (0..EACH)
                        .map(|i| {
                            say(&store, t.id, &sender, &format!("w{w} m{i}"))
                                .message
                                .seq
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let n = (WRITERS * EACH) as i64;
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=n).collect::<Vec<_>>());
    let stored = store
        .messages_after(t.id, 0, 1000, Audience::Staff)
        .unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    let bodies: BTreeSet<&str> = stored.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies.len(), WRITERS * EACH);
    assert_eq!(reload(&store, t.id).last_seq, n);
}

/// The patch is called with the thread whose last_seq is already the new message's.
pub fn the_patch_sees_the_thread_with_the_new_last_seq(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    say(&store, t.id, &ann, "one");
    let seen = Mutex::new(None);
    let appended = store
        .append_message(new_message(t.id, &ann, "two", T0), &|th| {
            *seen.lock().unwrap() = Some((th.id, th.last_seq));
            Ok(keep(th))
        })
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some((t.id, 2)));
    assert_eq!(appended.message.seq, 2);
}

/// A patch that fails stores nothing and its error is returned.
pub fn a_failing_patch_stores_nothing(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    say(&store, t.id, &ann, "one");
    let before = reload(&store, t.id);
    let err = DomainError::forbidden("not yours");
    let result = store.append_message(
        with_client_id(new_message(t.id, &ann, "two", minutes(1)), "cm-1"),
        &failing(err.clone()),
    );
    assert_eq!(result.err(), Some(err));
    assert_eq!(reload(&store, t.id), before);
    assert_eq!(
        store
            .messages_after(t.id, 0, 10, Audience::Staff)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.count_sent_by(ann.id).unwrap(), 1);
    // the client message id was not used up, and numbering goes on without a gap
    let next = store
        .append_message(
            with_client_id(new_message(t.id, &ann, "two", minutes(2)), "cm-1"),
            &|th| Ok(keep(th)),
        )
        .unwrap();
    assert!(next.created);
    assert_eq!(next.message.seq, 2);
}

/// The patch's fields are written back to the thread (and returned with the append).
pub fn append_writes_the_patch_back(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);

    let urgency = Urgency {
        score: 70,
        reasons: vec![
            "topic: loan (+30)".to_owned(),
            "mentions \"disburs\" (+40)".to_owned(),
        ],
    };
    let first = store
        .append_message(
            new_message(t.id, &ann, "disbursement?", minutes(1)),
            &|th| {
                let mut p = client_wrote(th, minutes(1), 0, 42);
                p.urgency = urgency.clone();
                Ok(p)
            },
        )
        .unwrap();
    assert_eq!(first.thread.status, ThreadStatus::Open);
    assert_eq!(first.thread.waiting_since, Some(minutes(1)));
    assert_eq!(first.thread.urgency, urgency);
    assert_eq!(first.thread.last_seq, 1);
    let stored = reload(&store, t.id);
    assert_eq!(stored.waiting_since, Some(minutes(1)));
    assert_eq!(stored.urgency, urgency);
    assert_eq!(stored.status, ThreadStatus::Open);

    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    let reply = store
        .append_message(new_message(t.id, &ag, "on it", minutes(2)), &|_| {
            Ok(agent_replied(claim))
        })
        .unwrap();
    for th in [reply.thread.clone(), reload(&store, t.id)] {
        assert_eq!(th.status, ThreadStatus::Pending);
        assert_eq!(th.claim, Some(claim));
        assert_eq!(th.agent_id, Some(ag.id));
        assert_eq!(th.waiting_since, None);
        assert_eq!(th.urgency, Urgency::default());
        assert_eq!(th.last_seq, 2);
    }
    assert_eq!(reply.message.sender_role, Role::Agent);
}

/// The append says whether it changed the thread's status; a retry changed nothing.
pub fn append_reports_whether_the_status_changed(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let first = say(&store, t.id, &ann, "one");
    assert!(first.created);
    assert!(!first.status_changed, "open stays open");
    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    let reply = |body: &str, cmid: &str| {
        store
            .append_message(
                with_client_id(new_message(t.id, &ag, body, minutes(1)), cmid),
                &|_| Ok(agent_replied(claim)),
            )
            .unwrap()
    };
    let answered = reply("answer", "cm-1");
    assert!(answered.created);
    assert!(answered.status_changed, "open became pending");
    assert_eq!(answered.thread.status, ThreadStatus::Pending);
    let again = reply("more", "cm-2");
    assert!(again.created);
    assert!(!again.status_changed, "pending stays pending");
    let retry = reply("answer", "cm-1");
    assert!(!retry.created);
    assert!(!retry.status_changed, "a retry stores nothing");
}

/// A patch without a rank key leaves the thread's stored rank (and so its queue place) alone.
pub fn a_patch_without_a_rank_key_keeps_the_stored_one(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let low = thread(&store, &ann, ThreadType::Loan);
    let high = thread(&store, &bob, ThreadType::Loan);
    wait_in_queue(&store, low.id, &ann, minutes(1), 10);
    wait_in_queue(&store, high.id, &bob, minutes(2), 42);
    store
        .append_message(
            new_message(high.id, &bob, "still here", minutes(3)),
            &|th| {
                let mut p = keep(th);
                p.rank_key = None;
                Ok(p)
            },
        )
        .unwrap();
    let queue: Vec<ThreadId> = store
        .queue(minutes(4), 10, 0)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(queue, vec![high.id, low.id]);
}

/// A patch asking to mark the client's messages read marks them (in that thread only).
pub fn an_agent_reply_patch_marks_the_clients_messages_read(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &ann, ThreadType::Other);
    say(&store, loan.id, &ann, "one");
    say(&store, loan.id, &ann, "two");
    say(&store, other.id, &ann, "elsewhere");
    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    store
        .append_message(new_message(loan.id, &ag, "answer", minutes(1)), &|_| {
            Ok(agent_replied(claim))
        })
        .unwrap();
    let messages = store
        .messages_after(loan.id, 0, 10, Audience::Staff)
        .unwrap();
    let read: Vec<(i64, bool)> = messages.iter().map(|m| (m.seq, m.is_read)).collect();
    assert_eq!(read, vec![(1, true), (2, true), (3, false)]);
    let elsewhere = store
        .messages_after(other.id, 0, 10, Audience::Staff)
        .unwrap();
    assert!(
        !elsewhere[0].is_read,
        "another thread's messages stay unread"
    );
}

/// Agent replies into many threads at once (one batch on a batching store), each racing a new
/// client message into its thread, mark every client message stored before the reply read,
/// whichever of the two came first (in one batch too), and nothing else: not a client message
/// stored after the reply, not another thread's.
pub fn concurrent_agent_replies_mark_each_threads_client_messages_read(store: Arc<dyn Store>) {
    let ag = agent(&store, "agent");
    let threads: Vec<(User, ThreadId)> = (0..8)
        .map(|i| {
            let c = client(&store, &format!("c{i}"));
            let t = thread(&store, &c, ThreadType::Loan);
            (c, t.id)
        })
        .collect();
    for (i, (c, t)) in threads.iter().enumerate() {
        for k in 0..=i % 3 {
            say(&store, *t, c, &format!("question {k}"));
        }
    }
    let claim = Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    let start = Barrier::new(2 * threads.len());
    let replies: Vec<i64> = std::thread::scope(|s| {
        let mut replies = Vec::new();
        for (c, t) in &threads {
            let (store, ag, start) = (&store, &ag, &start);
            s.spawn(move || {
                start.wait();
                say(store, *t, c, "one more thing");
            });
            replies.push(s.spawn(move || {
                start.wait();
                store
                    .append_message(new_message(*t, ag, "answer", minutes(1)), &|_| {
                        Ok(agent_replied(claim))
                    })
                    .unwrap()
                    .message
                    .seq
            }));
        }
        replies.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, ((c, t), reply)) in threads.iter().zip(replies).enumerate() {
        say(&store, *t, c, "after the answer");
        let messages = store.messages_after(*t, 0, 10, Audience::Staff).unwrap();
        assert_eq!(messages.len(), i % 3 + 4, "thread {i}: nothing lost");
        for m in &messages {
            let expected = m.sender_id == c.id && m.seq < reply;
            assert_eq!(
                m.is_read, expected,
                "thread {i}, seq {} ({})",
                m.seq, m.body
            );
        }
    }
}

/// The same sender repeating a client message id gets the earlier message back with
/// created=false, and nothing is stored or patched.
pub fn a_repeated_client_message_id_returns_the_earlier_message(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let first = store
        .append_message(
            with_client_id(new_message(t.id, &ann, "hello", T0), "retry-1"),
            &|th| Ok(client_wrote(th, T0, 10, 1)),
        )
        .unwrap();
    assert!(first.created);
    assert_eq!(first.message.client_message_id.as_deref(), Some("retry-1"));
    let before = reload(&store, t.id);

    let again = store
        .append_message(
            with_client_id(
                new_message(t.id, &ann, "hello (retry)", minutes(1)),
                "retry-1",
            ),
            &|th| {
                let mut p = keep(th);
                p.status = ThreadStatus::Resolved;
                Ok(p)
            },
        )
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.message, first.message);
    assert_eq!(again.thread.id, t.id);
    assert_eq!(reload(&store, t.id), before, "a replay changes nothing");
    assert_eq!(
        store
            .messages_after(t.id, 0, 10, Audience::Staff)
            .unwrap()
            .len(),
        1
    );

    // the id is unique per sender, whatever the thread
    let other = thread(&store, &ann, ThreadType::Other);
    let elsewhere = store
        .append_message(
            with_client_id(new_message(other.id, &ann, "hello", minutes(2)), "retry-1"),
            &|th| Ok(keep(th)),
        )
        .unwrap();
    assert!(!elsewhere.created);
    assert_eq!(elsewhere.message.id, first.message.id);
    assert!(store
        .messages_after(other.id, 0, 10, Audience::Staff)
        .unwrap()
        .is_empty());
}

/// Another sender may use the same client message id.
pub fn another_sender_may_reuse_a_client_message_id(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let a = store
        .append_message(
            with_client_id(new_message(t.id, &ann, "hello", T0), "same-id"),
            &|th| Ok(keep(th)),
        )
        .unwrap();
    let b = store
        .append_message(
            with_client_id(new_message(t.id, &ag, "hi", T0), "same-id"),
            &|th| Ok(keep(th)),
        )
        .unwrap();
    assert!(a.created && b.created);
    assert_ne!(a.message.id, b.message.id);
    assert_eq!(b.message.seq, 2);
    assert_eq!(b.message.client_message_id.as_deref(), Some("same-id"));
}

/// Concurrent retries of one send (same sender, same client message id) store one message;
/// every caller gets that message.
pub fn concurrent_retries_with_one_client_message_id_store_one_message(store: Arc<dyn Store>) {
    const RETRIES: usize = 8;
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Payment);
    let barrier = Barrier::new(RETRIES);
    let results: Vec<(MessageId, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..RETRIES)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = &barrier;
                let ann = ann.clone();
                s.spawn(move || {
                    barrier.wait();
                    let a = store
                        .append_message(
                            with_client_id(new_message(t.id, &ann, "pay me", T0), "once"),
                            &|th| Ok(keep(th)),
                        )
                        .unwrap();
                    (a.message.id, a.created)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let ids: BTreeSet<MessageId> = results.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        store
            .messages_after(t.id, 0, 100, Audience::Staff)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(reload(&store, t.id).last_seq, 1);
}

/// Appending to a thread that does not exist fails with NotFound.
pub fn append_to_an_unknown_thread_is_not_found(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let result = store.append_message(
        new_message(ThreadId(t.id.0 + 1000), &ann, "hello", T0),
        &|th| Ok(keep(th)),
    );
    match result {
        Err(DomainError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(store.count_sent_by(ann.id).unwrap(), 0);
}

/// messages_after returns seq > after_seq, in order, at most `limit`, of that thread only.
pub fn messages_after_pages_in_sequence_order(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &ann, ThreadType::Other);
    for i in 1..=7 {
        say_at(&store, loan.id, &ann, &format!("m{i}"), minutes(i));
        say_at(&store, other.id, &ann, &format!("o{i}"), minutes(i));
    }
    let seqs = |after, limit| -> Vec<i64> {
        store
            .messages_after(loan.id, after, limit, Audience::Staff)
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(m.thread_id, loan.id);
                m.seq
            })
            .collect()
    };
    assert_eq!(seqs(0, 100), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(seqs(0, 3), vec![1, 2, 3]);
    assert_eq!(seqs(3, 3), vec![4, 5, 6]);
    assert_eq!(seqs(6, 3), vec![7]);
    assert!(seqs(7, 3).is_empty());
    let bodies: Vec<String> = store
        .messages_after(loan.id, 5, 10, Audience::Staff)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, vec!["m6", "m7"]);
}

/// mark_read marks unread messages not sent by the reader with seq <= up_to_seq, and counts
/// what it changed.
pub fn mark_read_marks_only_the_other_sides_messages_up_to_seq(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    say(&store, t.id, &ann, "c1"); // 1
    say(&store, t.id, &ag, "a2"); // 2
    say(&store, t.id, &ann, "c3"); // 3
    say(&store, t.id, &ag, "a4"); // 4
    say(&store, t.id, &ag, "a5"); // 5

    assert_eq!(store.mark_read(t.id, ann.id, 4).unwrap(), 2);
    assert_eq!(store.mark_read(t.id, ann.id, 4).unwrap(), 0);
    let read: Vec<(i64, bool)> = store
        .messages_after(t.id, 0, 10, Audience::Staff)
        .unwrap()
        .iter()
        .map(|m| (m.seq, m.is_read))
        .collect();
    assert_eq!(
        read,
        vec![(1, false), (2, true), (3, false), (4, true), (5, false)]
    );
    assert_eq!(store.mark_read(t.id, ag.id, 100).unwrap(), 2);
    assert_eq!(store.mark_read(t.id, ann.id, 100).unwrap(), 1);
    assert!(store
        .messages_after(t.id, 0, 10, Audience::Staff)
        .unwrap()
        .iter()
        .all(|m| m.is_read));
}

/// mark_read on an unknown thread marks nothing and answers 0.
pub fn mark_read_on_an_unknown_thread_changes_nothing(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    say(&store, t.id, &ann, "c1");
    assert_eq!(
        store
            .mark_read(ThreadId(t.id.0 + 1000), ag.id, 100)
            .unwrap(),
        0
    );
    assert!(!store.messages_after(t.id, 0, 10, Audience::Staff).unwrap()[0].is_read);
}

/// conversation_between lists, in time order, every message of the client's threads in which
/// the agent wrote, and nothing else.
pub fn conversation_between_lists_the_threads_the_agent_wrote_in(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let ag = agent(&store, "agent");
    let other_agent = agent(&store, "agent2");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let payment = thread(&store, &ann, ThreadType::Payment);
    let other = thread(&store, &ann, ThreadType::Other);
    let bobs = thread(&store, &bob, ThreadType::Loan);

    say_at(&store, loan.id, &ann, "loan q", minutes(1));
    say_at(&store, payment.id, &ann, "payment q", minutes(2));
    say_at(&store, loan.id, &ag, "loan a", minutes(3));
    say_at(&store, payment.id, &ag, "payment a", minutes(4));
    say_at(&store, loan.id, &ann, "loan thanks", minutes(5));
    say_at(&store, other.id, &ann, "other q", minutes(6));
    say_at(&store, other.id, &other_agent, "other a", minutes(7));
    say_at(&store, bobs.id, &bob, "bob q", minutes(8));
    say_at(&store, bobs.id, &ag, "bob a", minutes(9));

    let bodies: Vec<String> = store
        .conversation_between(ag.id, ann.id)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        vec!["loan q", "payment q", "loan a", "payment a", "loan thanks"]
    );
    assert!(store
        .conversation_between(other_agent.id, bob.id)
        .unwrap()
        .is_empty());
}

/// count_sent_by counts the messages a user sent (a replayed send is not counted twice).
pub fn count_sent_by_counts_a_users_messages(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    assert_eq!(store.count_sent_by(ann.id).unwrap(), 0);
    let loan = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &ann, ThreadType::Other);
    say(&store, loan.id, &ann, "1");
    say(&store, other.id, &ann, "2");
    say(&store, loan.id, &ag, "3");
    for _ in 0..2 {
        store
            .append_message(
                with_client_id(new_message(loan.id, &ann, "4", T0), "dup"),
                &|th| Ok(keep(th)),
            )
            .unwrap();
    }
    assert_eq!(store.count_sent_by(ann.id).unwrap(), 3);
    assert_eq!(store.count_sent_by(ag.id).unwrap(), 1);
}

/// A send authenticated by a remembered password (`verified_hash` set) is stored only while its
/// sender is not deleted and still has that stored hash; otherwise it is refused
/// (Unauthenticated), stores nothing and takes no sequence number. Two such sends at once, one
/// with a stale hash and one with the current one, each get their own answer.
pub fn a_send_on_a_remembered_password_needs_the_same_hash_and_a_live_sender(
    store: Arc<dyn Store>,
) {
    let ann = client(&store, "ann");
    let cy = client(&store, "cy");
    let (ta, tc) = (
        thread(&store, &ann, ThreadType::Loan),
        thread(&store, &cy, ThreadType::Loan),
    );
    let checked = |thread: ThreadId, sender: &User, hash: &PasswordHash, body: &str| {
        let mut new = new_message(thread, sender, body, T0);
        new.verified_hash = Some(hash.clone());
        new
    };
    let stale = PasswordHash("$2b$04$not-the-stored-hash-at-all-00000000000000000000000".into());
    let first = store
        .append_message(checked(ta.id, &ann, &ann.password_hash, "one"), &|t| {
            Ok(keep(t))
        })
        .unwrap();
    assert_eq!(first.message.seq, 1);
    let refused = store.append_message(checked(ta.id, &ann, &stale, "two"), &|t| Ok(keep(t)));
    assert_eq!(refused.err(), Some(DomainError::Unauthenticated));

    let barrier = Barrier::new(2);
    let (stale_send, current_send) = std::thread::scope(|s| {
        let stale_send = s.spawn(|| {
            barrier.wait();
            store.append_message(checked(ta.id, &ann, &stale, "three"), &|t| Ok(keep(t)))
        });
        let current_send = s.spawn(|| {
            barrier.wait();
            store.append_message(checked(tc.id, &cy, &cy.password_hash, "hi"), &|t| {
                Ok(keep(t))
            })
        });
        (stale_send.join().unwrap(), current_send.join().unwrap())
    });
    assert_eq!(stale_send.err(), Some(DomainError::Unauthenticated));
    assert_eq!(current_send.unwrap().message.seq, 1);

    assert!(store.soft_delete_user(ann.id, T0).unwrap());
    let deleted = store.append_message(checked(ta.id, &ann, &ann.password_hash, "four"), &|t| {
        Ok(keep(t))
    });
    assert_eq!(deleted.err(), Some(DomainError::Unauthenticated));
    assert_eq!(reload(&store, ta.id).last_seq, 1);
    assert_eq!(store.count_sent_by(ann.id).unwrap(), 1);
    // Without the check, the deleted user's append is the use case's business, as before.
    assert!(store
        .append_message(new_message(ta.id, &ann, "five", T0), &|t| Ok(keep(t)))
        .is_ok());
}
