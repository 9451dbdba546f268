//! What the store's concurrency tests share: a user, a client's message and its patch, and OS
//! threads released together.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::{Arc, Barrier};

use chat_domain::message::{ClientMessageId, MessageBody, MessageKind, NewMessage};
use chat_domain::ports::UserStore;
use chat_domain::thread::{Thread, ThreadPatch, ThreadStatus};
use chat_domain::user::{NewUser, PasswordHash, Role, User, Username};
use chat_domain::{DomainResult, Timestamp};
use chat_sql::SqlStore;

/// The instant every test writes at.
pub const NOW: Timestamp = Timestamp(1_764_064_800_000);

/// Runs `work(i)` on `n` OS threads released together; returns their results in order.
pub fn all_at_once<T: Send + 'static>(
    n: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let work = Arc::clone(&work);
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// A stored user with a placeholder hash.
pub fn user(store: &SqlStore, name: &str, role: Role) -> User {
    store
        .insert_user(NewUser {
            username: Username::parse(name).unwrap(),
            password_hash: PasswordHash("$2b$04$not-a-real-hash".to_owned()),
            role,
            created_at: NOW,
        })
        .unwrap()
}

/// The patch a client's message makes (as the domain's `Chat` does).
pub fn client_patch(thread: &Thread) -> DomainResult<ThreadPatch> {
    Ok(ThreadPatch {
        status: ThreadStatus::Open,
        claim: thread.claim,
        agent_id: thread.agent_id,
        waiting_since: thread.waiting_since.or(Some(NOW)),
        urgency: thread.urgency.clone(),
        rank_key: Some(0),
        mark_client_messages_read: false,
    })
}

/// The thread's client writes `body` (with an idempotency id, if given).
pub fn client_message(thread: &Thread, body: &str, cmid: Option<&str>) -> NewMessage {
    NewMessage {
        kind: MessageKind::Message,
        thread_id: thread.id,
        sender_id: thread.client_id,
        sender_role: Role::Client,
        body: MessageBody::parse(body).unwrap(),
        created_at: NOW,
        client_message_id: cmid.map(|c| ClientMessageId::parse(c).unwrap()),
        attachments: Vec::new(),
        system: false,
        verified_hash: None,
    }
}
