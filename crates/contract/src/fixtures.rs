//! Small builders the checks share: users, threads, messages and patches, at fixed instants.

use std::sync::Arc;

use chat_domain::claim::Claim;
use chat_domain::message::{Appended, ClientMessageId, MessageBody, MessageKind, NewMessage};
use chat_domain::ports::Store;
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::user::{NewUser, PasswordHash, Role, User, Username};
use chat_domain::{DomainResult, ThreadId, Timestamp};

/// The instant the checks start at: 2025-11-25T10:00:00.000Z.
pub const T0: Timestamp = Timestamp(1_764_064_800_000);

/// `T0` plus `minutes`.
pub fn minutes(minutes: i64) -> Timestamp {
    T0.plus_millis(minutes * 60_000)
}

/// `T0` plus `ms` milliseconds.
pub fn millis(ms: i64) -> Timestamp {
    T0.plus_millis(ms)
}

/// A syntactically valid bcrypt hash (the checks never verify passwords).
pub fn some_hash() -> PasswordHash {
    PasswordHash("$2b$04$abcdefghijklmnopqrstuu5Jo5cQFp2cNQ3dGVsh8b5nU1jXbSHOi".to_owned())
}

/// A new user, not yet stored.
pub fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: some_hash(),
        role,
        created_at: T0,
    }
}

/// Stores a user.
pub fn user(store: &Arc<dyn Store>, name: &str, role: Role) -> User {
    store.insert_user(new_user(name, role)).unwrap()
}

/// Stores a client.
pub fn client(store: &Arc<dyn Store>, name: &str) -> User {
    user(store, name, Role::Client)
}

/// Stores an agent.
pub fn agent(store: &Arc<dyn Store>, name: &str) -> User {
    user(store, name, Role::Agent)
}

/// Opens (or finds) the client's thread of a type.
pub fn thread(store: &Arc<dyn Store>, client: &User, thread_type: ThreadType) -> Thread {
    store.open_thread(client.id, thread_type, T0).unwrap()
}

/// A message about to be stored.
pub fn new_message(thread: ThreadId, sender: &User, body: &str, at: Timestamp) -> NewMessage {
    NewMessage {
        kind: MessageKind::Message,
        thread_id: thread,
        sender_id: sender.id,
        sender_role: sender.role,
        body: MessageBody::parse(body).unwrap(),
        created_at: at,
        client_message_id: None,
        attachments: Vec::new(),
        system: false,
        verified_hash: None,
    }
}

/// The same message with a client message id.
pub fn with_client_id(mut message: NewMessage, id: &str) -> NewMessage {
    message.client_message_id = Some(ClientMessageId::parse(id).unwrap());
    message
}

/// A patch that leaves the thread as it is (rank key: not waiting).
pub fn keep(thread: &Thread) -> ThreadPatch {
    ThreadPatch {
        status: thread.status,
        claim: thread.claim,
        agent_id: thread.agent_id,
        waiting_since: thread.waiting_since,
        urgency: thread.urgency.clone(),
        rank_key: Some(i64::MIN),
        mark_client_messages_read: false,
    }
}

/// A patch for a client writing at `at` with the given urgency score and rank key: open,
/// waiting since its first unanswered message.
pub fn client_wrote(thread: &Thread, at: Timestamp, score: i64, rank_key: i64) -> ThreadPatch {
    ThreadPatch {
        status: ThreadStatus::Open,
        claim: thread.claim,
        agent_id: thread.agent_id,
        waiting_since: thread.waiting_since.or(Some(at)),
        urgency: Urgency {
            score,
            reasons: vec![format!("score {score}")],
        },
        rank_key: Some(rank_key),
        mark_client_messages_read: false,
    }
}

/// A patch for an agent's reply: pending, claimed by the agent, nobody waiting, client
/// messages read.
pub fn agent_replied(claim: Claim) -> ThreadPatch {
    ThreadPatch {
        status: ThreadStatus::Pending,
        claim: Some(claim),
        agent_id: Some(claim.agent_id),
        waiting_since: None,
        urgency: Urgency::default(),
        rank_key: Some(i64::MIN),
        mark_client_messages_read: true,
    }
}

/// Appends a message that leaves the thread as it is.
pub fn say(store: &Arc<dyn Store>, thread: ThreadId, sender: &User, body: &str) -> Appended {
    say_at(store, thread, sender, body, T0)
}

/// Appends a message at `at` that leaves the thread as it is.
pub fn say_at(
    store: &Arc<dyn Store>,
    thread: ThreadId,
    sender: &User,
    body: &str,
    at: Timestamp,
) -> Appended {
    store
        .append_message(new_message(thread, sender, body, at), &|t| Ok(keep(t)))
        .unwrap()
}

/// Appends a client's message at `at` that puts the thread in the queue with a rank key.
pub fn wait_in_queue(
    store: &Arc<dyn Store>,
    thread: ThreadId,
    client: &User,
    at: Timestamp,
    rank_key: i64,
) -> Appended {
    store
        .append_message(
            new_message(thread, client, "hello, anyone there?", at),
            &|t| Ok(client_wrote(t, at, 10, rank_key)),
        )
        .unwrap()
}

/// Appends a staff note at `at` (the patch leaves the thread as it is, keeping its rank).
pub fn note_at(
    store: &Arc<dyn Store>,
    thread: ThreadId,
    sender: &User,
    body: &str,
    at: Timestamp,
) -> Appended {
    let mut note = new_message(thread, sender, body, at);
    note.kind = MessageKind::Note;
    store
        .append_message(note, &|t| {
            Ok(ThreadPatch {
                rank_key: None,
                ..keep(t)
            })
        })
        .unwrap()
}

/// A patch closure that always fails with `err`.
pub fn failing(err: chat_domain::DomainError) -> impl Fn(&Thread) -> DomainResult<ThreadPatch> {
    move |_| Err(err.clone())
}

/// The thread as stored now.
pub fn reload(store: &Arc<dyn Store>, id: ThreadId) -> Thread {
    store.thread_by_id(id).unwrap().expect("the thread exists")
}
