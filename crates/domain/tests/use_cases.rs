//! The use cases, driven through `Chat`'s public API on the in-memory adapters with a manual
//! clock: accounts, threads and messages, claims, the queue, live events and agent tools.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::{EventBus, EventStream};
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::user::{Role, User};
use chat_domain::{Chat, ChatConfig, DomainError, ThreadId, Timestamp, UserId};
use chat_memory::{BcryptHasher, InProcessBus, ManualClock, MemoryStore};
use futures_util::{FutureExt, StreamExt};

const PASSWORD: &str = "correct horse battery";
const START: Timestamp = Timestamp(1_764_064_800_000);
const MINUTE: i64 = 60_000;

struct Desk {
    chat: Chat,
    clock: Arc<ManualClock>,
    bus: InProcessBus,
    admin: User,
}

fn desk() -> Desk {
    let clock = Arc::new(ManualClock::new(START));
    let bus = InProcessBus::default();
    let chat = Chat::new(
        Arc::new(MemoryStore::new()),
        Arc::new(bus.clone()),
        clock.clone(),
        Arc::new(BcryptHasher::new(4).unwrap()),
        ChatConfig::default(),
    )
    .unwrap();
    let admin = chat.create_admin("root", PASSWORD).unwrap();
    Desk {
        chat,
        clock,
        bus,
        admin,
    }
}

impl Desk {
    fn client(&self, name: &str) -> User {
        self.chat
            .sign_up(None, name, PASSWORD, Role::Client)
            .unwrap()
    }

    fn agent(&self, name: &str) -> User {
        self.chat
            .sign_up(Some(&self.admin), name, PASSWORD, Role::Agent)
            .unwrap()
    }

    fn write(&self, client: &User, thread_type: ThreadType, body: &str) -> Thread {
        self.chat
            .send_as_client(client, thread_type, body, None)
            .unwrap()
            .thread
    }

    fn advance_minutes(&self, minutes: i64) {
        self.clock.advance_millis(minutes * MINUTE);
    }

    fn lease_ms(&self) -> i64 {
        self.chat.config().claims.lease_ms
    }

    fn queue_ids(&self, actor: &User) -> Vec<ThreadId> {
        self.chat
            .queue(actor, 50, 0)
            .unwrap()
            .into_iter()
            .map(|e| e.thread.id)
            .collect()
    }

    fn subscribe(&self, topics: &[Topic]) -> EventStream {
        self.bus.subscribe(topics).unwrap()
    }
}

/// Everything already delivered to a subscription (the in-process bus delivers synchronously).
fn delivered(stream: &mut EventStream) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(Some(delivery)) = stream.next().now_or_never() {
        match delivery {
            Delivery::Event(event) => events.push((*event).clone()),
            Delivery::Gap => panic!("unexpected gap"),
        }
    }
    events
}

fn assert_claimed_by<T: std::fmt::Debug>(
    result: Result<T, DomainError>,
    holder: &User,
    until: Timestamp,
) {
    match result {
        Err(DomainError::Claimed {
            holder: h,
            until: u,
            ..
        }) => {
            assert_eq!(h, holder.id);
            assert_eq!(u, until);
        }
        other => panic!("expected Claimed by {}, got {other:?}", holder.id),
    }
}

// ----- accounts -----

#[test]
fn anyone_may_sign_up_as_a_client() {
    let d = desk();
    let ann = d.chat.sign_up(None, "ann", PASSWORD, Role::Client).unwrap();
    assert_eq!(ann.role, Role::Client);
    assert_eq!(ann.username.as_str(), "ann");
    assert_eq!(ann.created_at, START);
    assert!(!ann.is_deleted());
}

#[test]
fn agents_and_admins_are_created_only_by_an_admin() {
    let d = desk();
    let ann = d.client("ann");
    let agent = d.agent("agent");
    assert_eq!(agent.role, Role::Agent);
    assert_eq!(
        d.chat
            .sign_up(None, "a2", PASSWORD, Role::Agent)
            .unwrap_err(),
        DomainError::Unauthenticated
    );
    assert!(matches!(
        d.chat.sign_up(Some(&ann), "a3", PASSWORD, Role::Agent),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.sign_up(Some(&agent), "boss", PASSWORD, Role::Admin),
        Err(DomainError::Forbidden(_))
    ));
    let admin2 = d
        .chat
        .sign_up(Some(&d.admin), "boss", PASSWORD, Role::Admin)
        .unwrap();
    assert_eq!(admin2.role, Role::Admin);
    assert!(d.chat.has_admin().unwrap());
}

#[test]
fn usernames_are_unique_and_inputs_are_validated() {
    let d = desk();
    let ann = d.client("ann");
    assert!(matches!(
        d.chat.sign_up(None, "ann", PASSWORD, Role::Client),
        Err(DomainError::Conflict(_))
    ));
    d.chat.delete_user(&ann, ann.id).unwrap();
    assert!(
        matches!(
            d.chat.sign_up(None, "ann", PASSWORD, Role::Client),
            Err(DomainError::Conflict(_))
        ),
        "a deleted user's name stays taken"
    );
    assert!(matches!(
        d.chat.sign_up(None, "a b", PASSWORD, Role::Client),
        Err(DomainError::Invalid {
            field: "username",
            ..
        })
    ));
    assert!(matches!(
        d.chat.sign_up(None, "bob", "short", Role::Client),
        Err(DomainError::Invalid {
            field: "password",
            ..
        })
    ));
}

#[test]
fn log_in_gives_a_token_that_works_until_log_out() {
    let d = desk();
    let ann = d.client("ann");
    let session = d.chat.log_in("ann", PASSWORD).unwrap();
    assert_eq!(session.user.id, ann.id);
    assert_eq!(
        session.expires_at,
        START.plus_millis(d.chat.config().session_ttl_ms)
    );
    let token = session.token.expose().to_owned();
    assert_eq!(d.chat.authenticate_token(&token).unwrap().id, ann.id);
    let other = d.chat.log_in("ann", PASSWORD).unwrap();
    d.chat.log_out(&ann, &token).unwrap();
    assert_eq!(
        d.chat.authenticate_token(&token).unwrap_err(),
        DomainError::Unauthenticated
    );
    assert_eq!(
        d.chat.authenticate_token(other.token.expose()).unwrap().id,
        ann.id,
        "logging out ends only that session"
    );
}

#[test]
fn a_token_stops_working_when_its_session_expires() {
    let d = desk();
    d.client("ann");
    let session = d.chat.log_in("ann", PASSWORD).unwrap();
    d.clock.advance_millis(d.chat.config().session_ttl_ms - 1);
    assert!(d.chat.authenticate_token(session.token.expose()).is_ok());
    d.clock.advance_millis(1);
    assert_eq!(
        d.chat
            .authenticate_token(session.token.expose())
            .unwrap_err(),
        DomainError::Unauthenticated
    );
}

#[test]
fn wrong_password_and_unknown_user_are_both_unauthenticated() {
    let d = desk();
    d.client("ann");
    assert_eq!(
        d.chat.log_in("ann", "wrong password!").unwrap_err(),
        DomainError::Unauthenticated
    );
    assert_eq!(
        d.chat.log_in("nobody", PASSWORD).unwrap_err(),
        DomainError::Unauthenticated
    );
    assert_eq!(
        d.chat.authenticate_token("not-a-token").unwrap_err(),
        DomainError::Unauthenticated
    );
}

#[test]
fn users_delete_themselves_and_admins_delete_anyone() {
    let d = desk();
    let ann = d.client("ann");
    let bob = d.client("bob");
    let agent = d.agent("agent");
    assert!(matches!(
        d.chat.delete_user(&bob, ann.id),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.delete_user(&agent, ann.id),
        Err(DomainError::Forbidden(_))
    ));

    let token = d.chat.log_in("ann", PASSWORD).unwrap().token;
    d.chat.delete_user(&ann, ann.id).unwrap();
    assert_eq!(
        d.chat.authenticate_token(token.expose()).unwrap_err(),
        DomainError::Unauthenticated,
        "deletion ends the user's sessions"
    );
    assert_eq!(
        d.chat.log_in("ann", PASSWORD).unwrap_err(),
        DomainError::Unauthenticated
    );
    let kept = d.chat.store().user_by_id(ann.id).unwrap().unwrap();
    assert!(kept.is_deleted(), "a deleted user's data is kept");
    assert_eq!(
        d.chat.user(&d.admin, ann.id).unwrap_err(),
        DomainError::NotFound("user"),
        "but it is gone from the API, as deleting it again says"
    );

    d.chat.delete_user(&d.admin, bob.id).unwrap();
    assert_eq!(
        d.chat.delete_user(&d.admin, bob.id).unwrap_err(),
        DomainError::NotFound("user")
    );
}

// ----- threads and messages -----

#[test]
fn a_client_sees_only_its_own_threads_and_messages() {
    let d = desk();
    let ann = d.client("ann");
    let bob = d.client("bob");
    let agent = d.agent("agent");
    let t = d.write(&ann, ThreadType::Loan, "when is my loan approved?");

    assert!(matches!(
        d.chat.viewable_thread(&bob, t.id),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.messages(&bob, t.id, 0, 100),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.threads_of_client(&bob, ann.id),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.send_in_thread(&bob, t.id, "let me in", None),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.mark_read(&bob, t.id, 1),
        Err(DomainError::Forbidden(_))
    ));
    assert!(d.chat.threads_of_client(&bob, bob.id).unwrap().is_empty());

    assert_eq!(d.chat.messages(&ann, t.id, 0, 100).unwrap().len(), 1);
    assert_eq!(d.chat.threads_of_client(&ann, ann.id).unwrap().len(), 1);
    assert_eq!(d.chat.messages(&agent, t.id, 0, 100).unwrap().len(), 1);
    assert_eq!(d.chat.threads_of_client(&agent, ann.id).unwrap().len(), 1);
}

#[test]
fn a_client_writes_into_one_thread_per_type_and_retries_are_idempotent() {
    let d = desk();
    let ann = d.client("ann");
    let first = d
        .chat
        .send_as_client(&ann, ThreadType::Payment, "payment failed", Some("c-1"))
        .unwrap();
    assert!(first.created);
    assert_eq!(first.message.seq, 1);
    let retry = d
        .chat
        .send_as_client(&ann, ThreadType::Payment, "payment failed", Some("c-1"))
        .unwrap();
    assert!(!retry.created);
    assert_eq!(retry.message.id, first.message.id);
    let second = d
        .chat
        .send_as_client(&ann, ThreadType::Payment, "still failing", None)
        .unwrap();
    assert_eq!(second.thread.id, first.thread.id);
    assert_eq!(second.message.seq, 2);
    let in_thread = d
        .chat
        .send_in_thread(&ann, first.thread.id, "payment failed", Some("c-1"))
        .unwrap();
    assert!(
        !in_thread.created,
        "a retry through the thread is the same message"
    );
    assert_eq!(in_thread.message.id, first.message.id);
    let loan = d
        .chat
        .send_as_client(&ann, ThreadType::Loan, "loan", None)
        .unwrap();
    assert!(matches!(
        d.chat
            .send_in_thread(&ann, loan.thread.id, "payment failed", Some("c-1")),
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        d.chat
            .send_as_client(&ann, ThreadType::Payment, "   ", None),
        Err(DomainError::Invalid { .. })
    ));

    d.chat
        .set_status(&ann, first.thread.id, ThreadStatus::Resolved)
        .unwrap();
    let fresh = d.write(&ann, ThreadType::Payment, "another problem");
    assert_ne!(fresh.id, first.thread.id, "a resolved thread is not reused");
    // the old thread cannot come back while the new one is open: one per client and type
    assert!(matches!(
        d.chat
            .send_in_thread(&ann, first.thread.id, "about the old one", None),
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        d.chat
            .set_status(&d.admin, first.thread.id, ThreadStatus::Open),
        Err(DomainError::Conflict(_))
    ));
}

// ----- claims -----

#[test]
fn an_agent_must_claim_before_replying() {
    let d = desk();
    let ann = d.client("ann");
    let agent = d.agent("agent");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    assert!(matches!(
        d.chat.send_in_thread(&agent, t.id, "hi", None),
        Err(DomainError::Conflict(_))
    ));
    let claim = d.chat.claim(&agent, t.id).unwrap();
    assert_eq!(claim.agent_id, agent.id);
    assert_eq!(claim.until, START.plus_millis(d.lease_ms()));
    let reply = d.chat.send_in_thread(&agent, t.id, "hi ann", None).unwrap();
    assert_eq!(reply.message.seq, 2);
    assert_eq!(reply.thread.status, ThreadStatus::Pending);
    assert_eq!(reply.thread.waiting_since, None);
    let messages = d.chat.messages(&ann, t.id, 0, 100).unwrap();
    assert!(
        messages[0].is_read,
        "the reply marks the client's message read"
    );
}

#[test]
fn a_non_holder_gets_claimed_with_the_holder_and_until() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    let claim = d.chat.claim(&a, t.id).unwrap();
    assert_claimed_by(d.chat.claim(&b, t.id), &a, claim.until);
    assert_claimed_by(
        d.chat.send_in_thread(&b, t.id, "me too", None),
        &a,
        claim.until,
    );
    assert_claimed_by(d.chat.renew_claim(&b, t.id), &a, claim.until);
    assert_claimed_by(d.chat.release_claim(&b, t.id), &a, claim.until);
    assert_claimed_by(
        d.chat.set_status(&b, t.id, ThreadStatus::Resolved),
        &a,
        claim.until,
    );
    assert!(matches!(
        d.chat.joinable_thread(&b, t.id),
        Err(DomainError::Forbidden(_))
    ));
    assert!(d.chat.joinable_thread(&a, t.id).is_ok());
    assert!(matches!(
        d.chat.claim(&ann, t.id),
        Err(DomainError::Forbidden(_))
    ));
}

#[test]
fn an_expired_lease_frees_the_thread_and_renewal_keeps_it() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    let lease = d.lease_ms();

    d.chat.claim(&a, t.id).unwrap();
    d.clock.advance_millis(lease - MINUTE);
    let renewed = d.chat.renew_claim(&a, t.id).unwrap();
    assert_eq!(renewed.until, d.chat.now().plus_millis(lease));
    d.clock.advance_millis(lease - MINUTE);
    assert_claimed_by(d.chat.claim(&b, t.id), &a, renewed.until);
    assert_eq!(d.chat.expire_claims().unwrap(), 0);

    d.clock.advance_millis(MINUTE);
    assert_eq!(d.chat.expire_claims().unwrap(), 1);
    assert!(matches!(
        d.chat.send_in_thread(&a, t.id, "still here", None),
        Err(DomainError::Conflict(_))
    ));
    assert!(matches!(
        d.chat.renew_claim(&a, t.id),
        Err(DomainError::Conflict(_))
    ));
    let taken = d.chat.claim(&b, t.id).unwrap();
    assert_eq!(taken.agent_id, b.id);
}

#[test]
fn a_lease_that_ran_out_is_free_even_before_the_sweep() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    d.chat.claim(&a, t.id).unwrap();
    d.clock.advance_millis(d.lease_ms());
    assert_eq!(d.chat.claim(&b, t.id).unwrap().agent_id, b.id);
}

#[test]
fn a_reply_renews_the_lease() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    let lease = d.lease_ms();
    d.chat.claim(&a, t.id).unwrap();
    d.clock.advance_millis(lease - MINUTE);
    let reply = d.chat.send_in_thread(&a, t.id, "looking", None).unwrap();
    let until = d.chat.now().plus_millis(lease);
    assert_eq!(reply.thread.claim.map(|c| c.until), Some(until));
    d.clock.advance_millis(lease - MINUTE);
    assert_claimed_by(d.chat.claim(&b, t.id), &a, until);
}

#[test]
fn an_admin_takes_a_claim_over_and_the_former_holder_is_told() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    d.chat.claim(&a, t.id).unwrap();
    let mut told = d.subscribe(&[Topic::User(a.id)]);
    assert!(matches!(
        d.chat.take_over(&a, t.id),
        Err(DomainError::Forbidden(_))
    ));
    let claim = d.chat.take_over(&d.admin, t.id).unwrap();
    assert_eq!(claim.agent_id, d.admin.id);
    assert_eq!(
        delivered(&mut told),
        vec![Event::TakenOver {
            thread_id: t.id,
            from: Some(a.id),
            to: d.admin.id,
            until: claim.until,
        }]
    );
    assert_claimed_by(
        d.chat.send_in_thread(&a, t.id, "mine!", None),
        &d.admin,
        claim.until,
    );
    d.chat
        .send_in_thread(&d.admin, t.id, "I'll take it from here", None)
        .unwrap();
}

#[test]
fn the_holder_releases_and_resolving_ends_the_claim() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let t = d.write(&ann, ThreadType::Loan, "hello?");
    d.chat.claim(&a, t.id).unwrap();
    d.chat.release_claim(&a, t.id).unwrap();
    d.chat.claim(&b, t.id).unwrap();
    let resolved = d.chat.set_status(&b, t.id, ThreadStatus::Resolved).unwrap();
    assert_eq!(resolved.status, ThreadStatus::Resolved);
    assert_eq!(resolved.claim, None);
    assert!(matches!(
        d.chat.claim(&a, t.id),
        Err(DomainError::Conflict(_))
    ));
}

// ----- the queue -----

#[test]
fn a_loan_disbursement_outranks_an_earlier_address_change() {
    let d = desk();
    let agent = d.agent("agent");
    let early = d.client("early");
    let late = d.client("late");
    let address = d.write(&early, ThreadType::Other, "please update my address");
    d.advance_minutes(5);
    let loan = d.write(&late, ThreadType::Loan, "When is my loan disbursement?");
    assert_eq!(d.queue_ids(&agent), vec![loan.id, address.id]);
    let entries = d.chat.queue(&agent, 50, 0).unwrap();
    assert!(entries[0].urgency.score > entries[1].urgency.score);
    assert!(entries[0]
        .urgency
        .reasons
        .iter()
        .any(|r| r == "status question"));
    assert_eq!(entries[0].client_username, "late");
    assert_eq!(
        entries[0].first_waiting.as_ref().map(|m| m.body.as_str()),
        Some("When is my loan disbursement?")
    );
}

#[test]
fn a_message_that_waited_long_enough_outranks_a_fresh_urgent_one() {
    let d = desk();
    let agent = d.agent("agent");
    let patient = d.client("patient");
    let hurried = d.client("hurried");
    let old = d.write(&patient, ThreadType::Other, "question about my statement");
    d.advance_minutes(3 * 60);
    let urgent = d.write(
        &hurried,
        ThreadType::Loan,
        "urgent: loan disbursement blocked",
    );
    assert_eq!(d.queue_ids(&agent), vec![old.id, urgent.id]);
    let entries = d.chat.queue(&agent, 50, 0).unwrap();
    assert!(entries[0].urgency.score > entries[1].urgency.score);
    assert!(entries[0]
        .urgency
        .reasons
        .iter()
        .any(|r| r.starts_with("waiting 180 min")));
}

#[test]
fn claimed_threads_leave_the_queue_and_come_back_when_freed() {
    let d = desk();
    let a = d.agent("agent-a");
    let b = d.agent("agent-b");
    let ann = d.client("ann");
    let bob = d.client("bob");
    let anns = d.write(&ann, ThreadType::Loan, "loan approval?");
    let bobs = d.write(&bob, ThreadType::Other, "hi");
    assert_eq!(d.queue_ids(&b), vec![anns.id, bobs.id]);
    d.chat.claim(&a, anns.id).unwrap();
    assert_eq!(d.queue_ids(&b), vec![bobs.id]);
    d.chat.release_claim(&a, anns.id).unwrap();
    assert_eq!(d.queue_ids(&b), vec![anns.id, bobs.id]);

    d.chat.claim(&a, anns.id).unwrap();
    d.clock.advance_millis(d.lease_ms());
    assert_eq!(
        d.queue_ids(&b),
        vec![anns.id, bobs.id],
        "an expired lease puts it back"
    );

    d.chat.claim(&a, anns.id).unwrap();
    d.chat
        .send_in_thread(&a, anns.id, "approved!", None)
        .unwrap();
    d.chat.release_claim(&a, anns.id).unwrap();
    assert_eq!(
        d.queue_ids(&b),
        vec![bobs.id],
        "an answered thread waits on nobody"
    );
    assert!(matches!(
        d.chat.queue(&ann, 50, 0),
        Err(DomainError::Forbidden(_))
    ));
}

// ----- live events -----

#[test]
fn sends_claims_releases_and_expiries_are_published() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(&ann, ThreadType::Loan, "first");
    let mut thread_events = d.subscribe(&[Topic::Thread(t.id)]);
    let mut queue_events = d.subscribe(&[Topic::Queue]);

    let sent = d
        .chat
        .send_as_client(&ann, ThreadType::Loan, "second", None)
        .unwrap();
    let created = Event::MessageCreated {
        thread_id: t.id,
        seq: 2,
        message: sent.message.clone(),
    };
    assert_eq!(delivered(&mut thread_events), vec![created.clone()]);
    assert_eq!(delivered(&mut queue_events), vec![created]);

    let claim = d.chat.claim(&a, t.id).unwrap();
    let claimed = Event::Claimed {
        thread_id: t.id,
        agent_id: a.id,
        until: claim.until,
    };
    assert_eq!(delivered(&mut queue_events), vec![claimed.clone()]);
    assert_eq!(delivered(&mut thread_events), vec![claimed]);

    d.chat.release_claim(&a, t.id).unwrap();
    let released = Event::Released {
        thread_id: t.id,
        agent_id: a.id,
    };
    assert_eq!(delivered(&mut queue_events), vec![released.clone()]);
    assert_eq!(delivered(&mut thread_events), vec![released]);

    d.chat.claim(&a, t.id).unwrap();
    delivered(&mut queue_events);
    delivered(&mut thread_events);
    d.clock.advance_millis(d.lease_ms());
    assert_eq!(d.chat.expire_claims().unwrap(), 1);
    let expired = Event::Expired {
        thread_id: t.id,
        agent_id: a.id,
    };
    assert_eq!(delivered(&mut queue_events), vec![expired.clone()]);
    assert_eq!(delivered(&mut thread_events), vec![expired]);
    assert_eq!(d.chat.expire_claims().unwrap(), 0);
    assert!(
        delivered(&mut queue_events).is_empty(),
        "an expiry is told once"
    );
}

#[test]
fn a_reply_publishes_the_message_and_the_status_change() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(&ann, ThreadType::Loan, "first");
    d.chat.claim(&a, t.id).unwrap();
    let mut thread_events = d.subscribe(&[Topic::Thread(t.id)]);
    let reply = d.chat.send_in_thread(&a, t.id, "answer", None).unwrap();
    assert_eq!(
        delivered(&mut thread_events),
        vec![
            Event::MessageCreated {
                thread_id: t.id,
                seq: 2,
                message: reply.message.clone(),
            },
            Event::StatusChanged {
                thread_id: t.id,
                status: ThreadStatus::Pending,
            },
        ]
    );
    let retried = d
        .chat
        .send_as_client(&ann, ThreadType::Loan, "thanks", Some("x1"))
        .unwrap();
    delivered(&mut thread_events);
    d.chat
        .send_as_client(&ann, ThreadType::Loan, "thanks", Some("x1"))
        .unwrap();
    assert!(
        delivered(&mut thread_events).is_empty(),
        "a retried send publishes nothing new (first was seq {})",
        retried.message.seq
    );
}

// ----- agent tools -----

#[test]
fn search_never_returns_another_clients_messages_to_a_client() {
    let d = desk();
    let ann = d.client("ann");
    let bob = d.client("bob");
    let agent = d.agent("agent");
    d.write(
        &ann,
        ThreadType::Payment,
        "I want a refund for the double charge",
    );
    d.write(&bob, ThreadType::Payment, "refund please, charged twice");
    d.write(&bob, ThreadType::Other, "my refund never came");

    let anns = d.chat.search(&ann, "refund", 20).unwrap();
    assert_eq!(anns.len(), 1);
    assert!(anns.iter().all(|h| h.client_username == "ann"));
    let bobs = d.chat.search(&bob, "refund", 20).unwrap();
    assert_eq!(bobs.len(), 2);
    assert!(bobs.iter().all(|h| h.client_username == "bob"));
    let staff = d.chat.search(&agent, "refund", 20).unwrap();
    assert_eq!(staff.len(), 3);
    let both_terms = d.chat.search(&agent, "refund charged", 20).unwrap();
    assert_eq!(both_terms.len(), 1);
    assert!(matches!(
        d.chat.search(&ann, "  ?! ", 20),
        Err(DomainError::Invalid { .. })
    ));
}

#[test]
fn staff_find_clients_by_part_of_their_username_and_clients_may_not() {
    let d = desk();
    let joanne = d.client("joanne");
    let anna = d.client("Anna");
    let agent = d.agent("annie-agent");
    let found: Vec<UserId> = d
        .chat
        .search_clients(&agent, " ANN ", 20)
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(found, vec![anna.id, joanne.id], "prefix first, staff never");
    assert_eq!(d.chat.search_clients(&d.admin, "jo", 20).unwrap().len(), 1);
    assert!(matches!(
        d.chat.search_clients(&joanne, "ann", 20),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.search_clients(&agent, "   ", 20),
        Err(DomainError::Invalid { field: "q", .. })
    ));
}

#[test]
fn the_queue_shows_each_clients_first_message_since_it_started_waiting() {
    let d = desk();
    let agent = d.agent("agent");
    let ann = d.client("ann");
    let bob = d.client("bob");
    let anns = d.write(&ann, ThreadType::Loan, "first question");
    d.chat.claim(&agent, anns.id).unwrap();
    d.chat
        .send_in_thread(&agent, anns.id, "answered", None)
        .unwrap();
    d.chat.release_claim(&agent, anns.id).unwrap();
    d.advance_minutes(1);
    d.write(&ann, ThreadType::Loan, "a new question");
    d.write(&ann, ThreadType::Loan, "and a follow-up");
    d.write(&bob, ThreadType::Other, "hello");
    let entries = d.chat.queue(&agent, 50, 0).unwrap();
    let preview: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| {
            (
                e.client_username.as_str(),
                e.first_waiting.as_ref().map(|m| m.body.as_str()),
            )
        })
        .collect();
    assert_eq!(preview.len(), 2);
    assert!(
        preview.contains(&("ann", Some("a new question"))),
        "{preview:?}"
    );
    assert!(preview.contains(&("bob", Some("hello"))), "{preview:?}");
}

#[test]
fn canned_replies_are_managed_by_admins_and_rendered_for_a_thread() {
    let d = desk();
    let ann = d.client("ann");
    let agent = d.agent("agent");
    let t = d.write(&ann, ThreadType::Loan, "hello");
    assert!(matches!(
        d.chat.add_canned_reply(&agent, "Hi", "Hello {client_name}"),
        Err(DomainError::Forbidden(_))
    ));
    let reply = d
        .chat
        .add_canned_reply(
            &d.admin,
            "Greeting",
            "Hello {client_name}, {agent_name} here. {unknown}",
        )
        .unwrap();
    assert_eq!(d.chat.canned_replies(&agent).unwrap(), vec![reply.clone()]);
    assert!(matches!(
        d.chat.canned_replies(&ann),
        Err(DomainError::Forbidden(_))
    ));
    assert_eq!(
        d.chat.render_canned_reply(&agent, reply.id, t.id).unwrap(),
        "Hello ann, agent here. {unknown}"
    );
    assert!(matches!(
        d.chat.render_canned_reply(&ann, reply.id, t.id),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.delete_canned_reply(&agent, reply.id),
        Err(DomainError::Forbidden(_))
    ));
    d.chat.delete_canned_reply(&d.admin, reply.id).unwrap();
    assert_eq!(
        d.chat.delete_canned_reply(&d.admin, reply.id).unwrap_err(),
        DomainError::NotFound("canned reply")
    );
}

#[test]
fn staff_see_a_clients_context() {
    let d = desk();
    let ann = d.client("ann");
    let agent = d.agent("agent");
    d.write(&ann, ThreadType::Loan, "one");
    d.advance_minutes(1);
    d.write(&ann, ThreadType::Other, "two");
    d.write(&ann, ThreadType::Other, "three");
    let context = d.chat.client_context(&agent, ann.id).unwrap();
    assert_eq!(context.username, "ann");
    assert_eq!(context.joined_at, START);
    assert_eq!(context.messages_sent, 3);
    assert_eq!(context.threads.len(), 2);
    assert_eq!(context.threads[0].thread_type, ThreadType::Other);
    assert!(matches!(
        d.chat.client_context(&ann, ann.id),
        Err(DomainError::Forbidden(_))
    ));
}

#[test]
fn a_note_reaches_the_threads_staff_and_the_queue_never_its_client() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(&ann, ThreadType::Loan, "my card was stolen");
    let mut clients_topic = d.subscribe(&[Topic::Thread(t.id), Topic::User(ann.id)]);
    let mut staff = d.subscribe(&[Topic::StaffInThread(t.id)]);
    let mut queue = d.subscribe(&[Topic::Queue]);
    assert!(matches!(
        d.chat.add_note(&ann, t.id, "let me in"),
        Err(DomainError::Forbidden(_))
    ));
    let note = d
        .chat
        .add_note(&a, t.id, "blocked the card by phone")
        .unwrap();
    assert_eq!(note.kind, chat_domain::message::MessageKind::Note);
    assert_eq!(note.seq, 2);
    let expected = Event::NoteCreated {
        thread_id: t.id,
        seq: 2,
        message: note.clone(),
    };
    assert_eq!(delivered(&mut staff), vec![expected.clone()]);
    assert_eq!(delivered(&mut queue), vec![expected]);
    assert!(delivered(&mut clients_topic).is_empty());
    // Not a reply: still waiting in the queue, and the client's message list has no note.
    assert_eq!(d.queue_ids(&a), vec![t.id]);
    let seen = d.chat.messages(&ann, t.id, 0, 100).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(d.chat.messages(&a, t.id, 0, 100).unwrap().len(), 2);
}

#[test]
fn a_client_writing_into_a_resolved_thread_reopens_it_and_the_last_agent_is_told() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(
        &ann,
        ThreadType::Payment,
        "someone took money from my account",
    );
    let reasons = d.chat.viewable_thread(&a, t.id).unwrap().urgency.reasons;
    d.chat.claim(&a, t.id).unwrap();
    d.chat.set_status(&a, t.id, ThreadStatus::Resolved).unwrap();
    let mut told = d.subscribe(&[Topic::User(a.id)]);
    let mut clients_topic = d.subscribe(&[Topic::User(ann.id)]);
    d.advance_minutes(5);
    let sent = d.chat.send_in_thread(&ann, t.id, "hello?", None).unwrap();
    assert!(sent.reopened);
    assert_eq!(sent.thread.status, ThreadStatus::Open);
    for reason in &reasons {
        assert!(sent.thread.urgency.reasons.contains(reason), "{reason}");
    }
    assert_eq!(
        delivered(&mut told),
        vec![Event::Reopened {
            thread_id: t.id,
            agent_id: Some(a.id),
            client_id: ann.id,
        }]
    );
    assert!(delivered(&mut clients_topic).is_empty());
}

#[test]
fn only_staff_list_conversations() {
    let d = desk();
    let ann = d.client("ann");
    let a = d.agent("agent-a");
    let t = d.write(&ann, ThreadType::Loan, "hi");
    d.chat.claim(&a, t.id).unwrap();
    let mine = chat_domain::inbox::ThreadFilter {
        assignee: chat_domain::inbox::Assignee::Agent(a.id),
        ..Default::default()
    };
    assert!(matches!(
        d.chat.inbox(&ann, &mine, None, 10),
        Err(DomainError::Forbidden(_))
    ));
    let page = d.chat.inbox(&a, &mine, None, 10).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].client_username, "ann");
    assert_eq!(page.entries[0].holder_username.as_deref(), Some("agent-a"));
    assert_eq!(page.entries[0].unread, 1);
    assert!(page.entries[0].labels.is_empty());
    assert_eq!(page.total, 1);
    assert!(page.next.is_none());
}

#[test]
fn routing_assigns_in_auto_mode_only_and_tells_the_agent() {
    use chat_domain::routing::{Availability, RoutingMode};
    let d = desk();
    let ann = d.agent("ann");
    let carl = d.client("carl");
    let t = d.write(&carl, ThreadType::Loan, "my loan payment failed");
    d.chat.set_availability(&ann, Availability::Online).unwrap();
    let mut to_ann = d.bus.subscribe(&[Topic::User(ann.id)]).unwrap();
    assert_eq!(d.chat.route().unwrap(), 0, "manual mode assigns nothing");
    assert!(d.chat.set_routing_mode(&ann, RoutingMode::Auto).is_err());
    d.chat
        .set_routing_mode(&d.admin, RoutingMode::Auto)
        .unwrap();
    assert_eq!(d.chat.route().unwrap(), 1);
    let holder = d.chat.store().thread_by_id(t.id).unwrap().unwrap().claim;
    assert_eq!(holder.map(|c| c.agent_id), Some(ann.id));
    let events = delivered(&mut to_ann);
    assert!(events.iter().any(|e| matches!(e,
        Event::Assigned { thread_id, agent_id, agent_username, .. }
            if *thread_id == t.id && *agent_id == ann.id && agent_username == "ann")));
    // Only the holder replies, as with a claim.
    let bo = d.agent("bo");
    assert!(d.chat.send_in_thread(&bo, t.id, "me?", None).is_err());
    assert!(d.chat.send_in_thread(&ann, t.id, "on it", None).is_ok());
}

#[test]
fn presence_marks_absent_staff_offline_and_frees_their_conversations_in_auto_mode() {
    use chat_domain::routing::{Availability, RoutingMode};
    use std::collections::HashSet;
    let d = desk();
    let ann = d.agent("ann");
    let bo = d.agent("bo");
    let carl = d.client("carl");
    d.chat
        .set_routing_mode(&d.admin, RoutingMode::Auto)
        .unwrap();
    d.chat.set_availability(&ann, Availability::Online).unwrap();
    let t = d.write(&carl, ThreadType::Loan, "where is my money");
    assert_eq!(d.chat.route().unwrap(), 1);
    let present: HashSet<UserId> = HashSet::from([ann.id]);
    assert_eq!(d.chat.sweep_absent(&present).unwrap(), (0, 0));
    // Ann's sockets are gone: offline once offline_after passed, freed after reassign_after.
    let policy = d.chat.config().routing;
    d.clock.advance_millis(policy.offline_after_ms);
    assert_eq!(d.chat.sweep_absent(&HashSet::new()).unwrap(), (1, 0));
    d.chat.set_availability(&bo, Availability::Online).unwrap();
    d.clock.advance_millis(policy.reassign_after_ms);
    // Bo just came online without a socket yet: not marked offline at once.
    assert_eq!(
        d.chat.sweep_absent(&HashSet::from([bo.id])).unwrap(),
        (0, 1)
    );
    assert_eq!(d.chat.route().unwrap(), 1);
    let holder = d.chat.store().thread_by_id(t.id).unwrap().unwrap().claim;
    assert_eq!(holder.map(|c| c.agent_id), Some(bo.id));
}

#[test]
fn a_transfer_note_is_for_staff_only_and_validated() {
    let d = desk();
    let ann = d.agent("ann");
    let carl = d.client("carl");
    let t = d.write(&carl, ThreadType::Other, "hello");
    d.chat.claim(&ann, t.id).unwrap();
    let mut thread_topic = d.bus.subscribe(&[Topic::Thread(t.id)]).unwrap();
    assert!(matches!(
        d.chat
            .transfer(&ann, t.id, None, Some("bad\u{1b}[31m"), false),
        Err(DomainError::Invalid { field: "note", .. })
    ));
    assert!(matches!(
        d.chat.transfer(&ann, t.id, None, None, true),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        d.chat.transfer(&carl, t.id, None, None, false),
        Err(DomainError::Forbidden(_))
    ));
    d.chat
        .transfer(&ann, t.id, None, Some("client is upset"), false)
        .unwrap();
    let seen = delivered(&mut thread_topic);
    assert!(seen.iter().any(|e| matches!(e, Event::Released { .. })));
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Transferred { .. })),
        "notes never reach the thread"
    );
}
