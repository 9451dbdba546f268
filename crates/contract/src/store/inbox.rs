//! Staff's lists of conversations: `threads_page` and the unread counts beside it.

use std::sync::Arc;

use chat_domain::inbox::{ActivityCursor, Assignee, TextFilter, ThreadFilter, TimeRange};
use chat_domain::label::NewLabel;
use chat_domain::ports::Store;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::{ThreadId, Timestamp};

use crate::fixtures::{agent, client, minutes, note_at, say_at, thread, wait_in_queue};

fn filter(assignee: Assignee) -> ThreadFilter {
    ThreadFilter {
        assignee,
        ..ThreadFilter::default()
    }
}

fn ids(
    store: &Arc<dyn Store>,
    f: &ThreadFilter,
    now: Timestamp,
    after: Option<ActivityCursor>,
    limit: u32,
) -> Vec<ThreadId> {
    store
        .threads_page(f, now, after, limit)
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect()
}

/// Newest activity first; the assignee is the holder of the claim live at `now` (a lapsed
/// claim is nobody's); status and client narrow the list.
pub fn threads_page_filters_by_assignee_status_and_client(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let a = agent(&store, "a");
    let b = agent(&store, "b");
    let t1 = thread(&store, &ann, ThreadType::Loan);
    let t2 = thread(&store, &ann, ThreadType::Payment);
    let t3 = thread(&store, &bob, ThreadType::Loan);
    let t4 = thread(&store, &bob, ThreadType::Other);
    wait_in_queue(&store, t1.id, &ann, minutes(1), 1);
    wait_in_queue(&store, t2.id, &ann, minutes(2), 1);
    wait_in_queue(&store, t3.id, &bob, minutes(3), 1);
    wait_in_queue(&store, t4.id, &bob, minutes(4), 1);
    store
        .try_claim(t1.id, a.id, minutes(60), minutes(5))
        .unwrap();
    store
        .try_claim(t3.id, a.id, minutes(60), minutes(5))
        .unwrap();
    store
        .try_claim(t2.id, b.id, minutes(6), minutes(5))
        .unwrap();
    store
        .set_status(t4.id, ThreadStatus::Resolved, minutes(7))
        .unwrap();
    let now = minutes(10); // b's claim on t2 has lapsed
    assert_eq!(
        ids(&store, &filter(Assignee::Anyone), now, None, 10),
        vec![t4.id, t3.id, t2.id, t1.id]
    );
    assert_eq!(
        ids(&store, &filter(Assignee::Agent(a.id)), now, None, 10),
        vec![t3.id, t1.id]
    );
    assert!(ids(&store, &filter(Assignee::Agent(b.id)), now, None, 10).is_empty());
    assert_eq!(
        ids(&store, &filter(Assignee::Agent(b.id)), minutes(5), None, 10),
        vec![t2.id]
    );
    assert_eq!(
        ids(&store, &filter(Assignee::Nobody), now, None, 10),
        vec![t4.id, t2.id]
    );
    let resolved = ThreadFilter {
        status: Some(ThreadStatus::Resolved),
        ..filter(Assignee::Anyone)
    };
    assert_eq!(ids(&store, &resolved, now, None, 10), vec![t4.id]);
    let open_of_ann = ThreadFilter {
        status: Some(ThreadStatus::Open),
        client: Some(ann.id),
        ..filter(Assignee::Anyone)
    };
    assert_eq!(ids(&store, &open_of_ann, now, None, 10), vec![t2.id, t1.id]);
}

/// A cursor continues strictly after the thread it names, ties on activity broken by id
/// (descending), and `limit` bounds each page: paging walks every thread exactly once.
pub fn threads_page_continues_after_a_cursor(store: Arc<dyn Store>) {
    let mut all = Vec::new();
    for i in 0..7 {
        let c = client(&store, &format!("c{i}"));
        let t = thread(&store, &c, ThreadType::Loan);
        // two threads per instant: ties on activity
        say_at(&store, t.id, &c, "hi", minutes(i / 2));
        all.push((minutes(i / 2), t.id));
    }
    all.sort_by(|x, y| y.cmp(x));
    let expected: Vec<ThreadId> = all.iter().map(|(_, id)| *id).collect();
    let f = filter(Assignee::Anyone);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.threads_page(&f, minutes(10), after, 3).unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(ActivityCursor::after(last));
        seen.extend(page.iter().map(|t| t.id));
    }
    assert_eq!(seen, expected);
}

/// Unread counts: the client's unread messages per thread; staff messages, read messages and
/// threads without any are left out, for many threads in one call.
pub fn unread_client_messages_counts_per_thread(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t1 = thread(&store, &ann, ThreadType::Loan);
    let t2 = thread(&store, &ann, ThreadType::Payment);
    let t3 = thread(&store, &ann, ThreadType::Other);
    say_at(&store, t1.id, &ann, "one", minutes(1));
    say_at(&store, t1.id, &ann, "two", minutes(2));
    say_at(&store, t1.id, &ag, "agent's", minutes(3));
    say_at(&store, t2.id, &ann, "read soon", minutes(1));
    store.mark_read(t2.id, ag.id, 1).unwrap();
    say_at(&store, t3.id, &ann, "three", minutes(1));
    let counts = store
        .unread_client_messages(&[t1.id, t2.id, t3.id, ThreadId(9999)])
        .unwrap();
    assert_eq!(counts.get(&t1.id), Some(&2));
    assert_eq!(counts.get(&t2.id), None);
    assert_eq!(counts.get(&t3.id), Some(&1));
    assert_eq!(counts.len(), 2);
    assert!(store.unread_client_messages(&[]).unwrap().is_empty());
}

/// Type, label, waiting, the creation and activity ranges (from inclusive, to exclusive) and
/// the text (in messages and notes, ignoring ASCII case, `%` and `_` plain) narrow the list,
/// every given criterion together; `count_threads` counts what every page would list.
pub fn threads_page_filters_by_type_label_waiting_time_and_text(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let ag = agent(&store, "agent");
    let t1 = store
        .open_thread(ann.id, ThreadType::Loan, minutes(1))
        .unwrap();
    let t2 = store
        .open_thread(ann.id, ThreadType::Payment, minutes(2))
        .unwrap();
    let t3 = store
        .open_thread(bob.id, ThreadType::Loan, minutes(3))
        .unwrap();
    wait_in_queue(&store, t1.id, &ann, minutes(11), 1);
    say_at(
        &store,
        t2.id,
        &ann,
        "My CARD was charged 100% twice",
        minutes(12),
    );
    wait_in_queue(&store, t3.id, &bob, minutes(13), 1);
    note_at(&store, t3.id, &ag, "suspect a scam_ring", minutes(14));
    let vip = store
        .insert_label(NewLabel::parse("VIP", "#ff0000").unwrap())
        .unwrap();
    let other = store
        .insert_label(NewLabel::parse("Other", "#00ff00").unwrap())
        .unwrap();
    store.add_thread_label(t1.id, vip.id).unwrap();
    store.add_thread_label(t2.id, vip.id).unwrap();
    store.add_thread_label(t2.id, other.id).unwrap();
    let now = minutes(20);
    let check = |f: ThreadFilter, expected: Vec<ThreadId>| {
        assert_eq!(ids(&store, &f, now, None, 10), expected, "{f:?}");
        assert_eq!(
            store.count_threads(&f, now).unwrap(),
            expected.len() as u64,
            "{f:?}"
        );
    };
    let any = filter(Assignee::Anyone);
    check(any.clone(), vec![t3.id, t2.id, t1.id]);
    check(
        ThreadFilter {
            thread_type: Some(ThreadType::Loan),
            ..any.clone()
        },
        vec![t3.id, t1.id],
    );
    check(
        ThreadFilter {
            label: Some(vip.id),
            ..any.clone()
        },
        vec![t2.id, t1.id],
    );
    check(
        ThreadFilter {
            label: Some(vip.id),
            thread_type: Some(ThreadType::Loan),
            ..any.clone()
        },
        vec![t1.id],
    );
    check(
        ThreadFilter {
            waiting: Some(true),
            ..any.clone()
        },
        vec![t3.id, t1.id],
    );
    check(
        ThreadFilter {
            waiting: Some(false),
            ..any.clone()
        },
        vec![t2.id],
    );
    check(
        ThreadFilter {
            created: TimeRange {
                from: Some(minutes(2)),
                to: Some(minutes(3)),
            },
            ..any.clone()
        },
        vec![t2.id],
    );
    check(
        ThreadFilter {
            active: TimeRange {
                from: Some(minutes(11)),
                to: Some(minutes(14)),
            },
            ..any.clone()
        },
        vec![t2.id, t1.id],
    );
    check(
        ThreadFilter {
            active: TimeRange {
                from: Some(minutes(14)),
                to: None,
            },
            ..any.clone()
        },
        vec![t3.id],
    );
    let text = |q: &str| ThreadFilter {
        text: Some(TextFilter::parse(q).unwrap()),
        ..any.clone()
    };
    check(text("card was"), vec![t2.id]);
    check(text("100%"), vec![t2.id]);
    check(text("0%"), vec![t2.id]);
    check(text("1%0"), vec![]);
    check(text("scam_ring"), vec![t3.id]);
    check(text("scam ring"), vec![]);
    check(text("ANYONE"), vec![t3.id, t1.id]);
    check(
        ThreadFilter {
            client: Some(bob.id),
            ..text("anyone")
        },
        vec![t3.id],
    );
}

/// Paging through a list while new conversations arrive (newer than any listed thread) shows
/// every thread that was there at the start exactly once, and nothing twice.
pub fn paging_never_repeats_or_misses_while_new_threads_arrive(store: Arc<dyn Store>) {
    let mut before = Vec::new();
    for i in 0..9 {
        let c = client(&store, &format!("c{i}"));
        let t = thread(&store, &c, ThreadType::Loan);
        say_at(&store, t.id, &c, "hi", minutes(i / 3));
        before.push(t.id);
    }
    let f = filter(Assignee::Anyone);
    let mut seen: Vec<ThreadId> = Vec::new();
    let mut after = None;
    let mut arrivals = 0;
    loop {
        let page = store.threads_page(&f, minutes(100), after, 2).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(ActivityCursor::after(last));
        seen.extend(page.iter().map(|t| t.id));
        // a new conversation between two pages
        let c = client(&store, &format!("new{arrivals}"));
        let t = store
            .open_thread(c.id, ThreadType::Payment, minutes(50 + arrivals))
            .unwrap();
        say_at(&store, t.id, &c, "new here", minutes(50 + arrivals));
        arrivals += 1;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a thread listed twice: {seen:?}");
    let mut expected = before;
    expected.sort();
    assert_eq!(unique, expected);
}
