//! Conversations: threads and their messages, read marks, an agent's history with a client.

use actix_web::{web, HttpResponse};
use chat_domain::inbox::{ActivityCursor, Assignee, ThreadFilter};
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::{Chat, DomainError, DomainResult, ThreadId, UserId};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::routes::v1::Page;
use crate::views::{
    ErrorBody, Items, MarkedView, MessageView, SentView, ThreadPageView, ThreadView, ThreadsAnswer,
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
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
}

impl ThreadsQuery {
    /// Whether any parameter of a staff list was given.
    fn asks_for_a_list(&self) -> bool {
        self.assignee.is_some()
            || self.status.is_some()
            || self.cursor.is_some()
            || self.limit.is_some()
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
            text(
                "cursor",
                chat_domain::text::patterns::CURSOR,
                "A staff list: the previous page's `next_cursor` (opaque).",
            ),
            schema::limit(Page::INBOX),
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
/// page of a list of conversations ("Mine": `assignee=me`; by status; all), newest activity
/// first, with unread counts, as `threads` and `next_cursor`. Staff get the list whenever they
/// give any of `assignee`, `status`, `cursor`, `limit`, or no `client_id`.
#[utoipa::path(get, path = "/api/v1/threads", tag = "threads", params(ThreadsQuery),
    responses((status = 200, body = ThreadsAnswer),
        (status = 403, body = ErrorBody, description = "a client asking for another's threads, or for a staff list"),
        (status = 422, body = ErrorBody, description = "`invalid`: `assignee`, `status`, `cursor` or `limit` breaks its rule")),
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
        let me = caller.user.id;
        let assignee = match query.assignee.as_deref() {
            Some(text) => Assignee::parse(text, me)?,
            None => Assignee::Anyone,
        };
        let status = query
            .status
            .as_deref()
            .map(ThreadStatus::parse)
            .transpose()?;
        let after = query
            .cursor
            .as_deref()
            .map(ActivityCursor::parse)
            .transpose()?;
        let filter = ThreadFilter {
            assignee,
            status,
            client: query.client_id.map(UserId),
        };
        let (page, now) = blocking(move || {
            let page = chat.inbox(&caller.user, &filter, after, limit)?;
            Ok((page, chat.now()))
        })
        .await?;
        return Ok(HttpResponse::Ok().json(ThreadsAnswer::Page(ThreadPageView::at(&page, now))));
    }
    // Here staff always named a client; a client's own threads are the default.
    let client = query.client_id.map_or(caller.user.id, UserId);
    let (threads, now) = blocking(move || {
        let threads = chat.threads_of_client(&caller.user, client)?;
        Ok((threads, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ThreadsAnswer::Client(Items::new(
        threads.iter().map(|t| ThreadView::at(t, now)).collect(),
    ))))
}

/// One thread: its client or staff.
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
    let (thread, sla, now) = blocking(move || {
        let thread = chat.viewable_thread(&caller.user, id)?;
        let sla = if caller.user.role.is_staff() {
            Some(chat.thread_sla(&caller.user, id)?)
        } else {
            None
        };
        Ok((thread, sla, chat.now()))
    })
    .await?;
    let mut view = ThreadView::at(&thread, now);
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
        (status = 422, body = ErrorBody, description = "`invalid`: the body or client message id breaks its rule")),
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
        chat.send_in_thread(
            &caller.user,
            id,
            &req.body,
            req.client_message_id.as_deref(),
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
