//! Rows as diesel reads and writes them, and their conversions to and from the domain's types.

use chat_domain::auth::NewSession;
use chat_domain::canned::{CannedReply, NewCannedReply};
use chat_domain::claim::Claim;
use chat_domain::label::{Label, NewLabel};
use chat_domain::message::{Message, MessageKind, NewMessage};
use chat_domain::rating::Rating;
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::urgency::Urgency;
use chat_domain::user::{NewUser, PasswordHash, Role, User, Username};
use chat_domain::{CannedReplyId, LabelId, MessageId, RatingId, ThreadId, Timestamp, UserId};
use diesel::prelude::*;

use crate::error::{corrupt, StoreError};
use crate::schema::{canned_replies, labels, messages, ratings, sessions, threads, users};

/// A stored user.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at_ms: i64,
    pub deleted_at_ms: Option<i64>,
}

impl UserRow {
    pub fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(self.id),
            username: Username::parse(&self.username).map_err(|e| corrupt("username", e))?,
            password_hash: PasswordHash(self.password_hash),
            role: Role::parse(&self.role).map_err(|e| corrupt("role", e))?,
            created_at: Timestamp(self.created_at_ms),
            deleted_at: self.deleted_at_ms.map(Timestamp),
        })
    }
}

/// A user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'static str,
    pub created_at_ms: i64,
}

impl<'a> From<&'a NewUser> for NewUserRow<'a> {
    fn from(user: &'a NewUser) -> Self {
        NewUserRow {
            username: user.username.as_str(),
            password_hash: &user.password_hash.0,
            role: user.role.as_str(),
            created_at_ms: user.created_at.millis(),
        }
    }
}

/// A session to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

impl<'a> From<&'a NewSession> for SessionRow<'a> {
    fn from(session: &'a NewSession) -> Self {
        SessionRow {
            token_hash: &session.token_hash,
            user_id: session.user_id.0,
            created_at_ms: session.created_at.millis(),
            expires_at_ms: session.expires_at.millis(),
        }
    }
}

/// A whole thread row: read, and written back whole after a change made in Rust under a lock.
#[derive(Debug, Queryable, Selectable, Identifiable, AsChangeset, Insertable)]
#[diesel(table_name = threads, treat_none_as_null = true)]
pub(crate) struct ThreadRow {
    pub id: i64,
    pub client_id: i64,
    pub thread_type: i16,
    pub status: String,
    pub claim_agent_id: Option<i64>,
    pub claim_until_ms: Option<i64>,
    pub agent_id: Option<i64>,
    pub created_at_ms: i64,
    pub last_activity_at_ms: i64,
    pub last_seq: i64,
    pub waiting_since_ms: Option<i64>,
    pub urgency_score: i64,
    pub urgency_reasons: String,
    pub rank_key: i64,
    pub resolutions: i64,
}

impl ThreadRow {
    /// The row of `thread` with the queue's `rank_key`.
    pub fn new(thread: &Thread, rank_key: i64) -> Result<Self, StoreError> {
        Ok(ThreadRow {
            id: thread.id.0,
            client_id: thread.client_id.0,
            thread_type: thread.thread_type.code(),
            status: thread.status.as_str().to_owned(),
            claim_agent_id: thread.claim.map(|c| c.agent_id.0),
            claim_until_ms: thread.claim.map(|c| c.until.millis()),
            agent_id: thread.agent_id.map(|a| a.0),
            created_at_ms: thread.created_at.millis(),
            last_activity_at_ms: thread.last_activity_at.millis(),
            last_seq: thread.last_seq,
            waiting_since_ms: thread.waiting_since.map(Timestamp::millis),
            urgency_score: thread.urgency.score,
            urgency_reasons: reasons_json(&thread.urgency)?,
            rank_key,
            resolutions: thread.resolutions,
        })
    }

    /// The domain's view of the row (the rank key stays here).
    pub fn to_thread(&self) -> Result<Thread, StoreError> {
        let claim = match (self.claim_agent_id, self.claim_until_ms) {
            (Some(agent), Some(until)) => Some(Claim {
                agent_id: UserId(agent),
                until: Timestamp(until),
            }),
            _ => None,
        };
        Ok(Thread {
            id: ThreadId(self.id),
            client_id: UserId(self.client_id),
            thread_type: ThreadType::from_code(i64::from(self.thread_type))
                .map_err(|e| corrupt("thread type", e))?,
            status: ThreadStatus::parse(&self.status).map_err(|e| corrupt("status", e))?,
            claim,
            agent_id: self.agent_id.map(UserId),
            created_at: Timestamp(self.created_at_ms),
            last_activity_at: Timestamp(self.last_activity_at_ms),
            last_seq: self.last_seq,
            waiting_since: self.waiting_since_ms.map(Timestamp),
            urgency: Urgency {
                score: self.urgency_score,
                reasons: serde_json::from_str(&self.urgency_reasons)
                    .map_err(|e| corrupt("urgency reasons", e))?,
            },
            resolutions: self.resolutions,
        })
    }
}

/// A new thread: open, unclaimed, nobody waiting, last in the queue.
#[derive(Debug, Insertable)]
#[diesel(table_name = threads)]
pub(crate) struct NewThreadRow {
    pub client_id: i64,
    pub thread_type: i16,
    pub status: &'static str,
    pub created_at_ms: i64,
    pub last_activity_at_ms: i64,
    pub last_seq: i64,
    pub urgency_score: i64,
    pub urgency_reasons: &'static str,
    pub rank_key: i64,
}

impl NewThreadRow {
    pub fn new(client: UserId, thread_type: ThreadType, now: Timestamp) -> Self {
        NewThreadRow {
            client_id: client.0,
            thread_type: thread_type.code(),
            status: ThreadStatus::Open.as_str(),
            created_at_ms: now.millis(),
            last_activity_at_ms: now.millis(),
            last_seq: 0,
            urgency_score: 0,
            urgency_reasons: "[]",
            rank_key: i64::MIN,
        }
    }
}

/// The urgency reasons as stored: a JSON list of strings.
pub(crate) fn reasons_json(urgency: &Urgency) -> Result<String, StoreError> {
    serde_json::to_string(&urgency.reasons).map_err(|e| corrupt("urgency reasons", e))
}

/// A stored message.
#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = messages)]
pub(crate) struct MessageRow {
    pub id: i64,
    pub thread_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub sender_role: String,
    pub body: String,
    pub created_at_ms: i64,
    pub is_read: bool,
    pub client_message_id: Option<String>,
    pub kind: String,
    pub is_system: bool,
}

impl MessageRow {
    pub fn into_message(self) -> Result<Message, StoreError> {
        Ok(Message {
            id: MessageId(self.id),
            thread_id: ThreadId(self.thread_id),
            seq: self.seq,
            sender_id: UserId(self.sender_id),
            sender_role: Role::parse(&self.sender_role).map_err(|e| corrupt("role", e))?,
            kind: MessageKind::parse(&self.kind).map_err(|e| corrupt("message kind", e))?,
            body: self.body,
            created_at: Timestamp(self.created_at_ms),
            is_read: self.is_read,
            client_message_id: self.client_message_id,
            attachments: Vec::new(),
            system: self.is_system,
        })
    }
}

/// Converts a list of rows.
pub(crate) fn into_messages(rows: Vec<MessageRow>) -> Result<Vec<Message>, StoreError> {
    rows.into_iter().map(MessageRow::into_message).collect()
}

/// Converts a list of thread rows.
pub(crate) fn into_threads(rows: Vec<ThreadRow>) -> Result<Vec<Thread>, StoreError> {
    rows.iter().map(ThreadRow::to_thread).collect()
}

/// A message to insert, with the sequence number the append took.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct NewMessageRow<'a> {
    pub thread_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub sender_role: &'static str,
    pub body: &'a str,
    pub created_at_ms: i64,
    pub is_read: bool,
    pub client_message_id: Option<&'a str>,
    pub kind: &'static str,
    pub is_system: bool,
}

impl<'a> NewMessageRow<'a> {
    pub fn new(message: &'a NewMessage, seq: i64) -> Self {
        NewMessageRow {
            thread_id: message.thread_id.0,
            seq,
            sender_id: message.sender_id.0,
            sender_role: message.sender_role.as_str(),
            body: message.body.as_str(),
            created_at_ms: message.created_at.millis(),
            is_read: false,
            client_message_id: message.client_message_id.as_ref().map(|c| c.as_str()),
            kind: message.kind.as_str(),
            is_system: message.system,
        }
    }
}

/// A stored canned reply.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = canned_replies)]
pub(crate) struct CannedRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub created_by: i64,
    pub created_at_ms: i64,
}

impl From<CannedRow> for CannedReply {
    fn from(row: CannedRow) -> Self {
        CannedReply {
            id: CannedReplyId(row.id),
            title: row.title,
            body: row.body,
            created_by: UserId(row.created_by),
            created_at: Timestamp(row.created_at_ms),
        }
    }
}

/// A canned reply to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = canned_replies)]
pub(crate) struct NewCannedRow<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub created_by: i64,
    pub created_at_ms: i64,
}

impl<'a> From<&'a NewCannedReply> for NewCannedRow<'a> {
    fn from(reply: &'a NewCannedReply) -> Self {
        NewCannedRow {
            title: &reply.title,
            body: &reply.body,
            created_by: reply.created_by.0,
            created_at_ms: reply.created_at.millis(),
        }
    }
}

/// A stored label.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = labels)]
pub(crate) struct LabelRow {
    pub id: i64,
    pub name: String,
    pub color: String,
}

impl From<LabelRow> for Label {
    fn from(row: LabelRow) -> Self {
        Label {
            id: LabelId(row.id),
            name: row.name,
            color: row.color,
        }
    }
}

/// A label to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = labels)]
pub(crate) struct NewLabelRow<'a> {
    pub name: &'a str,
    pub name_folded: &'a str,
    pub color: &'a str,
}

impl<'a> From<&'a NewLabel> for NewLabelRow<'a> {
    fn from(label: &'a NewLabel) -> Self {
        NewLabelRow {
            name: &label.name,
            name_folded: &label.folded,
            color: &label.color,
        }
    }
}

/// A stored rating.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = ratings)]
pub(crate) struct RatingRow {
    pub id: i64,
    pub thread_id: i64,
    pub client_id: i64,
    pub agent_id: Option<i64>,
    pub score: i32,
    pub comment: Option<String>,
    pub resolution_seq: i64,
    pub created_at_ms: i64,
}

impl From<RatingRow> for Rating {
    fn from(row: RatingRow) -> Self {
        Rating {
            id: RatingId(row.id),
            thread_id: ThreadId(row.thread_id),
            client_id: UserId(row.client_id),
            agent_id: row.agent_id.map(UserId),
            score: row.score,
            comment: row.comment,
            resolution_seq: row.resolution_seq,
            created_at: Timestamp(row.created_at_ms),
        }
    }
}
