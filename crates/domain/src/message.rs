//! Messages: what clients and agents write into a thread.

use serde::{Deserialize, Serialize};

use crate::attachment::{Attachment, AttachmentId};
use crate::user::{PasswordHash, Role};
use crate::{DomainError, DomainResult, MessageId, ThreadId, Timestamp, UserId};

/// A message body: not blank, at most 4,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    /// Longest accepted body, in characters.
    pub const MAX_CHARS: usize = 4000;

    /// Validates a body. Surrounding whitespace is kept; a body of only whitespace, or one with
    /// a control character ([`crate::text`]), is refused.
    pub fn parse(text: &str) -> DomainResult<Self> {
        crate::text::check("message_body", text)?;
        if text.trim().is_empty() {
            return Err(DomainError::invalid("message_body", "must not be empty"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "message_body",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(MessageBody(text.to_owned()))
    }

    /// The body text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-chosen id that makes retried sends idempotent: 1 to 64 characters of letters,
/// digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    /// Validates a client message id.
    pub fn parse(text: &str) -> DomainResult<Self> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(ClientMessageId(text.to_owned()))
        } else {
            Err(DomainError::invalid(
                "client_message_id",
                "must be 1 to 64 characters of letters, digits, - and _",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a thread entry is: a message between the client and the desk, or a private note that
/// only staff ever see (REST lists, sockets, search and the seed's endpoints leave notes out for
/// clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A message the client and the desk both see.
    #[default]
    Message,
    /// A private note by an agent or admin: staff only.
    Note,
}

impl MessageKind {
    /// The stored name: `message` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Message => "message",
            MessageKind::Note => "note",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> DomainResult<Self> {
        match text {
            "message" => Ok(MessageKind::Message),
            "note" => Ok(MessageKind::Note),
            _ => Err(DomainError::invalid(
                "kind",
                format!("unknown message kind {text:?}; expected message or note"),
            )),
        }
    }
}

/// Who reads a thread, and so which entries they get: clients get messages only, staff get
/// messages and notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The thread's client: messages only, never a note.
    Client,
    /// Agents and admins: messages and notes.
    Staff,
}

impl Audience {
    /// The audience of a user with this role.
    pub fn of(role: Role) -> Self {
        if role.is_staff() {
            Audience::Staff
        } else {
            Audience::Client
        }
    }

    /// Whether this audience may see an entry of this kind.
    pub fn sees(self, kind: MessageKind) -> bool {
        self == Audience::Staff || kind == MessageKind::Message
    }
}

/// A stored message (or, with [`MessageKind::Note`], a private note).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its identifier.
    pub id: MessageId,
    /// The thread it belongs to.
    pub thread_id: ThreadId,
    /// Its place in the thread: 1, 2, 3, ... with no gaps.
    pub seq: i64,
    /// Who wrote it.
    pub sender_id: UserId,
    /// The writer's role when it was written.
    pub sender_role: Role,
    /// A message, or a staff-only note.
    #[serde(default)]
    pub kind: MessageKind,
    /// What was written.
    pub body: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// Whether the other side has read it.
    pub is_read: bool,
    /// The sender's idempotency id, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// The files attached to it (filled in by the use cases that answer them; stores read
    /// messages without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Written by the desk itself, not typed by a person (the auto-resolve notice): pages show
    /// it as a notice of the conversation rather than as its sender's words.
    #[serde(default)]
    pub system: bool,
}

/// A message about to be stored; the store assigns its id and sequence number.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The thread it goes into.
    pub thread_id: ThreadId,
    /// Who writes it.
    pub sender_id: UserId,
    /// The writer's role.
    pub sender_role: Role,
    /// A message, or a staff-only note.
    pub kind: MessageKind,
    /// What is written.
    pub body: MessageBody,
    /// When.
    pub created_at: Timestamp,
    /// The sender's idempotency id: unique per sender.
    pub client_message_id: Option<ClientMessageId>,
    /// Attachments to tie to it (uploaded to its thread by its sender, not yet used).
    pub attachments: Vec<AttachmentId>,
    /// Written by the desk itself (see [`Message::system`]).
    pub system: bool,
    /// The stored password hash the sender's password was last verified against, when the
    /// send was authenticated by a remembered password ([`crate::credentials`]) rather than
    /// a check just made: the store then MUST, in the append's own transaction, refuse with
    /// [`crate::DomainError::Unauthenticated`] (storing nothing) if the sender is deleted or
    /// its stored hash is no longer this one.
    pub verified_hash: Option<PasswordHash>,
}

/// What a store answers to an append.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The stored message (the earlier one, if this was a retry).
    pub message: Message,
    /// The thread after the append.
    pub thread: crate::thread::Thread,
    /// False when the client message id had been used before: nothing new was stored.
    pub created: bool,
    /// Whether the append changed the thread's status (false when nothing was stored).
    pub status_changed: bool,
    /// Whether the append reopened a resolved thread (a client wrote into it again).
    pub reopened: bool,
}
