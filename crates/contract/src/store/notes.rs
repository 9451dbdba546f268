//! Private notes: entries of kind `note` in a thread's sequence, for staff only.

use std::sync::Arc;

use chat_domain::message::{Audience, MessageKind};
use chat_domain::ports::Store;
use chat_domain::search::{SearchQuery, SearchScope};
use chat_domain::thread::{ThreadStatus, ThreadType};

use crate::fixtures::{
    agent, agent_replied, client, client_wrote, minutes, new_message, note_at, reload, say_at,
    thread, wait_in_queue,
};

/// A note takes the thread's next sequence number and is read back as a note; staff's pages
/// have it in order, a client's page leaves it out (and its `seq` with it).
pub fn notes_share_the_sequence_and_only_staff_read_them(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, t.id, &ann, "one", minutes(1));
    let note = note_at(&store, t.id, &ag, "client called, card blocked", minutes(2));
    say_at(&store, t.id, &ann, "three", minutes(3));
    assert_eq!(note.message.seq, 2);
    assert_eq!(note.message.kind, MessageKind::Note);
    assert_eq!(note.message.body, "client called, card blocked");
    assert_eq!(reload(&store, t.id).last_seq, 3);
    let staff = store.messages_after(t.id, 0, 10, Audience::Staff).unwrap();
    assert_eq!(
        staff.iter().map(|m| (m.seq, m.kind)).collect::<Vec<_>>(),
        vec![
            (1, MessageKind::Message),
            (2, MessageKind::Note),
            (3, MessageKind::Message)
        ]
    );
    let clients = store.messages_after(t.id, 0, 10, Audience::Client).unwrap();
    assert_eq!(
        clients.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(clients.iter().all(|m| m.kind == MessageKind::Message));
    let after_one = store.messages_after(t.id, 1, 1, Audience::Client).unwrap();
    assert_eq!(after_one.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3]);
}

/// The stored kind of a message is `message`.
pub fn messages_are_stored_as_messages(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let m = say_at(&store, t.id, &ann, "hello", minutes(1));
    assert_eq!(m.message.kind, MessageKind::Message);
    let read = store.messages_after(t.id, 0, 10, Audience::Client).unwrap();
    assert_eq!(read[0].kind, MessageKind::Message);
}

/// A client's search never finds a note in its threads; staff's search does.
pub fn a_clients_search_never_finds_a_note(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, t.id, &ann, "where is my refund", minutes(1));
    let note = note_at(&store, t.id, &ag, "refund suspicious, escalate", minutes(2));
    let find = |scope| {
        store
            .search(&SearchQuery::new("refund", scope, 10).unwrap())
            .unwrap()
    };
    let clients = find(SearchScope::ClientThreads(ann.id));
    assert_eq!(clients.len(), 1);
    assert!(clients
        .iter()
        .all(|h| h.message.kind == MessageKind::Message));
    let staff = find(SearchScope::All);
    assert_eq!(staff.len(), 2);
    assert!(staff
        .iter()
        .any(|h| h.message.id == note.message.id && h.message.kind == MessageKind::Note));
}

/// conversation_between leaves notes out, and a note alone does not make the agent part of a
/// thread.
pub fn conversation_between_leaves_notes_out(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &ann, ThreadType::Other);
    say_at(&store, loan.id, &ann, "hi", minutes(1));
    say_at(&store, loan.id, &ag, "hello", minutes(2));
    note_at(&store, loan.id, &ag, "a note", minutes(3));
    say_at(&store, other.id, &ann, "other topic", minutes(4));
    note_at(&store, other.id, &ag, "only a note here", minutes(5));
    let between = store.conversation_between(ag.id, ann.id).unwrap();
    assert_eq!(
        between.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["hi", "hello"]
    );
}

/// mark_read never marks a note, and a note is never counted unread.
pub fn mark_read_and_unread_counts_leave_notes_alone(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, t.id, &ann, "hi", minutes(1));
    note_at(&store, t.id, &ag, "a note", minutes(2));
    assert_eq!(store.mark_read(t.id, ann.id, 10).unwrap(), 0);
    let note = &store.messages_after(t.id, 1, 10, Audience::Staff).unwrap()[0];
    assert!(!note.is_read);
    assert_eq!(
        store.unread_client_messages(&[t.id]).unwrap().get(&t.id),
        Some(&1)
    );
}

/// A note's patch keeps the thread as it was: still waiting, same urgency and rank, still
/// resolved when it was.
pub fn a_note_leaves_the_thread_waiting_and_resolved_threads_resolved(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    wait_in_queue(&store, t.id, &ann, minutes(1), 500);
    let before = reload(&store, t.id);
    let note = note_at(&store, t.id, &ag, "checking", minutes(2));
    assert!(!note.status_changed && !note.reopened);
    let after = reload(&store, t.id);
    assert_eq!(after.waiting_since, before.waiting_since);
    assert_eq!(after.urgency, before.urgency);
    assert_eq!(after.last_activity_at, minutes(2));
    assert_eq!(store.queue(minutes(3), 10, 0).unwrap()[0].id, t.id);
    store
        .set_status(t.id, ThreadStatus::Resolved, minutes(4))
        .unwrap();
    let note = note_at(&store, t.id, &ag, "closed by phone", minutes(5));
    assert!(!note.reopened);
    assert_eq!(reload(&store, t.id).status, ThreadStatus::Resolved);
}

/// An append reports whether it reopened a resolved thread (not a pending one).
pub fn append_reports_a_reopened_thread(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let ag = agent(&store, "agent");
    let t = thread(&store, &ann, ThreadType::Loan);
    let first = wait_in_queue(&store, t.id, &ann, minutes(1), 10);
    assert!(!first.reopened);
    let claim = chat_domain::claim::Claim {
        agent_id: ag.id,
        until: minutes(30),
    };
    store
        .try_claim(t.id, ag.id, claim.until, minutes(2))
        .unwrap();
    let reply = store
        .append_message(new_message(t.id, &ag, "done", minutes(3)), &|_| {
            Ok(agent_replied(claim))
        })
        .unwrap();
    assert!(reply.status_changed && !reply.reopened);
    store
        .set_status(t.id, ThreadStatus::Resolved, minutes(4))
        .unwrap();
    let again = store
        .append_message(new_message(t.id, &ann, "again", minutes(5)), &|th| {
            Ok(client_wrote(th, minutes(5), 10, 10))
        })
        .unwrap();
    assert!(again.status_changed && again.reopened);
    assert_eq!(again.thread.status, ThreadStatus::Open);
    assert_eq!(again.thread.agent_id, Some(ag.id), "the last agent is kept");
    let more = wait_in_queue(&store, t.id, &ann, minutes(6), 10);
    assert!(!more.reopened);
}
