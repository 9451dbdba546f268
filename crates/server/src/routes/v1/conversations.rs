//! Conversations: threads and their messages, read marks, an agent's history with a client.

use actix_web::{web, HttpResponse};
use chat_domain::inbox::{
    parse_instant, ActivityCursor, Assignee, TextFilter, ThreadFilter, TimeRange,
};
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::{Chat, DomainError, DomainResult, LabelId, ThreadId, UserId};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::routes::v1::Page;
use crate::views::{
    ClientThreadsView, ErrorBody, Items, MarkedView, MessageView, SentView, ThreadPageView,
    ThreadView, ThreadsAnswer, ViewCountsView,
};

/// A thread type as the seed numbers it (1, 2, 3) or by name (`loan`, `payment`, `other`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ThreadTypeInput {
    /// 1 = loan, 2 = payment, 3 = other.
    Code(#[serde(deserialize_with = "crate::openapi::integer")] i64),
    /// `loan`, `payment`, `other` (or a number as text).
    Name(String),
}

impl ThreadTypeInput {
    /// The topic, or Invalid (422) for an unknown one.
    pub fn parse(&self) -> DomainResult<ThreadType> {
        match self {
            ThreadTypeInput::Code(code) => ThreadType::from_code(*code),
            ThreadTypeInput::Name(name) => ThreadType::parse(name),
        }
    }
}

/// A client's first message about a topic.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewThreadRequest {
    /// The topic.
    #[schema(schema_with = schema::thread_type)]
    pub thread_type: ThreadTypeInput,
    /// The message.
    #[schema(schema_with = schema::message_body)]
    pub body: String,
    /// Makes retries idempotent.
    #[schema(schema_with = schema::client_message_id)]
    pub client_message_id: Option<String>,
}

/// A message into a thread.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMessageRequest {
    /// The message.
    #[schema(schema_with = schema::message_body)]
    pub body: String,
    /// Makes retries idempotent.
    #[schema(schema_with = schema::client_message_id)]
    pub client_message_id: Option<String>,
    /// Files to attach: ids from `POST /api/v1/threads/{id}/attachments`, uploaded to this
    /// thread by the sender and not attached to a message yet (422 `invalid` otherwise).
    #[serde(default)]
    #[schema(schema_with = schema::attachment_ids)]
    pub attachment_ids: Vec<String>,
}

/// Marks messages read.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadRequest {
    /// Up to which sequence number.
    #[serde(deserialize_with = "crate::openapi::integer")]
    pub up_to_seq: i64,
}

/// A private note.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNoteRequest {
    /// The note (the rules of a message body).
    #[schema(schema_with = schema::message_body)]
    pub body: String,
}

/// Whose threads, or which page of a staff list.
#[derive(Debug, Deserialize)]
pub struct ThreadsQuery {
    /// The client.
    pub client_id: Option<i64>,
    /// `me`, `none` or an agent's id: the holder of the live claim.
    pub assignee: Option<String>,
    /// open, pending or resolved.
    pub status: Option<String>,
    /// loan, payment or other.
    pub thread_type: Option<String>,
    /// A label's id: the threads carrying it.
    pub label: Option<i64>,
    /// Whether the client waits for an answer.
    pub waiting: Option<bool>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    pub created_to: Option<String>,
    /// Last activity at or after (RFC 3339).
    pub active_from: Option<String>,
    /// Last activity before (RFC 3339).
    pub active_to: Option<String>,
    /// Text in the thread's messages or notes.
    pub q: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
    /// Also answer the console's view counts (`counts`).
    pub counts: Option<bool>,
}

impl ThreadsQuery {
    /// Whether any parameter of a staff list was given.
    fn asks_for_a_list(&self) -> bool {
        self.assignee.is_some()
            || self.status.is_some()
            || self.thread_type.is_some()
            || self.label.is_some()
            || self.waiting.is_some()
            || self.created_from.is_some()
            || self.created_to.is_some()
            || self.active_from.is_some()
            || self.active_to.is_some()
            || self.q.is_some()
            || self.cursor.is_some()
            || self.limit.is_some()
            || self.counts.is_some()
    }

    /// The staff list's filter, `me` being `actor` (Invalid naming the parameter at fault).
    fn filter(&self, actor: UserId) -> DomainResult<ThreadFilter> {
        let instant = |field: &'static str, text: &Option<String>| {
            text.as_deref().map(|t| parse_instant(field, t)).transpose()
        };
        Ok(ThreadFilter {
            assignee: match self.assignee.as_deref() {
                Some(text) => Assignee::parse(text, actor)?,
                None => Assignee::Anyone,
            },
            status: self
                .status
                .as_deref()
                .map(ThreadStatus::parse)
                .transpose()?,
            client: self.client_id.map(UserId),
            thread_type: self
                .thread_type
                .as_deref()
                .map(ThreadType::parse)
                .transpose()?,
            label: self.label.map(LabelId),
            waiting: self.waiting,
            created: TimeRange {
                from: instant("created_from", &self.created_from)?,
                to: instant("created_to", &self.created_to)?,
            },
            active: TimeRange {
                from: instant("active_from", &self.active_from)?,
                to: instant("active_to", &self.active_to)?,
            },
            text: self.q.as_deref().map(TextFilter::parse).transpose()?,
        })
    }
}

impl IntoParams for ThreadsQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use utoipa::openapi::path::ParameterBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::Required;
        let text = |name: &str, pattern: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(pattern)),
                ))
                .build()
        };
        let status = ParameterBuilder::new()
            .name("status")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "A staff list: only threads with this status (open, pending, resolved).",
            ))
            .schema(Some(schema::thread_status()))
            .build();
        let thread_type = ParameterBuilder::new()
            .name("thread_type")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "A staff list: only threads of this type (loan, payment, other).",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(chat_domain::text::patterns::THREAD_TYPE)),
            ))
            .build();
        let waiting = ParameterBuilder::new()
            .name("waiting")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "A staff list: `true`, only threads whose client waits for an answer; `false`, \
                 only the others.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
            .build();
        let counts = ParameterBuilder::new()
            .name("counts")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "A staff list: `true` adds `counts`, how many threads each of the console's \
                 views holds now (mine, unassigned, waiting, open, pending, resolved), whatever \
                 the other filters; six counts more, so ask on a first page only.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
            .build();
        vec![
            schema::integer_query(
                "client_id",
                false,
                i64::MIN,
                i64::MAX,
                "The client. Alone: that client's threads as `items` (a client may give only its                  own id, the default). With a staff list's parameters: only that client's threads.",
            ),
            text(
                "assignee",
                chat_domain::text::patterns::ASSIGNEE,
                "A staff list: `me` (the threads the caller holds), `none` (held by nobody) or                  an agent's id; the holder of the live claim. Absent: anyone's.",
            ),
            status,
            thread_type,
            schema::integer_query(
                "label",
                false,
                i64::MIN,
                i64::MAX,
                "A staff list: only threads carrying this label (its id; an unknown id lists \
                 nothing).",
            ),
            waiting,
            schema::instant_query(
                "created_from",
                "A staff list: only threads opened at or after this instant.",
            ),
            schema::instant_query(
                "created_to",
                "A staff list: only threads opened before this instant.",
            ),
            schema::instant_query(
                "active_from",
                "A staff list: only threads whose last activity is at or after this instant.",
            ),
            schema::instant_query(
                "active_to",
                "A staff list: only threads whose last activity is before this instant.",
            ),
            schema::optional_text_query(
                "q",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(chat_domain::text::patterns::LIST_TEXT))
                    .min_length(Some(1)),
                "A staff list: only threads with a message or private note containing this \
                 text (ignoring the case of ASCII letters; 1 to 100 characters once trimmed, no \
                 control characters). Notes count: the list is staff's.",
            ),
            text(
                "cursor",
                chat_domain::text::patterns::CURSOR,
                "A staff list: the previous page's `next_cursor` (opaque).",
            ),
            schema::limit(Page::INBOX),
            counts,
        ]
    }
}

/// A page of messages.
#[derive(Debug, Deserialize)]
pub struct MessagesQuery {
    /// Only messages after this sequence number (default 0).
    pub after_seq: Option<i64>,
    /// At most this many (default 100, 1 to 500).
    pub limit: Option<u32>,
}

impl IntoParams for MessagesQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            schema::integer_query(
                "after_seq",
                false,
                0,
                i64::MAX,
                "Only messages after this sequence number (default 0).",
            ),
            schema::limit(Page::MESSAGES),
        ]
    }
}

/// An agent and a client.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConversationQuery {
    /// The agent.
    pub agent_id: i64,
    /// The client.
    pub client_id: i64,
}

/// A client writes about a topic: into its open thread of that type, created if missing.
#[utoipa::path(post, path = "/api/v1/threads", tag = "threads", request_body = NewThreadRequest,
    responses((status = 201, body = SentView), (status = 200, body = SentView, description = "a repeated client_message_id"),
        (status = 403, body = ErrorBody, description = "only clients open threads"),
        (status = 409, body = ErrorBody, description = "`client_message_id_reused` (for another thread), or `open_thread_exists`"),
        (status = 422, body = ErrorBody, description = "`invalid`: the body, thread type or client message id breaks its rule")),
    security(("bearer" = [])))]
pub async fn create_thread(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<NewThreadRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let req = body.into_inner();
    let (appended, now) = blocking(move || {
        let thread_type = req.thread_type.parse()?;
        let appended = chat.send_as_client(
            &caller.user,
            thread_type,
            &req.body,
            req.client_message_id.as_deref(),
        )?;
        Ok((appended, chat.now()))
    })
    .await?;
    let view = SentView {
        thread: ThreadView::at(&appended.thread, now),
        message: MessageView::from(&appended.message),
    };
    Ok(if appended.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// A client's threads (its own, or for staff the given client's) as `items`; or for staff a
/// page of a list of conversations ("Mine": `assignee=me`; by status, type, label, waiting,
/// creation and activity ranges, text; all), newest activity first, with unread counts,
/// labels and SLA clocks (`sla`), as `items`, `next_cursor` and `total` (how many threads the
/// filters select, every page together), and with `counts=true` the console's view counts
/// (`counts`). Staff get the list whenever they give any parameter but `client_id`, or no
/// `client_id`. Paging never lists a thread twice; new conversations arriving meanwhile come
/// before the first page, never inside later ones.
#[utoipa::path(get, path = "/api/v1/threads", tag = "threads", params(ThreadsQuery),
    responses((status = 200, body = ThreadsAnswer),
        (status = 403, body = ErrorBody, description = "a client asking for another's threads, or for a staff list"),
        (status = 422, body = ErrorBody, description = "`invalid`: a parameter (`assignee`, `status`, `thread_type`, an instant, `q`, `cursor`, `limit`) breaks its rule")),
    security(("bearer" = [])))]
pub async fn list_threads(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<ThreadsQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let query = query.into_inner();
    let staff = caller.user.role.is_staff();
    if query.asks_for_a_list() || (staff && query.client_id.is_none()) {
        let limit = Page::INBOX.limit(query.limit)?;
        let filter = query.filter(caller.user.id)?;
        let after = query
            .cursor
            .as_deref()
            .map(ActivityCursor::parse)
            .transpose()?;
        let with_counts = query.counts == Some(true);
        let (page, counts, now) = blocking(move || {
            let page = chat.inbox(&caller.user, &filter, after, limit)?;
            let counts = with_counts
                .then(|| chat.inbox_counts(&caller.user))
                .transpose()?;
            Ok((page, counts, chat.now()))
        })
        .await?;
        let mut view = ThreadPageView::at(&page, now);
        view.counts = counts.map(ViewCountsView::from);
        return Ok(HttpResponse::Ok().json(ThreadsAnswer::Page(view)));
    }
    // Here staff always named a client; a client's own threads are the default.
    let client = query.client_id.map_or(caller.user.id, UserId);
    let (threads, now) = blocking(move || {
        let threads = chat.threads_of_client(&caller.user, client)?;
        Ok((threads, chat.now()))
    })
    .await?;
    Ok(
        HttpResponse::Ok().json(ThreadsAnswer::Client(ClientThreadsView {
            items: threads.iter().map(|t| ThreadView::at(t, now)).collect(),
        })),
    )
}

/// One thread: its client or staff (staff also get its `labels`).
#[utoipa::path(get, path = "/api/v1/threads/{id}", tag = "threads",
    params(("id" = i64, Path, description = "thread id")),
    responses((status = 200, body = ThreadView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_thread(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let (view, sla) = blocking(move || {
        let thread = chat.viewable_thread(&caller.user, id)?;
        let view = ThreadView::at(&thread, chat.now());
        Ok(if caller.user.role.is_staff() {
            (
                view.with_labels(&chat.thread_labels(&caller.user, id)?),
                Some(chat.thread_sla(&caller.user, id)?),
            )
        } else {
            (view, None)
        })
    })
    .await?;
    let mut view = view;
    view.sla = sla.as_ref().map(crate::views::SlaView::from);
    Ok(HttpResponse::Ok().json(view))
}

/// Messages of a thread, in sequence order.
#[utoipa::path(get, path = "/api/v1/threads/{id}/messages", tag = "threads",
    params(("id" = i64, Path, description = "thread id"), MessagesQuery),
    responses((status = 200, body = Items<MessageView>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid`: `after_seq` or `limit` out of range")),
    security(("bearer" = [])))]
pub async fn list_messages(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    query: web::Query<MessagesQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let after = match query.after_seq {
        None => 0,
        Some(seq) if seq >= 0 => seq,
        Some(_) => return Err(DomainError::invalid("after_seq", "must not be negative").into()),
    };
    let limit = Page::MESSAGES.limit(query.limit)?;
    let messages = blocking(move || chat.messages(&caller.user, id, after, limit)).await?;
    Ok(HttpResponse::Ok().json(Items::new(messages.iter().map(MessageView::from).collect())))
}

/// Writes into a thread: its client, or the agent holding its claim.
#[utoipa::path(post, path = "/api/v1/threads/{id}/messages", tag = "threads",
    params(("id" = i64, Path, description = "thread id")), request_body = NewMessageRequest,
    responses((status = 201, body = MessageView), (status = 200, body = MessageView, description = "a repeated client_message_id"),
        (status = 403, body = ErrorBody, description = "not its client, nor the agent holding its claim"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "an agent without the claim: `claimed` (another agent holds it) or `not_claim_holder`; or `client_message_id_reused` (for another thread)"),
        (status = 422, body = ErrorBody, description = "`invalid`: the body, client message id or attachment ids break their rule, or an attachment is not one the sender uploaded to this thread and has not used yet")),
    security(("bearer" = [])))]
pub async fn post_message(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<NewMessageRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let req = body.into_inner();
    let appended = blocking(move || {
        chat.send_with_attachments(
            &caller.user,
            id,
            &req.body,
            req.client_message_id.as_deref(),
            &req.attachment_ids,
        )
    })
    .await?;
    let view = MessageView::from(&appended.message);
    Ok(if appended.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Staff write a private note into a thread: stored in the thread's sequence with its
/// messages (`kind: note`), shown to agents and admins only, never to the client. No claim is
/// needed; resolved threads take notes too (they stay resolved). A note is not a reply: the
/// client keeps waiting and nothing is marked read.
#[utoipa::path(post, path = "/api/v1/threads/{id}/notes", tag = "threads",
    params(("id" = i64, Path, description = "thread id")), request_body = NewNoteRequest,
    responses((status = 201, body = MessageView, description = "the stored note (`kind: note`)"),
        (status = 403, body = ErrorBody, description = "clients do not write notes"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid`: the body breaks its rule")),
    security(("bearer" = [])))]
pub async fn post_note(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<NewNoteRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let req = body.into_inner();
    let note = blocking(move || chat.add_note(&caller.user, id, &req.body)).await?;
    Ok(HttpResponse::Created().json(MessageView::from(&note)))
}

/// Marks the other side's messages read.
#[utoipa::path(post, path = "/api/v1/threads/{id}/read", tag = "threads",
    params(("id" = i64, Path, description = "thread id")), request_body = ReadRequest,
    responses((status = 200, body = MarkedView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_read(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<ReadRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let up_to = body.up_to_seq;
    let marked = blocking(move || chat.mark_read(&caller.user, id, up_to)).await?;
    Ok(HttpResponse::Ok().json(MarkedView { marked }))
}

/// Every message between an agent and a client: for that agent, that client or an admin.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "threads", params(ConversationQuery),
    responses((status = 200, body = Items<MessageView>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such agent (staff) or client")),
    security(("bearer" = [])))]
pub async fn conversation(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<ConversationQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let (agent, client) = (UserId(query.agent_id), UserId(query.client_id));
    let messages = blocking(move || chat.conversation_between(&caller.user, agent, client)).await?;
    Ok(HttpResponse::Ok().json(Items::new(messages.iter().map(MessageView::from).collect())))
}
