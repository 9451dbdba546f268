//! Auto-resolve, driven through `Chat` on the in-memory adapters with a manual clock: a pending
//! thread idle long enough is resolved once, with a message the client sees; a reply reopens it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_domain::message::Message;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::user::{Role, User};
use chat_domain::{Chat, ChatConfig, ThreadId, Timestamp};
use chat_memory::{BcryptHasher, InProcessBus, ManualClock, MemoryStore};

const PASSWORD: &str = "correct horse battery";
const MINUTE: i64 = 60_000;

fn chat_on(store: Arc<MemoryStore>, clock: Arc<ManualClock>, after_minutes: Option<i64>) -> Chat {
    Chat::new(
        store,
        Arc::new(InProcessBus::default()),
        clock,
        Arc::new(BcryptHasher::new(4).unwrap()),
        ChatConfig {
            auto_resolve_after_ms: after_minutes.map(|m| m * MINUTE),
            ..ChatConfig::default()
        },
    )
    .unwrap()
}

struct Desk {
    chat: Chat,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    agent: User,
}

fn desk(after_minutes: Option<i64>) -> Desk {
    let clock = Arc::new(ManualClock::new(Timestamp(1_764_064_800_000)));
    let store = Arc::new(MemoryStore::new());
    let chat = chat_on(store.clone(), clock.clone(), after_minutes);
    let admin = chat.create_admin("root", PASSWORD).unwrap();
    let agent = chat
        .sign_up(Some(&admin), "bo", PASSWORD, Role::Agent)
        .unwrap();
    Desk {
        chat,
        clock,
        store,
        agent,
    }
}

impl Desk {
    /// A client's thread the agent answered: pending.
    fn answered(&self, client: &str) -> (User, ThreadId) {
        let client = self
            .chat
            .sign_up(None, client, PASSWORD, Role::Client)
            .unwrap();
        let thread = self
            .chat
            .send_as_client(&client, ThreadType::Loan, "where is my loan?", None)
            .unwrap()
            .thread
            .id;
        self.chat.claim(&self.agent, thread).unwrap();
        self.chat
            .send_in_thread(&self.agent, thread, "on its way", None)
            .unwrap();
        (client, thread)
    }

    fn status(&self, thread: ThreadId) -> ThreadStatus {
        self.chat
            .viewable_thread(&self.agent, thread)
            .unwrap()
            .status
    }

    fn seen_by(&self, who: &User, thread: ThreadId) -> Vec<Message> {
        self.chat.messages(who, thread, 0, 100).unwrap()
    }
}

#[test]
fn a_pending_thread_idle_long_enough_is_resolved_once_with_a_message_the_client_sees() {
    let d = desk(Some(30));
    let (ann, thread) = d.answered("ann");
    assert_eq!(d.status(thread), ThreadStatus::Pending);
    d.clock.advance_millis(29 * MINUTE);
    assert_eq!(d.chat.auto_resolve_idle().unwrap(), 0);
    assert_eq!(d.status(thread), ThreadStatus::Pending);
    d.clock.advance_millis(MINUTE);
    assert_eq!(d.chat.auto_resolve_idle().unwrap(), 1);
    assert_eq!(d.status(thread), ThreadStatus::Resolved);
    let seen = d.seen_by(&ann, thread);
    let last = seen.last().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(last.sender_id, d.agent.id);
    assert!(
        last.body
            .contains("resolved automatically after 30 minutes"),
        "{}",
        last.body
    );
    // Once: nothing more to do.
    d.clock.advance_millis(60 * MINUTE);
    assert_eq!(d.chat.auto_resolve_idle().unwrap(), 0);
    assert_eq!(d.seen_by(&ann, thread).len(), 3);
    // The client's reply reopens it, as any reply to a resolved thread does.
    d.chat
        .send_in_thread(&ann, thread, "not arrived yet", None)
        .unwrap();
    assert_eq!(d.status(thread), ThreadStatus::Open);
}

#[test]
fn activity_restarts_the_idle_time_and_open_threads_are_left_alone() {
    let d = desk(Some(30));
    let (_, pending) = d.answered("ann");
    let cy = d.chat.sign_up(None, "cy", PASSWORD, Role::Client).unwrap();
    let open = d
        .chat
        .send_as_client(&cy, ThreadType::Payment, "hello?", None)
        .unwrap()
        .thread
        .id;
    d.clock.advance_millis(20 * MINUTE);
    d.chat.add_note(&d.agent, pending, "will call her").unwrap();
    d.clock.advance_millis(20 * MINUTE);
    assert_eq!(
        d.chat.auto_resolve_idle().unwrap(),
        0,
        "the note was 20 minutes ago"
    );
    d.clock.advance_millis(10 * MINUTE);
    assert_eq!(d.chat.auto_resolve_idle().unwrap(), 1);
    assert_eq!(d.status(pending), ThreadStatus::Resolved);
    assert_eq!(
        d.status(open),
        ThreadStatus::Open,
        "open threads wait on the desk"
    );
}

#[test]
fn off_when_not_configured() {
    let d = desk(None);
    let (_, thread) = d.answered("ann");
    d.clock.advance_millis(10_000 * MINUTE);
    assert_eq!(d.chat.auto_resolve_idle().unwrap(), 0);
    assert_eq!(d.status(thread), ThreadStatus::Pending);
}

#[test]
fn instances_sweeping_at_once_resolve_each_thread_exactly_once() {
    let d = desk(Some(5));
    let threads: Vec<ThreadId> = (0..20).map(|i| d.answered(&format!("c{i}")).1).collect();
    d.clock.advance_millis(5 * MINUTE);
    let instances: Vec<Chat> = (0..4)
        .map(|_| chat_on(d.store.clone(), d.clock.clone(), Some(5)))
        .collect();
    let resolved: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = instances
            .iter()
            .map(|chat| scope.spawn(move || chat.auto_resolve_idle().unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(resolved, threads.len());
    for thread in threads {
        assert_eq!(d.status(thread), ThreadStatus::Resolved);
        let automatic = d
            .seen_by(&d.agent, thread)
            .iter()
            .filter(|m| m.body.contains("resolved automatically"))
            .count();
        assert_eq!(automatic, 1, "thread {thread}");
    }
}
