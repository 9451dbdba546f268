use std::sync::Arc;

use chat_domain::ports::Store;
use chat_domain::search::{SearchHit, SearchQuery, SearchScope};
use chat_domain::thread::ThreadType;
use chat_domain::MessageId;

use crate::fixtures::{agent, client, minutes, say_at, thread};

fn search(store: &Arc<dyn Store>, text: &str, scope: SearchScope, limit: u32) -> Vec<SearchHit> {
    store
        .search(&SearchQuery::new(text, scope, limit).unwrap())
        .unwrap()
}

fn sorted_ids(hits: &[SearchHit]) -> Vec<MessageId> {
    let mut ids: Vec<MessageId> = hits.iter().map(|h| h.message.id).collect();
    ids.sort_unstable();
    ids
}

fn assert_ranked(hits: &[SearchHit]) {
    for pair in hits.windows(2) {
        assert!(
            pair[0].rank >= pair[1].rank,
            "hits must come best first: {} then {}",
            pair[0].rank,
            pair[1].rank
        );
    }
}

/// Search finds the messages that contain every term (any case), with the thread's client's
/// username, and nothing else.
pub fn search_finds_messages_containing_every_term(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let ag = agent(&store, "agent");
    let ann_t = thread(&store, &ann, ThreadType::Loan);
    let bob_t = thread(&store, &bob, ThreadType::Payment);
    let both = say_at(
        &store,
        ann_t.id,
        &ann,
        "I need a refund for my passport fee",
        minutes(1),
    );
    let refund_only = say_at(&store, ann_t.id, &ann, "Refund, please", minutes(2));
    say_at(
        &store,
        ann_t.id,
        &ann,
        "my card was charged twice",
        minutes(3),
    );
    let reply = say_at(
        &store,
        ann_t.id,
        &ag,
        "the passport refund is on its way",
        minutes(4),
    );
    let bobs = say_at(
        &store,
        bob_t.id,
        &bob,
        "passport office wants a REFUND",
        minutes(5),
    );

    let hits = search(&store, "refund passport", SearchScope::All, 20);
    assert_eq!(
        sorted_ids(&hits),
        vec![both.message.id, reply.message.id, bobs.message.id]
    );
    assert_ranked(&hits);
    for hit in &hits {
        let expected = if hit.message.id == bobs.message.id {
            "bob"
        } else {
            "ann"
        };
        assert_eq!(hit.client_username, expected);
    }
    let stored = hits
        .iter()
        .find(|h| h.message.id == both.message.id)
        .unwrap();
    assert_eq!(stored.message, both.message);

    let any_case = search(&store, "rEfUnD", SearchScope::All, 20);
    assert_eq!(
        sorted_ids(&any_case),
        vec![
            both.message.id,
            refund_only.message.id,
            reply.message.id,
            bobs.message.id
        ]
    );
    assert!(search(&store, "zebra", SearchScope::All, 20).is_empty());
    assert!(search(&store, "refund zebra", SearchScope::All, 20).is_empty());
}

/// A message where the term is dense ranks above one where it is a word among many.
pub fn search_ranks_a_denser_match_first(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Payment);
    say_at(
        &store,
        t.id,
        &ann,
        "I would like to know whether the refund for the order I placed last week with my \
         credit card has been sent back to my account already",
        minutes(1),
    );
    let dense = say_at(&store, t.id, &ann, "refund refund refund", minutes(2));
    say_at(&store, t.id, &ann, "nothing to see here", minutes(3));
    let hits = search(&store, "refund", SearchScope::All, 20);
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].message.id, dense.message.id);
    assert!(
        hits[0].rank > hits[1].rank,
        "ranks: {} vs {}",
        hits[0].rank,
        hits[1].rank
    );
}

/// A search within a client's threads never returns another client's messages (staff
/// replies in the client's own threads are the client's to see).
pub fn search_in_a_client_scope_never_returns_another_clients_messages(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    let ag = agent(&store, "agent");
    let ann_t = thread(&store, &ann, ThreadType::Loan);
    let bob_t = thread(&store, &bob, ThreadType::Loan);
    let bob_other = thread(&store, &bob, ThreadType::Other);
    let a1 = say_at(
        &store,
        ann_t.id,
        &ann,
        "where is my loan disbursement",
        minutes(1),
    );
    let a2 = say_at(
        &store,
        ann_t.id,
        &ag,
        "your loan disbursement is scheduled",
        minutes(2),
    );
    let b1 = say_at(
        &store,
        bob_t.id,
        &bob,
        "loan disbursement is late",
        minutes(3),
    );
    let b2 = say_at(
        &store,
        bob_other.id,
        &bob,
        "loan disbursement again",
        minutes(4),
    );
    say_at(
        &store,
        bob_t.id,
        &ag,
        "loan disbursement for bob done",
        minutes(5),
    );

    let anns = search(
        &store,
        "loan disbursement",
        SearchScope::ClientThreads(ann.id),
        50,
    );
    assert_eq!(sorted_ids(&anns), vec![a1.message.id, a2.message.id]);
    assert!(anns.iter().all(|h| h.message.thread_id == ann_t.id));
    assert!(anns.iter().all(|h| h.client_username == "ann"));

    let bobs = search(
        &store,
        "loan disbursement",
        SearchScope::ClientThreads(bob.id),
        50,
    );
    assert_eq!(bobs.len(), 3);
    assert!(bobs.iter().any(|h| h.message.id == b1.message.id));
    assert!(bobs.iter().any(|h| h.message.id == b2.message.id));
    assert!(bobs
        .iter()
        .all(|h| h.message.thread_id == bob_t.id || h.message.thread_id == bob_other.id));

    let staff = search(&store, "loan disbursement", SearchScope::All, 50);
    assert_eq!(staff.len(), 5);
}

/// Search returns at most `limit` hits.
pub fn search_respects_the_limit(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Other);
    for i in 0..6 {
        say_at(
            &store,
            t.id,
            &ann,
            &format!("statement request number {i}"),
            minutes(i),
        );
    }
    assert_eq!(search(&store, "statement", SearchScope::All, 4).len(), 4);
    assert_eq!(search(&store, "statement", SearchScope::All, 1).len(), 1);
    assert_eq!(search(&store, "statement", SearchScope::All, 50).len(), 6);
}
