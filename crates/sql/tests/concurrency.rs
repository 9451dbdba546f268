//! The store's atomic rules under real concurrency, on both real databases: many OS threads hit
//! one thread row at once through the pool, as concurrent requests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use chat_domain::claim::ClaimAttempt;
use chat_domain::message::{Audience, MessageBody, MessageKind, NewMessage};
use chat_domain::ports::{MessageStore, SlaStore, Store, ThreadStore};
use chat_domain::search::{SearchQuery, SearchScope};
use chat_domain::sla::{SlaKind, SlaPolicy, SlaTargets};
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus, ThreadType};
use chat_domain::user::{Role, User};
use chat_domain::{DomainError, DomainResult};
use chat_sql::SqlStore;

mod support;

use support::{all_at_once, client_message, client_patch, user, NOW};

/// A store on a fresh Postgres schema.
fn postgres_store() -> (SqlStore, chat_postgres::testing::FreshSchema) {
    let schema = chat_postgres::testing::FreshSchema::create().expect("Postgres must be running");
    (chat_postgres::connect(schema.url(), 8).unwrap(), schema)
}

/// A store on a fresh SQLite file (kept while the guard lives).
fn sqlite_store() -> (SqlStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = chat_embedded::open(&dir.path().join("data").join("chat.db"), 8).unwrap();
    (store, dir)
}

fn fifty_agents_claiming_one_thread_yield_exactly_one_winner(store: SqlStore) {
    let store = Arc::new(store);
    let agents: Vec<User> = (0..50)
        .map(|i| user(&store, &format!("agent{i}"), Role::Agent))
        .collect();
    for round in 0..5 {
        let client = user(&store, &format!("client{round}"), Role::Client);
        let thread = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
        let until = NOW.plus_millis(60_000);
        let attempts = {
            let store = Arc::clone(&store);
            let agents = agents.clone();
            all_at_once(50, move |i| {
                store
                    .try_claim(thread.id, agents[i].id, until, NOW)
                    .unwrap()
            })
        };
        let winners: Vec<_> = attempts
            .iter()
            .filter_map(|a| match a {
                ClaimAttempt::Won(c) => Some(c.agent_id),
                ClaimAttempt::Held(_) => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {attempts:?}");
        for attempt in &attempts {
            if let ClaimAttempt::Held(claim) = attempt {
                assert_eq!(claim.agent_id, winners[0]);
            }
        }
        let stored = store.thread_by_id(thread.id).unwrap().unwrap();
        assert_eq!(stored.claim.map(|c| c.agent_id), Some(winners[0]));
        assert_eq!(stored.agent_id, Some(winners[0]));
    }
}

fn parallel_appends_to_one_thread_number_every_message_once(store: SqlStore) {
    let store = Arc::new(store);
    let client = user(&store, "client", Role::Client);
    let thread = store
        .open_thread(client.id, ThreadType::Payment, NOW)
        .unwrap();
    let (writers, each) = (16, 10);
    let results = {
        let store = Arc::clone(&store);
        let thread = thread.clone();
        all_at_once(writers, move |w| {
            (0..each)
                .map(|i| {
                    store.append_message(
                        client_message(&thread, &format!("writer {w} message {i}"), None),
                        &client_patch,
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let mut seqs: Vec<i64> = results
        .into_iter()
        .flatten()
        .map(|r| {
            r.expect("no append may fail (no 'database is locked')")
                .message
                .seq
        })
        .collect();
    seqs.sort_unstable();
    let total = (writers * each) as i64;
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let stored = store
        .messages_after(thread.id, 0, 1000, Audience::Staff)
        .unwrap();
    assert_eq!(stored.len() as i64, total);
    assert!(stored.iter().zip(1..).all(|(m, seq)| m.seq == seq));
    let thread = store.thread_by_id(thread.id).unwrap().unwrap();
    assert_eq!(thread.last_seq, total);
    assert_eq!(thread.waiting_since, Some(NOW));
}

fn concurrent_retries_of_one_client_message_id_store_it_once(store: SqlStore) {
    let store = Arc::new(store);
    let client = user(&store, "client", Role::Client);
    let thread = store
        .open_thread(client.id, ThreadType::Other, NOW)
        .unwrap();
    for cmid in ["first-send", "second-send", "third-send"] {
        let outcomes = {
            let store = Arc::clone(&store);
            let thread = thread.clone();
            all_at_once(20, move |_| {
                store
                    .append_message(client_message(&thread, "hello", Some(cmid)), &client_patch)
                    .unwrap()
            })
        };
        assert_eq!(outcomes.iter().filter(|a| a.created).count(), 1, "{cmid}");
        let ids: HashSet<_> = outcomes.iter().map(|a| a.message.id).collect();
        assert_eq!(
            ids.len(),
            1,
            "every retry answers with the one stored message"
        );
        assert!(outcomes
            .iter()
            .all(|a| a.message.client_message_id.as_deref() == Some(cmid)));
    }
    let stored = store
        .messages_after(thread.id, 0, 100, Audience::Staff)
        .unwrap();
    assert_eq!(stored.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(store.thread_by_id(thread.id).unwrap().unwrap().last_seq, 3);
}

fn concurrent_opens_of_one_topic_share_one_thread(store: SqlStore) {
    let store = Arc::new(store);
    let client = user(&store, "client", Role::Client);
    let ids = {
        let store = Arc::clone(&store);
        all_at_once(20, move |_| {
            store
                .open_thread(client.id, ThreadType::Loan, NOW)
                .unwrap()
                .id
        })
    };
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1);
    assert_eq!(store.threads_of_client(client.id).unwrap().len(), 1);
}

fn concurrent_sweeps_report_each_expired_claim_once(store: SqlStore) {
    let store = Arc::new(store);
    let agent = user(&store, "agent", Role::Agent);
    let mut claimed = HashSet::new();
    for i in 0..5 {
        let client = user(&store, &format!("client{i}"), Role::Client);
        for thread_type in ThreadType::ALL {
            let thread = store.open_thread(client.id, thread_type, NOW).unwrap();
            store
                .try_claim(thread.id, agent.id, NOW.plus_millis(1_000), NOW)
                .unwrap();
            claimed.insert(thread.id);
        }
    }
    let later = NOW.plus_millis(1_000);
    let sweeps = {
        let store = Arc::clone(&store);
        all_at_once(8, move |_| store.expire_claims(later).unwrap())
    };
    let reported: Vec<_> = sweeps.into_iter().flatten().collect();
    assert_eq!(
        reported.len(),
        claimed.len(),
        "each expiry reported exactly once"
    );
    assert_eq!(
        reported.iter().map(|e| e.thread_id).collect::<HashSet<_>>(),
        claimed
    );
    assert!(reported.iter().all(|e| e.agent_id == agent.id));
    assert!(store.expire_claims(later).unwrap().is_empty());
}

fn concurrent_sla_sweeps_warn_and_breach_each_clock_once(store: SqlStore) {
    let store = Arc::new(store);
    let policy = SlaPolicy {
        loan: SlaTargets {
            first_response: Some(60),
            ..SlaTargets::default()
        },
        ..SlaPolicy::default()
    };
    let mut started = HashSet::new();
    for i in 0..12 {
        let client = user(&store, &format!("client{i}"), Role::Client);
        let thread = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
        let clock = store
            .start_sla_clock(policy.start(
                thread.id,
                thread.thread_type,
                SlaKind::FirstResponse,
                NOW,
            ))
            .unwrap()
            .unwrap();
        started.insert(clock.id);
    }
    let later = NOW.plus_millis(61_000);
    let sweeps = {
        let store = Arc::clone(&store);
        all_at_once(8, move |_| {
            let warned = store.warn_at_risk_clocks(later).unwrap();
            let breached = store.breach_due_clocks(later).unwrap();
            (warned, breached)
        })
    };
    let (warned, breached): (Vec<_>, Vec<_>) = sweeps.into_iter().unzip();
    for (what, reported) in [("warning", warned), ("breach", breached)] {
        let ids: Vec<i64> = reported.into_iter().flatten().map(|c| c.id).collect();
        assert_eq!(
            ids.len(),
            started.len(),
            "each {what} reported exactly once"
        );
        assert_eq!(ids.into_iter().collect::<HashSet<_>>(), started);
    }
    assert!(store.breach_due_clocks(later).unwrap().is_empty());
    assert!(store.warn_at_risk_clocks(later).unwrap().is_empty());
}

fn reopening_beside_another_open_thread_of_the_type_is_a_conflict(store: SqlStore) {
    let client = user(&store, "client", Role::Client);
    let first = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    store
        .set_status(first.id, ThreadStatus::Resolved, NOW)
        .unwrap();
    let second = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    assert_ne!(first.id, second.id);
    let reopened = store.append_message(client_message(&first, "back again", None), &client_patch);
    assert!(
        matches!(reopened, Err(DomainError::Conflict(_))),
        "{reopened:?}"
    );
    assert!(store
        .messages_after(first.id, 0, 10, Audience::Staff)
        .unwrap()
        .is_empty());
    assert_eq!(store.thread_by_id(first.id).unwrap().unwrap().last_seq, 0);
}

fn search_finds_every_word_within_its_scope_best_first(store: SqlStore) {
    let ann = user(&store, "ann", Role::Client);
    let bob = user(&store, "bob", Role::Client);
    let ann_thread = store.open_thread(ann.id, ThreadType::Loan, NOW).unwrap();
    let bob_thread = store.open_thread(bob.id, ThreadType::Loan, NOW).unwrap();
    for (thread, body) in [
        (&ann_thread, "My loan disbursement is late"),
        (&ann_thread, "Loan, loan, LOAN disbursement!"),
        (&ann_thread, "a question about my card"),
        (&bob_thread, "when is my loan disbursement due"),
    ] {
        store
            .append_message(client_message(thread, body, None), &client_patch)
            .unwrap();
    }
    let all = store
        .search(&SearchQuery::new("loan disbursement", SearchScope::All, 10).unwrap())
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].rank >= w[1].rank));
    assert_eq!(all[0].message.body, "Loan, loan, LOAN disbursement!");
    let anns = store
        .search(&SearchQuery::new("DISBURSEMENT", SearchScope::ClientThreads(ann.id), 10).unwrap())
        .unwrap();
    assert_eq!(anns.len(), 2);
    assert!(anns.iter().all(|h| h.client_username == "ann"));
    let none = store
        .search(&SearchQuery::new("loan card", SearchScope::All, 10).unwrap())
        .unwrap();
    assert!(none.is_empty());
}

/// An agent's reply marks the client's messages read under the thread's lock while explicit
/// mark_reads (by the agent and by the client) touch the same rows: run together, round after
/// round, none of them may fail (no deadlock, no "database is locked").
fn replies_and_mark_reads_on_the_same_messages_never_deadlock(store: SqlStore) {
    let store = Arc::new(store);
    let client = user(&store, "client", Role::Client);
    let agent = user(&store, "agent", Role::Agent);
    let thread = store.open_thread(client.id, ThreadType::Loan, NOW).unwrap();
    for round in 0..30 {
        for i in 0..20 {
            store
                .append_message(
                    client_message(&thread, &format!("round {round} question {i}"), None),
                    &client_patch,
                )
                .unwrap();
        }
        let outcomes = {
            let store = Arc::clone(&store);
            let (thread, client, agent) = (thread.clone(), client.clone(), agent.clone());
            all_at_once(6, move |i| -> DomainResult<()> {
                let up_to = store.thread_by_id(thread.id)?.map_or(0, |t| t.last_seq);
                match i % 3 {
                    0 => store
                        .append_message(
                            NewMessage {
                                kind: MessageKind::Message,
                                thread_id: thread.id,
                                sender_id: agent.id,
                                sender_role: Role::Agent,
                                body: MessageBody::parse("an answer").unwrap(),
                                created_at: NOW,
                                client_message_id: None,
                                attachments: Vec::new(),
                                system: false,
                                verified_hash: None,
                            },
                            &agent_reply_patch,
                        )
                        .map(drop),
                    1 => store.mark_read(thread.id, agent.id, up_to).map(drop),
                    _ => store.mark_read(thread.id, client.id, up_to).map(drop),
                }
            })
        };
        for outcome in outcomes {
            outcome.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let unread_client_messages = store
            .messages_after(thread.id, 0, 10_000, Audience::Staff)
            .unwrap()
            .into_iter()
            .filter(|m| m.sender_role == Role::Client && !m.is_read)
            .count();
        assert_eq!(unread_client_messages, 0, "round {round}");
    }
}

/// The patch an agent's reply makes: pending, nobody waiting, the client's messages read.
fn agent_reply_patch(thread: &Thread) -> DomainResult<ThreadPatch> {
    Ok(ThreadPatch {
        status: ThreadStatus::Pending,
        claim: thread.claim,
        agent_id: thread.agent_id,
        waiting_since: None,
        urgency: thread.urgency.clone(),
        rank_key: Some(i64::MIN),
        mark_client_messages_read: true,
    })
}

fn the_backend_is_named(store: SqlStore, expected: &str) {
    assert_eq!(store.backend_name(), expected);
}

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $scenario() {
                    let (store, _guard) = super::postgres_store();
                    super::$scenario(store);
                }
            )*
        }
        mod sqlite {
            $(
                #[test]
                fn $scenario() {
                    let (store, _guard) = super::sqlite_store();
                    super::$scenario(store);
                }
            )*
        }
    };
}

on_both_backends!(
    fifty_agents_claiming_one_thread_yield_exactly_one_winner,
    parallel_appends_to_one_thread_number_every_message_once,
    concurrent_retries_of_one_client_message_id_store_it_once,
    concurrent_opens_of_one_topic_share_one_thread,
    concurrent_sweeps_report_each_expired_claim_once,
    concurrent_sla_sweeps_warn_and_breach_each_clock_once,
    reopening_beside_another_open_thread_of_the_type_is_a_conflict,
    search_finds_every_word_within_its_scope_best_first,
    replies_and_mark_reads_on_the_same_messages_never_deadlock,
);

#[test]
fn each_store_names_its_backend() {
    let (postgres, _schema) = postgres_store();
    the_backend_is_named(postgres, "postgres");
    let (sqlite, _dir) = sqlite_store();
    the_backend_is_named(sqlite, "sqlite");
}
