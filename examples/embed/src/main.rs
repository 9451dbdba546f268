//! Another service embedding the support chat: `Chat` built on the in-memory adapters of
//! `chat-memory`, with no database, web server, Redis or async runtime. It plays one
//! conversation from start to end, prints what happened, and checks each step, so that
//! `make example` fails (exit status 1) if the embedding breaks.
// A command-line demo: printing is what it is for.
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::EventStream;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::user::Role;
use chat_domain::{Chat, ChatConfig, SystemClock};
use chat_memory::{BcryptHasher, InProcessBus, MemoryStore};
use futures_util::{FutureExt, StreamExt};

type Outcome<T = ()> = Result<T, Box<dyn std::error::Error>>;

const PASSWORD: &str = "a long enough password";

fn main() -> Outcome {
    // The ports, all in this process. bcrypt cost 4 keeps the demo quick; a real service would
    // use BcryptHasher::DEFAULT_COST.
    let bus = InProcessBus::default();
    let chat = Chat::new(
        Arc::new(MemoryStore::new()),
        Arc::new(bus.clone()),
        Arc::new(SystemClock),
        Arc::new(BcryptHasher::new(4)?),
        ChatConfig::default(),
    )?;
    println!(
        "chat on the {} store and the {} bus",
        chat.store().backend_name(),
        chat.bus().backend_name()
    );
    // Everything staff watch goes to the queue topic; this service listens in.
    let mut queue_events = chat.bus().subscribe(&[Topic::Queue])?;

    let admin = chat.create_admin("admin", PASSWORD)?;
    let client = chat.sign_up(None, "ana", PASSWORD, Role::Client)?;
    let agent = chat.sign_up(Some(&admin), "bruno", PASSWORD, Role::Agent)?;
    println!(
        "signed up client {} (#{}) and agent {} (#{})",
        client.username.as_str(),
        client.id,
        agent.username.as_str(),
        agent.id
    );
    let session = chat.log_in("ana", PASSWORD)?;
    check(
        chat.authenticate_token(session.token.expose())?.id == client.id,
        "the client's session token names the client",
    )?;
    println!("client logged in; the session token authenticates her");

    let opened = chat.send_as_client(
        &client,
        ThreadType::Loan,
        "My loan disbursement has not arrived, it is urgent",
        Some("ana-1"),
    )?;
    let thread = opened.thread;
    println!(
        "client opened thread #{} ({}): status {}, urgency {} ({})",
        thread.id,
        thread.thread_type.as_str(),
        thread.status.as_str(),
        thread.urgency.score,
        thread.urgency.reasons.join(", ")
    );
    check(thread.status == ThreadStatus::Open, "a new thread is open")?;

    let queue = chat.queue(&agent, 10, 0)?;
    check(
        queue.first().map(|e| e.thread.id) == Some(thread.id),
        "the thread waits first in the agents' queue",
    )?;
    println!(
        "agent's queue: {} thread(s), first #{} from {} (score now {})",
        queue.len(),
        thread.id,
        queue[0].client_username,
        queue[0].urgency.score
    );

    let claim = chat.claim(&agent, thread.id)?;
    println!(
        "agent claimed #{} until {}",
        thread.id,
        claim.until.to_rfc3339()
    );
    check(
        chat.queue(&agent, 10, 0)?.is_empty(),
        "a claimed thread leaves the queue",
    )?;

    let reply = chat.send_in_thread(
        &agent,
        thread.id,
        "Checking with the loans team now.",
        Some("bruno-1"),
    )?;
    println!(
        "agent replied (message {} of the thread): status {}",
        reply.message.seq,
        reply.thread.status.as_str()
    );
    check(
        reply.thread.status == ThreadStatus::Pending && reply.thread.waiting_since.is_none(),
        "an answered thread is pending and nobody waits",
    )?;
    let retry = chat.send_in_thread(
        &agent,
        thread.id,
        "Checking with the loans team now.",
        Some("bruno-1"),
    )?;
    check(
        !retry.created && retry.message.id == reply.message.id,
        "a retried send stores nothing new",
    )?;

    let resolved = chat.set_status(&client, thread.id, ThreadStatus::Resolved)?;
    println!(
        "client resolved #{}: status {}, claim {}",
        thread.id,
        resolved.status.as_str(),
        if resolved.claim.is_some() {
            "kept"
        } else {
            "ended"
        }
    );
    check(
        resolved.status == ThreadStatus::Resolved && resolved.claim.is_none(),
        "resolving ends the claim",
    )?;

    let messages = chat.messages(&client, thread.id, 0, 100)?;
    println!("the conversation, as the client reads it:");
    for m in &messages {
        println!("  {}. [{}] {}", m.seq, m.sender_role.as_str(), m.body);
    }
    check(messages.len() == 2, "two messages were stored")?;

    let events = drain(&mut queue_events)?;
    println!("live events the service saw on the queue topic:");
    for event in &events {
        println!("  {}", describe(event));
    }
    let statuses: Vec<ThreadStatus> = events
        .iter()
        .filter_map(|e| match e {
            Event::StatusChanged { status, .. } => Some(*status),
            _ => None,
        })
        .collect();
    check(
        statuses == [ThreadStatus::Pending, ThreadStatus::Resolved],
        "the status changes were published: pending, then resolved",
    )?;
    println!("ok: one conversation, start to end");
    Ok(())
}

/// Fails with `what` unless `holds`.
fn check(holds: bool, what: &str) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

/// The events delivered so far (the in-process bus delivers at once; nothing to wait for).
fn drain(stream: &mut EventStream) -> Outcome<Vec<Event>> {
    let mut events = Vec::new();
    while let Some(Some(delivery)) = stream.next().now_or_never() {
        match delivery {
            Delivery::Event(event) => events.push((*event).clone()),
            Delivery::Gap => return Err("the subscription lost events".into()),
        }
    }
    Ok(events)
}

fn describe(event: &Event) -> String {
    match event {
        Event::MessageCreated { thread_id, seq, .. } => {
            format!("message.created in #{thread_id} (seq {seq})")
        }
        Event::Claimed {
            thread_id,
            agent_id,
            ..
        } => format!("claimed #{thread_id} by #{agent_id}"),
        Event::Released {
            thread_id,
            agent_id,
        } => format!("released #{thread_id} by #{agent_id}"),
        Event::StatusChanged { thread_id, status } => {
            format!("thread.status #{thread_id} -> {}", status.as_str())
        }
        other => format!("{other:?}"),
    }
}
