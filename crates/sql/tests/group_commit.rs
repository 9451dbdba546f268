//! Batched appends (group commit) on the real Postgres: sends arriving together share one
//! transaction, and that changes nothing a sender can see: per-thread sequence numbers stay
//! gap-free, a send the batch cannot take fails alone, and a connection killed mid-batch leaves
//! every send stored exactly once or answered with an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_domain::message::{Appended, Audience};
use chat_domain::ports::{MessageStore, SharedSlaDecision, SlaStore, ThreadStore};
use chat_domain::sla::{SlaApplied, SlaClock, SlaKind, SlaPolicy};
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus, ThreadType};
use chat_domain::user::Role;
use chat_domain::{Conflict, DomainError, DomainResult, ThreadId};
use chat_postgres::testing::FreshSchema;
use chat_sql::{AppendBatching, SqlStore};
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

mod support;

use support::{all_at_once, client_message as message, client_patch, user, NOW};

/// Batches that wait long enough for every send of a test's burst to join them.
const GATHER: AppendBatching = AppendBatching {
    max_batch: 64,
    max_wait: Duration::from_millis(200),
    lanes: 1,
};

fn store_on(schema: &FreshSchema, batching: AppendBatching) -> SqlStore {
    chat_postgres::connect(schema.url(), 8)
        .unwrap()
        .with_append_batching(batching)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many transactions stored the thread's messages (rows written by one transaction share
/// its `xmin`).
fn transactions_that_stored(schema: &FreshSchema, thread: ThreadId) -> i64 {
    let mut conn = PgConnection::establish(schema.url()).unwrap();
    diesel::sql_query("SELECT count(DISTINCT xmin::text) AS n FROM messages WHERE thread_id = $1")
        .bind::<BigInt, _>(thread.0)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

fn seqs_of(store: &SqlStore, thread: ThreadId) -> Vec<i64> {
    store
        .messages_after(thread, 0, 10_000, Audience::Staff)
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect()
}

/// `n` clients, `client0`, `client1`, ..., each with an open thread of `thread_type`.
fn client_threads(store: &SqlStore, n: usize, thread_type: ThreadType) -> Vec<Thread> {
    (0..n)
        .map(|i| {
            let client = user(store, &format!("client{i}"), Role::Client);
            store.open_thread(client.id, thread_type, NOW).unwrap()
        })
        .collect()
}

#[test]
fn concurrent_appends_share_transactions_and_keep_per_thread_seqs_gap_free() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    // Four lanes: the four threads' batches are stored side by side.
    let store = Arc::new(store_on(&schema, AppendBatching { lanes: 4, ..GATHER }));
    let threads = client_threads(&store, 4, ThreadType::Payment);
    // 32 senders, 8 on each of four threads, ten messages each.
    let (senders, each) = (32, 10);
    let results = {
        let store = Arc::clone(&store);
        let threads = threads.clone();
        all_at_once(senders, move |s| {
            let thread = &threads[s % threads.len()];
            (0..each)
                .map(|i| {
                    store
                        .append_message(message(thread, &format!("s{s} m{i}"), None), &client_patch)
                        .unwrap()
                })
                .collect::<Vec<Appended>>()
        })
    };
    for (s, answers) in results.iter().enumerate() {
        let seqs: Vec<i64> = answers.iter().map(|a| a.message.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one sender's messages keep their order: {seqs:?}"
        );
        assert!(answers
            .iter()
            .all(|a| a.created && a.thread.id == threads[s % 4].id));
        assert!(answers.iter().all(|a| a.thread.last_seq == a.message.seq));
    }
    let per_thread = (senders / threads.len() * each) as i64;
    for thread in &threads {
        assert_eq!(
            seqs_of(&store, thread.id),
            (1..=per_thread).collect::<Vec<_>>()
        );
        let stored = store.thread_by_id(thread.id).unwrap().unwrap();
        assert_eq!(stored.last_seq, per_thread);
        assert_eq!(stored.waiting_since, Some(NOW));
        assert!(
            transactions_that_stored(&schema, thread.id) < per_thread,
            "sends arriving together share a transaction"
        );
    }
}

/// Waits until a connection named `name` waits for a lock.
fn wait_for_lock_wait(conn: &mut PgConnection, name: &str) {
    for _ in 0..2_000 {
        let waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event_type = 'Lock'",
        )
        .bind::<Text, _>(name)
        .get_result::<Count>(conn)
        .unwrap()
        .n;
        if waiting > 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no connection named {name} waited for a lock");
}

#[test]
fn a_lane_waiting_for_a_thread_lock_holds_up_no_other_lane() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let name = format!("gc_lanes_{}", std::process::id());
    let url = format!("{}&application_name={name}", schema.url());
    let store = Arc::new(
        chat_postgres::connect(&url, 4)
            .unwrap()
            .with_append_batching(AppendBatching {
                max_batch: 64,
                max_wait: Duration::ZERO,
                lanes: 2,
            }),
    );
    let threads = client_threads(&store, 2, ThreadType::Other);
    let (locked, free) = (threads[0].clone(), threads[1].clone());
    assert_ne!(
        locked.id.0 % 2,
        free.id.0 % 2,
        "the two threads take different lanes"
    );
    // Another instance's batch holding the first thread's lock, as long as the test likes.
    let mut other = PgConnection::establish(schema.url()).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut other,
        &format!(
            "BEGIN; SELECT id FROM threads WHERE id = {} FOR UPDATE",
            locked.id.0
        ),
    )
    .unwrap();
    let waiting = {
        let (store, locked) = (Arc::clone(&store), locked.clone());
        std::thread::spawn(move || {
            store.append_message(message(&locked, "waits for the lock", None), &client_patch)
        })
    };
    let mut watcher = PgConnection::establish(schema.url()).unwrap();
    wait_for_lock_wait(&mut watcher, &name);
    let (answered, answer) = std::sync::mpsc::channel();
    {
        let (store, free) = (Arc::clone(&store), free.clone());
        std::thread::spawn(move || {
            let _ =
                answered.send(store.append_message(message(&free, "goes on", None), &client_patch));
        });
    }
    let free_send = answer
        .recv_timeout(Duration::from_secs(20))
        .expect("the other lane stores while the first waits for the lock")
        .unwrap();
    assert!(free_send.created);
    assert_eq!(free_send.message.seq, 1);
    diesel::connection::SimpleConnection::batch_execute(&mut other, "COMMIT").unwrap();
    let locked_send = waiting.join().unwrap().unwrap();
    assert!(locked_send.created);
    assert_eq!(seqs_of(&store, locked.id), [1]);
    assert_eq!(seqs_of(&store, free.id), [1]);
}

#[test]
fn a_failing_patch_fails_only_its_own_send_in_a_batch() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = Arc::new(store_on(&schema, GATHER));
    let client = user(&store, "client", Role::Client);
    let thread = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    let results = {
        let store = Arc::clone(&store);
        let thread = thread.clone();
        all_at_once(12, move |i| {
            let refuse = |_: &Thread| -> DomainResult<ThreadPatch> {
                Err(DomainError::Conflict(Conflict::NotClaimHolder))
            };
            let new = message(&thread, &format!("send {i}"), None);
            if i % 3 == 0 {
                store.append_message(new, &refuse)
            } else {
                store.append_message(new, &client_patch)
            }
        })
    };
    let mut seqs = Vec::new();
    for (i, result) in results.iter().enumerate() {
        if i % 3 == 0 {
            assert!(
                matches!(result, Err(DomainError::Conflict(Conflict::NotClaimHolder))),
                "{result:?}"
            );
        } else {
            seqs.push(result.as_ref().unwrap().message.seq);
        }
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
        "refused sends take no seq"
    );
    assert_eq!(seqs_of(&store, thread.id), (1..=8).collect::<Vec<_>>());
    let stored = store
        .messages_after(thread.id, 0, 100, Audience::Staff)
        .unwrap();
    assert!(stored.iter().all(|m| {
        let n: usize = m.body.trim_start_matches("send ").parse().unwrap();
        !n.is_multiple_of(3)
    }));
    assert_eq!(store.thread_by_id(thread.id).unwrap().unwrap().last_seq, 8);
}

#[test]
fn a_batch_the_database_refuses_is_stored_send_by_send() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = Arc::new(store_on(&schema, GATHER));
    let client = user(&store, "client", Role::Client);
    let resolved = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    store
        .set_status(resolved.id, ThreadStatus::Resolved, NOW)
        .unwrap();
    let open = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    let stored_first = store
        .append_message(message(&open, "first", Some("retry-me")), &client_patch)
        .unwrap();
    // In one batch: a send reopening the resolved thread beside the open one (the database
    // refuses the batch's thread update), a retry of a stored client message id, and two
    // ordinary sends.
    let results = {
        let store = Arc::clone(&store);
        let (resolved, open) = (resolved.clone(), open.clone());
        all_at_once(4, move |i| match i {
            0 => store.append_message(message(&resolved, "back again", None), &client_patch),
            1 => store.append_message(message(&open, "first", Some("retry-me")), &client_patch),
            _ => store.append_message(
                message(&open, &format!("ordinary {i}"), None),
                &client_patch,
            ),
        })
    };
    assert!(
        matches!(
            results[0],
            Err(DomainError::Conflict(Conflict::OpenThreadExists))
        ),
        "{:?}",
        results[0]
    );
    let retry = results[1].as_ref().unwrap();
    assert!(!retry.created);
    assert_eq!(retry.message.id, stored_first.message.id);
    assert!(results[2].as_ref().unwrap().created);
    assert!(results[3].as_ref().unwrap().created);
    assert!(seqs_of(&store, resolved.id).is_empty());
    assert_eq!(
        store.thread_by_id(resolved.id).unwrap().unwrap().status,
        ThreadStatus::Resolved
    );
    assert_eq!(seqs_of(&store, open.id), [1, 2, 3]);
}

#[test]
fn retries_in_a_batch_are_answered_with_the_stored_messages_and_the_rest_shares_its_transaction() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = Arc::new(store_on(&schema, GATHER));
    let threads = client_threads(&store, 2, ThreadType::Loan);
    let (a, b) = (threads[0].clone(), threads[1].clone());
    let stored_a = store
        .append_message(message(&a, "a1", Some("a-1")), &client_patch)
        .unwrap();
    let stored_b = store
        .append_message(message(&b, "b1", Some("b-1")), &client_patch)
        .unwrap();
    // One batch: retries of both stored messages among new sends, with and without ids.
    let results = {
        let store = Arc::clone(&store);
        let (a, b) = (a.clone(), b.clone());
        all_at_once(6, move |i| {
            let (thread, body, cmid) = match i {
                0 => (&a, "a2", Some("a-2")),
                1 => (&b, "b1", Some("b-1")),
                2 => (&a, "a1", Some("a-1")),
                3 => (&b, "b2", Some("b-2")),
                4 => (&a, "a3", None),
                _ => (&b, "b3", Some("b-3")),
            };
            store.append_message(message(thread, body, cmid), &client_patch)
        })
    };
    let answers: Vec<&Appended> = results.iter().map(|r| r.as_ref().unwrap()).collect();
    for retry in [1, 2] {
        assert!(!answers[retry].created, "send {retry} is a retry");
    }
    assert_eq!(answers[1].message.id, stored_b.message.id);
    assert_eq!(answers[2].message.id, stored_a.message.id);
    for new in [0, 3, 4, 5] {
        assert!(answers[new].created, "send {new} is new");
    }
    assert_eq!(seqs_of(&store, a.id), [1, 2, 3]);
    assert_eq!(seqs_of(&store, b.id), [1, 2, 3]);
    // Found by the batch itself: had the retries' inserts been refused, the batch would have
    // been rolled back and its four new sends stored one transaction each.
    let mut conn = PgConnection::establish(schema.url()).unwrap();
    let transactions = diesel::sql_query(
        "SELECT count(DISTINCT xmin::text) AS n FROM messages WHERE thread_id = ANY($1) AND seq > 1",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(vec![a.id.0, b.id.0])
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n;
    assert!(
        transactions < 4,
        "the new sends were stored by {transactions} transactions"
    );
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Text)]
    client_message_id: String,
    #[diesel(sql_type = BigInt)]
    copies: i64,
}

#[test]
fn killing_the_connection_mid_batch_stores_every_send_once_or_answers_an_error() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    // The store's connections carry a name of their own, so the test kills only them.
    let name = format!("gc_kill_{}", std::process::id());
    let url = format!("{}&application_name={name}", schema.url());
    const POOL: u32 = 8;
    let store = Arc::new(
        chat_postgres::connect(&url, POOL)
            .unwrap()
            .with_append_batching(AppendBatching {
                max_batch: 64,
                max_wait: Duration::from_millis(2),
                lanes: 2,
            }),
    );
    let threads = client_threads(&store, 4, ThreadType::Other);
    let sending = Arc::new(AtomicBool::new(true));
    let killed = Arc::new(AtomicU64::new(0));
    let killer = {
        let (sending, killed, name) = (Arc::clone(&sending), Arc::clone(&killed), name.clone());
        std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&chat_postgres::testing::base_url()).unwrap();
            while sending.load(Ordering::Relaxed) {
                // Backends of the store inside a transaction: a batch being stored.
                let n = diesel::sql_query(
                    "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                     WHERE application_name = $1 AND state IN ('active', 'idle in transaction')",
                )
                .bind::<Text, _>(&name)
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n;
                killed.fetch_add(n as u64, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(15));
            }
        })
    };
    let (senders, each) = (16, 25);
    let answers = {
        let store = Arc::clone(&store);
        let threads = threads.clone();
        all_at_once(senders, move |s| {
            let thread = &threads[s % threads.len()];
            (0..each)
                .map(|i| {
                    let cmid = format!("s{s}-m{i}");
                    let answer =
                        store.append_message(message(thread, &cmid, Some(&cmid)), &client_patch);
                    (cmid, thread.clone(), answer)
                })
                .collect::<Vec<_>>()
        })
    };
    sending.store(false, Ordering::Relaxed);
    killer.join().unwrap();
    assert!(
        killed.load(Ordering::Relaxed) > 0,
        "the test must have killed connections mid-batch"
    );
    let answers: Vec<_> = answers.into_iter().flatten().collect();
    let copies = || -> HashMap<String, i64> {
        let mut conn = PgConnection::establish(schema.url()).unwrap();
        diesel::sql_query(
            "SELECT client_message_id, count(*) AS copies FROM messages GROUP BY client_message_id",
        )
        .load::<Stored>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|s| (s.client_message_id, s.copies))
        .collect()
    };
    let stored = copies();
    let mut failed = Vec::new();
    for (cmid, thread, answer) in &answers {
        match answer {
            Ok(appended) => {
                assert_eq!(
                    stored.get(cmid),
                    Some(&1),
                    "{cmid} answered stored: stored once"
                );
                assert_eq!(
                    appended.message.client_message_id.as_deref(),
                    Some(cmid.as_str())
                );
            }
            Err(err) => {
                assert!(
                    matches!(err, DomainError::Unavailable(_)),
                    "{cmid}: {err:?}"
                );
                assert!(
                    stored.get(cmid).copied().unwrap_or(0) <= 1,
                    "{cmid}: never twice"
                );
                failed.push((cmid.clone(), thread.clone()));
            }
        }
    }
    assert!(stored.values().all(|&n| n == 1), "no duplicates");
    assert!(
        stored
            .keys()
            .all(|cmid| answers.iter().any(|(c, _, _)| c == cmid)),
        "nothing stored that was not sent"
    );
    // The senders retry what failed, with the same client message ids: then every send is
    // stored exactly once, and every thread's seqs run 1..n without gaps. A backend killed just
    // as its statement ended went back to the pool idle, and the pool trusts an idle connection
    // for `PING_AFTER`: a retry may draw one such dead connection (which is then dropped), so a
    // sender retries while the store answers `Unavailable`, at most once per pooled connection
    // plus once.
    for (cmid, thread) in &failed {
        let retried = (0..=POOL)
            .map(|_| store.append_message(message(thread, cmid, Some(cmid)), &client_patch))
            .find(|answer| !matches!(answer, Err(DomainError::Unavailable(_))))
            .expect("a retry on a live connection")
            .unwrap();
        assert_eq!(
            retried.message.client_message_id.as_deref(),
            Some(cmid.as_str())
        );
    }
    let stored = copies();
    assert_eq!(stored.len(), senders * each);
    assert!(stored.values().all(|&n| n == 1));
    let mut total = 0;
    for thread in &threads {
        let seqs = seqs_of(&store, thread.id);
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        assert_eq!(
            store.thread_by_id(thread.id).unwrap().unwrap().last_seq,
            seqs.len() as i64
        );
        total += seqs.len();
    }
    assert_eq!(total, senders * each);
    eprintln!(
        "killed {} backends; {} of {} sends answered with an error and retried",
        killed.load(Ordering::Relaxed),
        failed.len(),
        answers.len()
    );
}

/// The SLA clock changes that batched appends decide are stored in the batch's own transaction
/// (one commit for the messages and their clocks), each once.
#[test]
fn batched_appends_store_their_clock_changes_in_the_same_transaction() {
    let schema = FreshSchema::create().expect("Postgres must be running");
    let store = Arc::new(store_on(&schema, GATHER));
    let threads = Arc::new(client_threads(&store, 6, ThreadType::Loan));
    let policy = SlaPolicy::default();
    let results = {
        let (store, threads) = (Arc::clone(&store), Arc::clone(&threads));
        all_at_once(6, move |i| {
            let thread = &threads[i];
            let (policy, client) = (policy.clone(), thread.client_id);
            let decide: SharedSlaDecision = Arc::new(move |t: &Thread, clocks: &[SlaClock]| {
                policy.after_message((Role::Client, client), t, NOW, clocks)
            });
            store
                .append_message_with_sla(
                    message(thread, "where is my loan?", None),
                    Arc::new(client_patch),
                    decide,
                )
                .unwrap()
        })
    };
    assert!(results
        .iter()
        .all(|(a, applied)| a.created && *applied == SlaApplied::WithMessage));
    let mut conn = PgConnection::establish(schema.url()).unwrap();
    for thread in threads.iter() {
        let clocks = store.sla_clocks(&[thread.id]).unwrap();
        let kinds: Vec<SlaKind> = clocks.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![SlaKind::FirstResponse, SlaKind::Resolution]);
        assert!(clocks.iter().all(|c| c.started_at == NOW && c.is_running()));
        // The clocks were written by the transaction that stored the message.
        let same = diesel::sql_query(
            "SELECT count(*) AS n FROM sla_clocks c JOIN messages m ON m.thread_id = c.thread_id \
             WHERE c.thread_id = $1 AND c.xmin::text = m.xmin::text",
        )
        .bind::<BigInt, _>(thread.id.0)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
        assert_eq!(
            same, 2,
            "thread {}: clocks committed apart from the message",
            thread.id
        );
    }
    // Two more client messages into the waiting thread, together: neither begins a wait, so the
    // batch offers them no clocks (their callers are told to decide) and nothing starts twice.
    let thread = threads[0].clone();
    let answers = {
        let store = Arc::clone(&store);
        let policy = SlaPolicy::default();
        all_at_once(2, move |i| {
            let (policy, client) = (policy.clone(), thread.client_id);
            let decide: SharedSlaDecision = Arc::new(move |t: &Thread, clocks: &[SlaClock]| {
                policy.after_message((Role::Client, client), t, NOW, clocks)
            });
            store
                .append_message_with_sla(
                    message(&thread, &format!("again {i}"), None),
                    Arc::new(client_patch),
                    decide,
                )
                .unwrap()
                .1
        })
    };
    assert!(answers.contains(&SlaApplied::Left));
    assert_eq!(
        store.sla_clocks(&[threads[0].id]).unwrap().len(),
        2,
        "nothing started twice"
    );
}
