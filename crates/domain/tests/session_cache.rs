//! The session cache, driven through `Chat`'s public API: two instances (two `Chat`s) over one
//! in-memory store and one bus, as two servers over Postgres and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_domain::event::Topic;
use chat_domain::ports::{EventBus, EventStream, Store};
use chat_domain::session_cache::SessionCachePolicy;
use chat_domain::user::{Role, User};
use chat_domain::{Chat, ChatConfig, DomainError, Timestamp};
use chat_memory::{BcryptHasher, InProcessBus, ManualClock, MemoryStore};
use futures_util::{FutureExt, StreamExt};

const PASSWORD: &str = "correct horse battery";
const START: Timestamp = Timestamp(1_764_064_800_000);
const TTL_MS: i64 = 30_000;

struct Instances {
    a: Chat,
    b: Chat,
    /// What instance `b` hears on the sessions topic.
    b_hears: EventStream,
    clock: Arc<ManualClock>,
    admin: User,
}

fn instances() -> Instances {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let bus = InProcessBus::default();
    let clock = Arc::new(ManualClock::new(START));
    let config = ChatConfig {
        session_cache: Some(SessionCachePolicy {
            ttl_ms: TTL_MS,
            max_entries: 100,
        }),
        ..ChatConfig::default()
    };
    let chat = || {
        Chat::new(
            store.clone(),
            Arc::new(bus.clone()),
            clock.clone(),
            Arc::new(BcryptHasher::new(4).unwrap()),
            config.clone(),
        )
        .unwrap()
    };
    let (a, b) = (chat(), chat());
    let b_hears = bus.subscribe(&[Topic::Sessions]).unwrap();
    let admin = a.create_admin("root", PASSWORD).unwrap();
    Instances {
        a,
        b,
        b_hears,
        clock,
        admin,
    }
}

impl Instances {
    /// Instance `b` handles what it heard (the server's session watcher does this).
    fn b_listens(&mut self) {
        while let Some(Some(delivery)) = self.b_hears.next().now_or_never() {
            self.b.on_sessions_delivery(&delivery);
        }
    }

    fn token_of(&self, name: &str) -> String {
        let session = self.a.log_in(name, PASSWORD).unwrap();
        session.token.expose().to_owned()
    }

    /// `ann` with a token that instance `b` has read (and cached).
    fn ann_read_by_b(&self) -> (User, String) {
        let (ann, token) = self.ann_with_a_token();
        assert_eq!(self.b.authenticate_token(&token).unwrap().id, ann.id);
        (ann, token)
    }

    /// Signs up the client `ann` and logs her in once.
    fn ann_with_a_token(&self) -> (User, String) {
        let ann = self.a.sign_up(None, "ann", PASSWORD, Role::Client).unwrap();
        (ann, self.token_of("ann"))
    }
}

fn refused(chat: &Chat, token: &str) {
    assert_eq!(
        chat.authenticate_token(token).unwrap_err(),
        DomainError::Unauthenticated
    );
}

#[test]
fn a_token_read_once_is_answered_from_the_cache() {
    let i = instances();
    let (ann, token) = i.ann_with_a_token();
    assert_eq!(i.b.authenticate_token_cached(&token), None, "not read yet");
    assert_eq!(i.b.authenticate_token(&token).unwrap().id, ann.id);
    assert_eq!(
        i.b.authenticate_token_cached(&token).map(|u| u.id),
        Some(ann.id)
    );
    assert_eq!(i.b.authenticate_token_cached("not-a-token"), None);
    assert_eq!(
        i.b.authenticate_token("not-a-token").unwrap_err(),
        DomainError::Unauthenticated,
        "an unknown token is refused, and not remembered"
    );
}

#[test]
fn a_log_out_is_refused_at_once_on_its_instance_and_on_the_other_once_heard() {
    let mut i = instances();
    let (ann, token) = i.ann_with_a_token();
    let other = i.token_of("ann");
    for chat in [&i.a, &i.b] {
        assert_eq!(chat.authenticate_token(&token).unwrap().id, ann.id);
        assert_eq!(chat.authenticate_token(&other).unwrap().id, ann.id);
    }
    i.a.log_out(&ann, &token).unwrap();
    refused(&i.a, &token);
    i.b_listens();
    refused(&i.b, &token);
    for chat in [&i.a, &i.b] {
        assert_eq!(
            chat.authenticate_token(&other).unwrap().id,
            ann.id,
            "logging out ends only that session"
        );
    }
}

#[test]
fn a_deleted_user_is_refused_everywhere_once_heard() {
    let mut i = instances();
    let (ann, token) = i.ann_read_by_b();
    i.a.delete_user(&i.admin, ann.id).unwrap();
    refused(&i.a, &token);
    i.b_listens();
    refused(&i.b, &token);
}

#[test]
fn an_end_that_was_not_heard_holds_at_most_the_time_to_live() {
    let i = instances();
    let (ann, token) = i.ann_read_by_b();
    i.a.log_out(&ann, &token).unwrap();
    // `b` has not heard (the bus is at most once): its entry lasts until the time to live.
    i.clock.advance_millis(TTL_MS - 1);
    assert_eq!(i.b.authenticate_token(&token).unwrap().id, ann.id);
    i.clock.advance_millis(1);
    refused(&i.b, &token);
}

#[test]
fn a_gap_on_the_sessions_topic_forgets_everything() {
    let i = instances();
    let (_, token) = i.ann_read_by_b();
    assert!(i.b.authenticate_token_cached(&token).is_some());
    i.b.on_sessions_delivery(&chat_domain::event::Delivery::Gap);
    assert_eq!(i.b.authenticate_token_cached(&token), None);
}

#[test]
fn a_session_expiring_within_the_time_to_live_ends_on_time() {
    let i = instances();
    let config = i.a.config().session_ttl_ms;
    let (ann, token) = i.ann_with_a_token();
    // Read a moment before the session's own end: the cache must not outlive it.
    i.clock.advance_millis(config - 1_000);
    assert_eq!(i.b.authenticate_token(&token).unwrap().id, ann.id);
    i.clock.advance_millis(1_000);
    refused(&i.b, &token);
}
