//! What the API answers: the domain's objects as JSON (never a password hash), with schemas for
//! the OpenAPI document.

use chat_domain::attachment::Attachment;
use chat_domain::canned::CannedReply;
use chat_domain::claim::Claim;
use chat_domain::label::Label;
use chat_domain::message::{Message, MessageKind};
use chat_domain::rating::Rating;
use chat_domain::search::SearchHit;
use chat_domain::service::{ClientContext, InboxEntry, InboxPage, LoggedIn, QueueEntry};
use chat_domain::thread::{Thread, ThreadStatus, ThreadType};
use chat_domain::urgency::{Urgency, UrgencyNow};
use chat_domain::user::{Role, User};
use chat_domain::{CannedReplyId, LabelId, MessageId, RatingId, ThreadId, Timestamp, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T: ToSchema> {
    /// The entries.
    pub items: Vec<T>,
}

impl<T: ToSchema> Items<T> {
    /// Wraps entries.
    pub fn new(items: Vec<T>) -> Self {
        Items { items }
    }
}

/// A user, without its password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: UserId,
    /// Its username.
    pub username: String,
    /// client, agent or admin.
    #[schema(value_type = String, example = "client")]
    pub role: Role,
    /// When it signed up.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            username: u.username.as_str().to_owned(),
            role: u.role,
            created_at: u.created_at,
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The bearer token (shown once).
    pub token: String,
    /// When it stops being accepted.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// Who logged in.
    pub user: UserView,
}

impl From<&LoggedIn> for SessionView {
    fn from(l: &LoggedIn) -> Self {
        SessionView {
            token: l.token.expose().to_owned(),
            expires_at: l.expires_at,
            user: UserView::from(&l.user),
        }
    }
}

/// An agent's hold on a thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    /// The holder.
    #[schema(value_type = i64)]
    pub agent_id: UserId,
    /// When the lease ends unless renewed.
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
}

impl From<&Claim> for ClaimView {
    fn from(c: &Claim) -> Self {
        ClaimView {
            agent_id: c.agent_id,
            until: c.until,
        }
    }
}

/// A claim answer: who holds which thread until when.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadClaimView {
    /// The thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// The holder.
    #[schema(value_type = i64)]
    pub agent_id: UserId,
    /// When the lease ends unless renewed.
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
}

impl ThreadClaimView {
    /// A thread's claim.
    pub fn new(thread_id: ThreadId, claim: &Claim) -> Self {
        ThreadClaimView {
            thread_id,
            agent_id: claim.agent_id,
            until: claim.until,
        }
    }
}

/// How urgent, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct UrgencyView {
    /// Points.
    pub score: i64,
    /// The rules that matched.
    pub reasons: Vec<String>,
}

impl From<&Urgency> for UrgencyView {
    fn from(u: &Urgency) -> Self {
        UrgencyView {
            score: u.score,
            reasons: u.reasons.clone(),
        }
    }
}

impl From<&UrgencyNow> for UrgencyView {
    fn from(u: &UrgencyNow) -> Self {
        UrgencyView {
            score: u.score,
            reasons: u.reasons.clone(),
        }
    }
}

/// A conversation thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: ThreadId,
    /// Its client.
    #[schema(value_type = i64)]
    pub client_id: UserId,
    /// loan, payment or other.
    #[schema(value_type = String, example = "loan")]
    pub thread_type: ThreadType,
    /// open, pending or resolved.
    #[schema(value_type = String, example = "open")]
    pub status: ThreadStatus,
    /// The live claim, if any.
    pub claim: Option<ClaimView>,
    /// The last agent who held it.
    #[schema(value_type = Option<i64>)]
    pub agent_id: Option<UserId>,
    /// When it was opened.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When something last happened.
    #[schema(value_type = String, format = DateTime)]
    pub last_activity_at: Timestamp,
    /// Sequence number of its latest message.
    pub last_seq: i64,
    /// Since when the client has waited for an answer.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub waiting_since: Option<Timestamp>,
    /// Urgency from what the client wrote, a small topic prior and further unanswered messages
    /// (the queue adds waiting time).
    pub urgency: UrgencyView,
    /// The labels it carries, by name: for staff only (`GET /api/v1/threads/{id}`), never in a
    /// client's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<LabelView>>,
    /// Its SLA clocks (staff reading one thread; absent elsewhere; staff lists carry it on
    /// every item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaView>,
}

/// A thread's SLA: seconds of clock time (business hours when configured).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaView {
    /// From the client's first waiting message to the first agent reply.
    pub first_response_seconds: Option<i64>,
    /// The latest response's seconds.
    pub last_response_seconds: Option<i64>,
    /// From the start of the latest unresolved stretch to its resolution.
    pub resolution_seconds: Option<i64>,
    /// When the earliest running clock breaches its target, unless answered first.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_breach_at: Option<Timestamp>,
    /// Whether a running clock has breached.
    pub breached: bool,
    /// How many ended clocks missed their target.
    pub missed: u32,
}

impl From<&chat_domain::sla::SlaSummary> for SlaView {
    fn from(s: &chat_domain::sla::SlaSummary) -> Self {
        SlaView {
            first_response_seconds: s.first_response_seconds,
            last_response_seconds: s.last_response_seconds,
            resolution_seconds: s.resolution_seconds,
            next_breach_at: s.next_breach_at,
            breached: s.breached,
            missed: s.missed,
        }
    }
}

impl ThreadView {
    /// The same thread with its labels (a staff view).
    pub fn with_labels(mut self, labels: &[Label]) -> Self {
        self.labels = Some(labels.iter().map(LabelView::from).collect());
        self
    }

    /// A thread as seen at `now` (an expired claim shows as none).
    pub fn at(t: &Thread, now: Timestamp) -> Self {
        ThreadView {
            id: t.id,
            client_id: t.client_id,
            thread_type: t.thread_type,
            status: t.status,
            claim: t.live_claim(now).map(ClaimView::from),
            agent_id: t.agent_id,
            created_at: t.created_at,
            last_activity_at: t.last_activity_at,
            last_seq: t.last_seq,
            waiting_since: t.waiting_since,
            urgency: UrgencyView::from(&t.urgency),
            labels: None,
            sla: None,
        }
    }
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: MessageId,
    /// Its thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// Its place in the thread.
    pub seq: i64,
    /// Its writer.
    #[schema(value_type = i64)]
    pub sender_id: UserId,
    /// The writer's role.
    #[schema(value_type = String, example = "client")]
    pub sender_role: Role,
    /// `message`, or `note`: a private note, only ever shown to agents and admins.
    #[schema(value_type = String, pattern = "^(?:message|note)$", example = "message")]
    pub kind: MessageKind,
    /// The text.
    pub body: String,
    /// When it was stored.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Whether the other side read it.
    pub is_read: bool,
    /// The sender's idempotency id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// The files attached to it (images are shown inline by the pages, others as downloads).
    pub attachments: Vec<AttachmentView>,
    /// Written by the desk itself, not typed by a person: the notice that resolves an idle
    /// conversation (`desk.auto_resolve_after_minutes`), sent in the name of the agent who
    /// held it last. Pages show it as a notice of the conversation.
    pub system: bool,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        MessageView {
            id: m.id,
            thread_id: m.thread_id,
            seq: m.seq,
            sender_id: m.sender_id,
            sender_role: m.sender_role,
            kind: m.kind,
            body: m.body.clone(),
            created_at: m.created_at,
            is_read: m.is_read,
            client_message_id: m.client_message_id.clone(),
            attachments: m.attachments.iter().map(AttachmentView::from).collect(),
            system: m.system,
        }
    }
}

/// An uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    /// Its id: name it in `attachment_ids` when sending a message.
    #[schema(value_type = String, pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    /// Where it is downloaded (with the same bearer token: authorised like its thread).
    pub url: String,
    /// Its type, recognised from its content.
    #[schema(example = "image/png")]
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The uploader's name for it.
    pub name: String,
}

impl From<&Attachment> for AttachmentView {
    fn from(a: &Attachment) -> Self {
        AttachmentView {
            id: a.id.to_string(),
            url: a.url(),
            content_type: a.file_type.mime().to_owned(),
            size: a.size,
            name: a.name.as_str().to_owned(),
        }
    }
}

/// A message and the thread it went into.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentView {
    /// The thread.
    pub thread: ThreadView,
    /// The message.
    pub message: MessageView,
}

/// How many messages were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedView {
    /// Messages that changed.
    pub marked: u64,
}

/// One conversation in the agents' queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueEntryView {
    /// The thread.
    pub thread: ThreadView,
    /// Urgency now, waiting time included.
    pub urgency: UrgencyView,
    /// Its client's username.
    pub client_username: String,
    /// The client's oldest unanswered message.
    pub first_waiting: Option<MessageView>,
    /// The client's newest unanswered message (the same as `first_waiting` when only one waits).
    pub latest_waiting: Option<MessageView>,
}

impl QueueEntryView {
    /// A queue entry as seen at `now`.
    pub fn at(e: &QueueEntry, now: Timestamp) -> Self {
        QueueEntryView {
            thread: ThreadView::at(&e.thread, now),
            urgency: UrgencyView::from(&e.urgency),
            client_username: e.client_username.clone(),
            first_waiting: e.first_waiting.as_ref().map(MessageView::from),
            latest_waiting: e.latest_waiting.as_ref().map(MessageView::from),
        }
    }
}

/// The live claim in a staff list: who holds the thread until when.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    /// The holder.
    #[schema(value_type = i64)]
    pub agent_id: UserId,
    /// The holder's username.
    pub agent_username: String,
    /// When the lease ends unless renewed.
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
}

/// One conversation in a staff list ("Mine", "All", by status).
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItemView {
    /// The thread's id.
    #[schema(value_type = i64)]
    pub id: ThreadId,
    /// Its client.
    #[schema(value_type = i64)]
    pub client_id: UserId,
    /// The client's username.
    pub client_username: String,
    /// loan, payment or other.
    #[schema(value_type = String, example = "loan")]
    pub thread_type: ThreadType,
    /// open, pending or resolved.
    #[schema(value_type = String, example = "open")]
    pub status: ThreadStatus,
    /// The live claim, if any.
    pub claim: Option<HolderView>,
    /// The last agent who held it.
    #[schema(value_type = Option<i64>)]
    pub agent_id: Option<UserId>,
    /// Urgency now (waiting time included), with the reasons.
    pub urgency: UrgencyView,
    /// Since when the client has waited for an answer.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub waiting_since: Option<Timestamp>,
    /// When something last happened (the list's order).
    #[schema(value_type = String, format = DateTime)]
    pub last_activity_at: Timestamp,
    /// Sequence number of its latest entry (message or note).
    pub last_seq: i64,
    /// The client's messages nobody on the desk has read yet.
    pub unread: u64,
    /// The labels it carries, by name.
    pub labels: Vec<LabelView>,
    /// Its SLA clocks: seconds to the first response and to resolution, the next breach.
    pub sla: SlaView,
}

impl InboxItemView {
    /// An entry as seen at `now`.
    pub fn at(e: &InboxEntry, now: Timestamp) -> Self {
        let t = &e.thread;
        InboxItemView {
            id: t.id,
            client_id: t.client_id,
            client_username: e.client_username.clone(),
            thread_type: t.thread_type,
            status: t.status,
            claim: t.live_claim(now).map(|c| HolderView {
                agent_id: c.agent_id,
                agent_username: e.holder_username.clone().unwrap_or_default(),
                until: c.until,
            }),
            agent_id: t.agent_id,
            urgency: UrgencyView::from(&e.urgency),
            waiting_since: t.waiting_since,
            last_activity_at: t.last_activity_at,
            last_seq: t.last_seq,
            unread: e.unread,
            labels: e.labels.iter().map(LabelView::from).collect(),
            sla: SlaView::from(&e.sla),
        }
    }
}

/// A page of a staff list, newest activity first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadPageView {
    /// The threads.
    pub items: Vec<InboxItemView>,
    /// Give it as `cursor` for the next page; null on the last page.
    #[schema(pattern = "^[0-9]{1,18}_[0-9]{1,18}$", required = true)]
    pub next_cursor: Option<String>,
    /// How many threads the list holds with these filters, every page together.
    pub total: u64,
    /// With `counts=true`: how many threads each of the console's views holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<ViewCountsView>,
}

/// How many threads each of the console's views holds now, whatever the page's filters.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewCountsView {
    /// Open threads under the asking agent's live claim ("Mine").
    pub mine: u64,
    /// Open threads nobody holds.
    pub unassigned: u64,
    /// Threads whose client waits for an answer.
    pub waiting: u64,
    /// Open threads.
    pub open: u64,
    /// Pending threads (answered, waiting on the client).
    pub pending: u64,
    /// Resolved threads.
    pub resolved: u64,
}

impl From<chat_domain::service::ViewCounts> for ViewCountsView {
    fn from(c: chat_domain::service::ViewCounts) -> Self {
        ViewCountsView {
            mine: c.mine,
            unassigned: c.unassigned,
            waiting: c.waiting,
            open: c.open,
            pending: c.pending,
            resolved: c.resolved,
        }
    }
}

impl ThreadPageView {
    /// A page as seen at `now`.
    pub fn at(page: &InboxPage, now: Timestamp) -> Self {
        ThreadPageView {
            items: page
                .entries
                .iter()
                .map(|e| InboxItemView::at(e, now))
                .collect(),
            next_cursor: page.next.map(|c| c.encode()),
            total: page.total,
            counts: None,
        }
    }
}

/// A client's threads: `items` and nothing else (so that no page of a staff list, which always
/// has `next_cursor` and `total`, matches this too).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientThreadsView {
    /// The threads, newest activity first.
    pub items: Vec<ThreadView>,
}

/// What `GET /api/v1/threads` answers: a client's threads (`items` alone), or a page of a staff
/// list (`items`, `next_cursor` and `total`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ThreadsAnswer {
    /// A client's threads, newest activity first (`client_id` alone).
    Client(ClientThreadsView),
    /// A page of a staff list.
    Page(ThreadPageView),
}

/// A page of the agents' queue, and how many wait in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePageView {
    /// This page's entries, most urgent first.
    pub items: Vec<QueueEntryView>,
    /// How many conversations the queue holds, every page together.
    pub total: u64,
}

/// A label.
#[derive(Debug, Serialize, ToSchema)]
pub struct LabelView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: LabelId,
    /// Its name.
    pub name: String,
    /// Its colour, `#rrggbb` (lowercase).
    #[schema(pattern = "^#[0-9a-f]{6}$", example = "#d93f0b")]
    pub color: String,
}

impl From<&Label> for LabelView {
    fn from(l: &Label) -> Self {
        LabelView {
            id: l.id,
            name: l.name.clone(),
            color: l.color.clone(),
        }
    }
}

/// A client's rating of a resolved conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: RatingId,
    /// The thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// The client.
    #[schema(value_type = i64)]
    pub client_id: UserId,
    /// The agent who held the thread last.
    #[schema(value_type = Option<i64>)]
    pub agent_id: Option<UserId>,
    /// 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub score: i32,
    /// The comment, if any.
    pub comment: Option<String>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&Rating> for RatingView {
    fn from(r: &Rating) -> Self {
        RatingView {
            id: r.id,
            thread_id: r.thread_id,
            client_id: r.client_id,
            agent_id: r.agent_id,
            score: r.score,
            comment: r.comment.clone(),
            created_at: r.created_at,
        }
    }
}

/// A thread's labels after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadLabelsView {
    /// The thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// Every label it carries, by name.
    pub labels: Vec<LabelView>,
}

/// A canned reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct CannedReplyView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: CannedReplyId,
    /// Its title.
    pub title: String,
    /// Its text, with `{client_name}` style placeholders.
    pub body: String,
    /// The admin who wrote it.
    #[schema(value_type = i64)]
    pub created_by: UserId,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&CannedReply> for CannedReplyView {
    fn from(c: &CannedReply) -> Self {
        CannedReplyView {
            id: c.id,
            title: c.title.clone(),
            body: c.body.clone(),
            created_by: c.created_by,
            created_at: c.created_at,
        }
    }
}

/// A canned reply filled in for a thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedView {
    /// The text to insert.
    pub text: String,
}

/// One search match.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitView {
    /// The message.
    pub message: MessageView,
    /// Its thread's client.
    pub client_username: String,
    /// Relevance (higher is better).
    pub rank: f64,
}

impl From<&SearchHit> for SearchHitView {
    fn from(h: &SearchHit) -> Self {
        SearchHitView {
            message: MessageView::from(&h.message),
            client_username: h.client_username.clone(),
            rank: h.rank,
        }
    }
}

/// What an agent sees beside a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientContextView {
    /// The client.
    #[schema(value_type = i64)]
    pub client_id: UserId,
    /// Its username.
    pub username: String,
    /// When it joined.
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
    /// How many messages it sent.
    pub messages_sent: u64,
    /// Its threads, newest activity first.
    pub threads: Vec<ThreadView>,
}

impl ClientContextView {
    /// A client's context as seen at `now`.
    pub fn at(c: &ClientContext, now: Timestamp) -> Self {
        ClientContextView {
            client_id: c.client_id,
            username: c.username.clone(),
            joined_at: c.joined_at,
            messages_sent: c.messages_sent,
            threads: c.threads.iter().map(|t| ThreadView::at(t, now)).collect(),
        }
    }
}

pub use crate::error::{ErrorBody, ErrorDetail};

/// An agent (or admin) as the router sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// The agent.
    #[schema(value_type = i64)]
    pub agent_id: UserId,
    /// Their username.
    pub username: String,
    /// online, away or offline.
    #[schema(value_type = String, example = "online")]
    pub availability: chat_domain::routing::Availability,
    /// Conversations they may hold at once (their own, or the default).
    pub capacity: u32,
    /// Whether `capacity` is the configured default (no capacity of their own).
    pub capacity_is_default: bool,
    /// Conversations they hold now.
    pub held: u32,
}

impl AgentView {
    /// A state, with the default capacity for agents without their own.
    pub fn new(state: &chat_domain::routing::AgentState, default_capacity: u32) -> Self {
        AgentView {
            agent_id: state.agent_id,
            username: state.username.clone(),
            availability: state.availability,
            capacity: state.capacity.unwrap_or(default_capacity),
            capacity_is_default: state.capacity.is_none(),
            held: state.held,
        }
    }
}

/// The routing mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutingView {
    /// auto (the router assigns) or manual (agents claim from the queue).
    #[schema(value_type = String, example = "auto")]
    pub mode: chat_domain::routing::RoutingMode,
}

/// What a transfer did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    /// The thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// Who held it.
    #[schema(value_type = Option<i64>)]
    pub from_agent_id: Option<UserId>,
    /// Who holds it now (null: back to the queue).
    #[schema(value_type = Option<i64>)]
    pub to_agent_id: Option<UserId>,
    /// When the receiver's lease ends unless renewed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
}

impl From<&chat_domain::routing::Transferred> for TransferView {
    fn from(t: &chat_domain::routing::Transferred) -> Self {
        TransferView {
            thread_id: t.thread_id,
            from_agent_id: t.from,
            to_agent_id: t.to,
            until: t.until,
        }
    }
}

/// A webhook endpoint (its secret never shown back in full).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: chat_domain::WebhookId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it subscribes to.
    #[schema(value_type = Vec<String>, example = json!(["message.created", "thread.opened"]))]
    pub events: Vec<chat_domain::webhook::WebhookEventType>,
    /// Whether `message.created` includes staff's private notes.
    pub include_notes: bool,
    /// Whether deliveries are made (false after a delivery failed for good, or an admin's
    /// `PATCH`).
    pub enabled: bool,
    /// The secret's last 4 characters (when it has at least 12), after `…`.
    #[schema(example = "…f00d")]
    pub secret_hint: String,
    /// When it was registered.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&chat_domain::webhook::Webhook> for WebhookView {
    fn from(w: &chat_domain::webhook::Webhook) -> Self {
        WebhookView {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            include_notes: w.include_notes,
            enabled: w.enabled,
            secret_hint: w.secret_hint(),
            created_at: w.created_at,
        }
    }
}

/// One delivery of an event to an endpoint, with its latest attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// The delivery's id.
    pub id: i64,
    /// The event's stable id (`Webhook-Id`; a replay keeps it).
    #[schema(example = "evt_42")]
    pub event_id: String,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "message.created")]
    pub event_type: chat_domain::webhook::WebhookEventType,
    /// The event's thread.
    #[schema(value_type = i64)]
    pub thread_id: ThreadId,
    /// pending, delivered or failed.
    #[schema(example = "delivered")]
    pub state: &'static str,
    /// Attempts made.
    pub attempts: i64,
    /// The latest attempt's HTTP status, if the endpoint answered.
    pub last_status: Option<i64>,
    /// The latest attempt's error (timeout, connection, refused private target), if any.
    pub last_error: Option<String>,
    /// How long the latest attempt took, in milliseconds.
    pub last_duration_ms: Option<i64>,
    /// When the latest attempt was made.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<Timestamp>,
    /// When the next attempt is due (pending deliveries).
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// When it was queued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&chat_domain::webhook::DeliveryLogEntry> for WebhookDeliveryView {
    fn from(d: &chat_domain::webhook::DeliveryLogEntry) -> Self {
        WebhookDeliveryView {
            id: d.id,
            event_id: d.event_id.clone(),
            event_type: d.event_type,
            thread_id: d.thread_id,
            state: d.state.as_str(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            last_duration_ms: d.last_duration_ms,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

/// What a replay queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayView {
    /// How many events were queued again (with their original event ids).
    pub queued: u64,
}
