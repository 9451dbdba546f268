//! Conversations: threads and their messages, read marks, an agent's history with a client.

use actix_web::{web, HttpResponse};
use chat_domain::thread::ThreadType;
use chat_domain::user::Role;
use chat_domain::{Chat, DomainError, DomainResult, ThreadId, UserId};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::routes::v1::Page;
use crate::views::{ErrorBody, Items, MarkedView, MessageView, SentView, ThreadView};

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

/// Whose threads.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ThreadsQuery {
    /// The client: a client may give only its own id (the default); staff must give one (403
    /// without it).
    #[param(required = false, value_type = i64)]
    pub client_id: Option<i64>,
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

/// A client's threads: its own, or for staff the given client's.
#[utoipa::path(get, path = "/api/v1/threads", tag = "threads", params(ThreadsQuery),
    responses((status = 200, body = Items<ThreadView>),
        (status = 403, body = ErrorBody, description = "a client asking for another's threads, or staff naming no client")),
    security(("bearer" = [])))]
pub async fn list_threads(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<ThreadsQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let client = match (query.client_id, caller.user.role) {
        (Some(id), _) => UserId(id),
        (None, Role::Client) => caller.user.id,
        (None, _) => {
            return Err(DomainError::forbidden(
                "staff must name the client whose threads to list (client_id)",
            )
            .into())
        }
    };
    let (threads, now) = blocking(move || {
        let threads = chat.threads_of_client(&caller.user, client)?;
        Ok((threads, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Items::new(
        threads.iter().map(|t| ThreadView::at(t, now)).collect(),
    )))
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
    let (thread, now) = blocking(move || {
        let thread = chat.viewable_thread(&caller.user, id)?;
        Ok((thread, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ThreadView::at(&thread, now)))
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
