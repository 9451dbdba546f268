//! Live events: what happened, for whoever watches a thread, the agents' queue or a user.
//!
//! An [`Event`] serialises to the JSON frame sockets receive (see `docs/PROTOCOL.md`), and is what
//! the event bus carries between server instances.

use serde::{Deserialize, Serialize};

use crate::label::Label;
use crate::message::Message;
use crate::routing::{Availability, RoutingMode};
use crate::thread::ThreadStatus;
use crate::{ThreadId, Timestamp, UserId};

/// Something that happened, for live views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A message was stored in a thread.
    #[serde(rename = "message.created")]
    MessageCreated {
        /// The thread.
        thread_id: ThreadId,
        /// The message's sequence number in the thread.
        seq: i64,
        /// The stored message.
        message: Message,
    },
    /// A private note was stored in a thread: for staff only, never a client's socket.
    #[serde(rename = "note.created")]
    NoteCreated {
        /// The thread.
        thread_id: ThreadId,
        /// The note's sequence number in the thread (shared with its messages).
        seq: i64,
        /// The stored note (`kind` is `note`).
        message: Message,
    },
    /// Someone is typing in a thread.
    #[serde(rename = "typing")]
    Typing {
        /// The thread.
        thread_id: ThreadId,
        /// Who types.
        user_id: UserId,
    },
    /// Someone read the other side's messages up to a sequence number.
    #[serde(rename = "read")]
    Read {
        /// The thread.
        thread_id: ThreadId,
        /// Who read.
        reader_id: UserId,
        /// Everything up to and including this sequence number is read.
        up_to_seq: i64,
    },
    /// An agent claimed a thread.
    #[serde(rename = "claimed")]
    Claimed {
        /// The thread.
        thread_id: ThreadId,
        /// The new holder.
        agent_id: UserId,
        /// When the lease ends unless renewed.
        until: Timestamp,
    },
    /// The holder let a thread go.
    #[serde(rename = "released")]
    Released {
        /// The thread.
        thread_id: ThreadId,
        /// The former holder.
        agent_id: UserId,
    },
    /// A lease ran out; the thread is free.
    #[serde(rename = "expired")]
    Expired {
        /// The thread.
        thread_id: ThreadId,
        /// The former holder.
        agent_id: UserId,
    },
    /// An admin took a claim over from another agent.
    #[serde(rename = "taken_over")]
    TakenOver {
        /// The thread.
        thread_id: ThreadId,
        /// The former holder, if the thread was held.
        from: Option<UserId>,
        /// The new holder.
        to: UserId,
        /// When the new lease ends.
        until: Timestamp,
    },
    /// A thread's status changed (open, pending, resolved).
    #[serde(rename = "thread.status")]
    StatusChanged {
        /// The thread.
        thread_id: ThreadId,
        /// The new status.
        status: ThreadStatus,
    },
    /// A client wrote into a resolved thread, which is open again: told to the agent who held
    /// it last (on that agent's user topic) and to the queue.
    #[serde(rename = "thread.reopened")]
    Reopened {
        /// The thread.
        thread_id: ThreadId,
        /// The agent who held it last, if any.
        agent_id: Option<UserId>,
        /// Its client.
        client_id: UserId,
    },
    /// A staff member's availability changed (by them, or by presence).
    #[serde(rename = "availability")]
    Availability {
        /// The agent (or admin).
        agent_id: UserId,
        /// Their username.
        username: String,
        /// Their availability now.
        availability: Availability,
    },
    /// The router gave a conversation to an agent (a claim; a `claimed` event goes too).
    #[serde(rename = "assigned")]
    Assigned {
        /// The thread.
        thread_id: ThreadId,
        /// The agent who holds it now.
        agent_id: UserId,
        /// Their username.
        agent_username: String,
        /// When the lease ends unless renewed.
        until: Timestamp,
    },
    /// A conversation was handed to another agent, or back to the queue. For staff only (the
    /// note is private): published to the queue and both agents, never to the thread.
    #[serde(rename = "transferred")]
    Transferred {
        /// The thread.
        thread_id: ThreadId,
        /// Who held it.
        from: Option<UserId>,
        /// Their username.
        from_username: Option<String>,
        /// Who holds it now; `None`: back to the queue.
        to: Option<UserId>,
        /// Their username.
        to_username: Option<String>,
        /// The receiver's lease end.
        until: Option<Timestamp>,
        /// Who transferred it.
        by: UserId,
        /// The note for the receiver, if any.
        note: Option<String>,
    },
    /// An admin switched the routing mode.
    #[serde(rename = "routing")]
    RoutingChanged {
        /// The mode now.
        mode: RoutingMode,
    },
    /// A thread's labels changed: for staff only (the thread's staff and the queue).
    #[serde(rename = "thread.labels")]
    LabelsChanged {
        /// The thread.
        thread_id: ThreadId,
        /// Every label it carries now, by name.
        labels: Vec<Label>,
    },
    /// A client rated a resolved thread: for staff only (the thread's staff, the queue, and
    /// the agent who held it last, on its user topic).
    #[serde(rename = "thread.rated")]
    Rated {
        /// The thread.
        thread_id: ThreadId,
        /// The agent who held it last, if any.
        agent_id: Option<UserId>,
        /// 1 to 5.
        score: i32,
        /// The client's comment, if any.
        comment: Option<String>,
    },
    /// An SLA clock of a thread passed its target unanswered (staff only: the queue, and the
    /// thread's last agent).
    #[serde(rename = "sla.breached")]
    SlaBreached {
        /// The thread.
        thread_id: ThreadId,
        /// `first_response`, `next_response` or `resolution`.
        kind: crate::sla::SlaKind,
        /// When it was due.
        due_at: Timestamp,
        /// The thread's last agent, if any.
        agent_id: Option<UserId>,
    },
    /// Sessions ended: one (a log-out: its token's hash) or every session of a user (no hash:
    /// the user was deleted). Only server instances hear it ([`Topic::Sessions`]), to forget
    /// what their session caches hold ([`crate::session_cache`]); it is never a socket frame.
    #[serde(rename = "sessions.ended")]
    SessionsEnded {
        /// Whose sessions.
        user_id: UserId,
        /// The ended session's token hash (SHA-256, never the token); none: all of them.
        token_hash: Option<String>,
    },
    /// A password check failed and counted against these log-in throttle keys (their
    /// fingerprints, [`crate::throttle::ThrottleKey::fingerprint`]: never a username or an
    /// address). Only server instances hear it ([`Topic::Sessions`]): a remembered password
    /// used under those keys goes through the throttle's check again
    /// ([`crate::credentials`]). Never a socket frame.
    #[serde(rename = "password.failed")]
    PasswordFailed {
        /// The fingerprints of the throttle keys the failure counted against.
        throttle_keys: Vec<String>,
    },
}

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Everyone in one thread's conversation, its client included.
    Thread(ThreadId),
    /// The staff in one thread's conversation (never its client): notes.
    StaffInThread(ThreadId),
    /// Every agent watching the queue.
    Queue,
    /// One user, wherever they are connected.
    User(UserId),
    /// The server instances themselves (ended sessions, failed passwords); no socket subscribes
    /// to it.
    Sessions,
}

impl Topic {
    /// A stable text name, e.g. `thread:7`, `staff-thread:7`, `queue`, `user:3` (used as a bus
    /// channel suffix).
    pub fn key(&self) -> String {
        match self {
            Topic::Thread(id) => format!("thread:{id}"),
            Topic::StaffInThread(id) => format!("staff-thread:{id}"),
            Topic::Queue => "queue".to_owned(),
            Topic::User(id) => format!("user:{id}"),
            Topic::Sessions => "sessions".to_owned(),
        }
    }
}

impl Event {
    /// The thread the event is about, if it is about one.
    pub fn thread_id(&self) -> Option<ThreadId> {
        Some(match self {
            Event::MessageCreated { thread_id, .. }
            | Event::NoteCreated { thread_id, .. }
            | Event::Reopened { thread_id, .. }
            | Event::LabelsChanged { thread_id, .. }
            | Event::Rated { thread_id, .. }
            | Event::Typing { thread_id, .. }
            | Event::Read { thread_id, .. }
            | Event::Claimed { thread_id, .. }
            | Event::Released { thread_id, .. }
            | Event::Expired { thread_id, .. }
            | Event::TakenOver { thread_id, .. }
            | Event::StatusChanged { thread_id, .. }
            | Event::Assigned { thread_id, .. }
            | Event::Transferred { thread_id, .. }
            | Event::SlaBreached { thread_id, .. } => *thread_id,
            Event::Availability { .. }
            | Event::RoutingChanged { .. }
            | Event::SessionsEnded { .. }
            | Event::PasswordFailed { .. } => return None,
        })
    }

    /// The topics the event is published on. A note goes to the thread's staff and the queue,
    /// never on the thread's own topic (its client listens there).
    pub fn topics(&self) -> Vec<Topic> {
        if let Event::SessionsEnded { .. } | Event::PasswordFailed { .. } = self {
            return vec![Topic::Sessions];
        }
        let Some(thread_id) = self.thread_id() else {
            return vec![Topic::Queue];
        };
        let thread = Topic::Thread(thread_id);
        match self {
            Event::NoteCreated { thread_id, .. } | Event::LabelsChanged { thread_id, .. } => {
                vec![Topic::StaffInThread(*thread_id), Topic::Queue]
            }
            Event::Rated {
                thread_id,
                agent_id,
                ..
            } => {
                let mut topics = vec![Topic::StaffInThread(*thread_id), Topic::Queue];
                topics.extend(agent_id.map(Topic::User));
                topics
            }
            Event::Reopened {
                agent_id: Some(agent),
                ..
            } => vec![Topic::Queue, Topic::User(*agent)],
            Event::Reopened { agent_id: None, .. } => vec![Topic::Queue],
            Event::SlaBreached {
                agent_id: Some(agent),
                ..
            } => vec![Topic::Queue, Topic::User(*agent)],
            Event::SlaBreached { agent_id: None, .. } => vec![Topic::Queue],
            Event::Typing { .. } | Event::Read { .. } => vec![thread],
            Event::Assigned { agent_id, .. } => vec![thread, Topic::Queue, Topic::User(*agent_id)],
            Event::Transferred { from, to, .. } => {
                let mut topics = vec![Topic::Queue];
                topics.extend(from.iter().chain(to.iter()).map(|u| Topic::User(*u)));
                topics.dedup();
                topics
            }
            Event::TakenOver {
                from: Some(from), ..
            } => {
                vec![thread, Topic::Queue, Topic::User(*from)]
            }
            _ => vec![thread, Topic::Queue],
        }
    }
}

impl Event {
    /// Whether a client may receive this event: everything but the staff-only ones (a note,
    /// a reopening told to the last agent, a change of labels, a rating).
    pub fn is_for_clients(&self) -> bool {
        !matches!(
            self,
            Event::NoteCreated { .. }
                | Event::Reopened { .. }
                | Event::LabelsChanged { .. }
                | Event::Rated { .. }
                | Event::SlaBreached { .. }
                | Event::SessionsEnded { .. }
                | Event::PasswordFailed { .. }
        )
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An event on one of the subscribed topics.
    Event(std::sync::Arc<Event>),
    /// Events may have been lost (a slow reader, a broker restart): resynchronise from the store.
    Gap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_typed_frames() {
        let e = Event::Claimed {
            thread_id: ThreadId(4),
            agent_id: UserId(2),
            until: Timestamp(0),
        };
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["type"], "claimed");
        assert_eq!(json["thread_id"], 4);
        let back: Event = serde_json::from_value(json).unwrap_or(Event::Typing {
            thread_id: ThreadId(0),
            user_id: UserId(0),
        });
        assert_eq!(back, e);
    }
}
