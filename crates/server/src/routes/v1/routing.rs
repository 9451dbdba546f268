//! Routing: availability, capacity, the routing mode, the agents' list and transfers.

use actix_web::{web, HttpResponse};
use chat_domain::routing::{Availability, RoutingMode};
use chat_domain::{Chat, ThreadId, UserId};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::views::{AgentView, ErrorBody, RoutingView, TransferView};

/// A JSON Schema integer (`7.0` is 7), in a nullable field.
#[derive(Debug, Deserialize)]
struct Integer(#[serde(deserialize_with = "crate::openapi::integer")] i64);

/// Makes a request body deserialize from a JSON object only (serde would otherwise also read a
/// struct from an array of its fields, which the document does not allow): a flattened field
/// is read from a map, never a sequence. It takes no part in the schema.
type ObjectOnly = std::collections::HashMap<String, serde::de::IgnoredAny>;

fn nullable_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Integer>::deserialize(deserializer)?.map(|i| i.0))
}

/// A new availability.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityRequest {
    /// online, away or offline.
    #[schema(schema_with = schema::availability)]
    pub availability: String,
    /// (Object bodies only.)
    #[serde(flatten)]
    #[schema(ignore)]
    pub _object: ObjectOnly,
}

/// A change to a user: their capacity.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatchRequest {
    /// Conversations the agent may hold at once, 0 to 100; null: back to the configured
    /// default.
    #[serde(deserialize_with = "nullable_integer")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100, required = true)]
    pub capacity: Option<i64>,
    /// (Object bodies only.)
    #[serde(flatten)]
    #[schema(ignore)]
    pub _object: ObjectOnly,
}

/// A routing mode.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoutingRequest {
    /// auto or manual.
    #[schema(schema_with = schema::routing_mode)]
    pub mode: String,
    /// (Object bodies only.)
    #[serde(flatten)]
    #[schema(ignore)]
    pub _object: ObjectOnly,
}

/// A transfer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferRequest {
    /// The agent (or admin) to hand the conversation to; null: back to the queue.
    #[serde(deserialize_with = "nullable_integer")]
    #[schema(value_type = Option<i64>, required = true)]
    pub to_agent_id: Option<i64>,
    /// A note for the receiver (sent to staff only and stored as a private note in the thread,
    /// never shown to the client).
    #[serde(default)]
    #[schema(schema_with = schema::transfer_note)]
    pub note: Option<String>,
    /// Admins only: hand it over even if the receiver is not online or has no room.
    #[serde(default)]
    pub force: bool,
    /// (Object bodies only.)
    #[serde(flatten)]
    #[schema(ignore)]
    pub _object: ObjectOnly,
}

/// Staff set their own availability; every console is told (`availability` event).
#[utoipa::path(put, path = "/api/v1/users/me/availability", tag = "routing",
    request_body = AvailabilityRequest,
    responses((status = 200, body = AgentView),
        (status = 403, body = ErrorBody, description = "not staff"),
        (status = 422, body = ErrorBody, description = "`invalid`: an unknown availability")),
    security(("bearer" = [])))]
pub async fn set_availability(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<AvailabilityRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let text = body.into_inner().availability;
    let (state, default) = blocking(move || {
        let state = chat.set_availability(&caller.user, Availability::parse(&text)?)?;
        Ok((state, chat.default_capacity()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AgentView::new(&state, default)))
}

/// An admin sets an agent's (or admin's) capacity.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "routing",
    params(("id" = i64, Path, description = "user id")), request_body = UserPatchRequest,
    responses((status = 200, body = AgentView),
        (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody, description = "no such agent or admin (clients have no capacity)"),
        (status = 422, body = ErrorBody, description = "`invalid`: capacity out of 0 to 100")),
    security(("bearer" = [])))]
pub async fn set_capacity(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<UserPatchRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = UserId(id.into_inner());
    let capacity = body.into_inner().capacity;
    let (state, default) = blocking(move || {
        let state = chat.set_capacity(&caller.user, id, capacity)?;
        Ok((state, chat.default_capacity()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AgentView::new(&state, default)))
}

/// Every agent and admin with availability, capacity and load, by id: for staff.
#[utoipa::path(get, path = "/api/v1/agents", tag = "routing",
    responses((status = 200, body = Vec<AgentView>),
        (status = 403, body = ErrorBody, description = "not staff")),
    security(("bearer" = [])))]
pub async fn agents(chat: web::Data<Chat>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let (states, default) = blocking(move || {
        let states = chat.agents(&caller.user)?;
        Ok((states, chat.default_capacity()))
    })
    .await?;
    let views: Vec<AgentView> = states.iter().map(|s| AgentView::new(s, default)).collect();
    Ok(HttpResponse::Ok().json(views))
}

/// The routing mode in force: for staff.
#[utoipa::path(get, path = "/api/v1/routing", tag = "routing",
    responses((status = 200, body = RoutingView),
        (status = 403, body = ErrorBody, description = "not staff")),
    security(("bearer" = [])))]
pub async fn get_mode(chat: web::Data<Chat>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let mode = blocking(move || chat.routing_mode_for(&caller.user)).await?;
    Ok(HttpResponse::Ok().json(RoutingView { mode }))
}

/// An admin switches the routing mode (stored: every instance follows; `routing` event).
#[utoipa::path(put, path = "/api/v1/routing", tag = "routing", request_body = RoutingRequest,
    responses((status = 200, body = RoutingView),
        (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 422, body = ErrorBody, description = "`invalid`: an unknown mode")),
    security(("bearer" = [])))]
pub async fn set_mode(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<RoutingRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let text = body.into_inner().mode;
    let mode =
        blocking(move || chat.set_routing_mode(&caller.user, RoutingMode::parse(&text)?)).await?;
    Ok(HttpResponse::Ok().json(RoutingView { mode }))
}

/// The holder (or an admin) hands a conversation to another agent, who must be online with
/// room unless an admin forces it (`"force": true`), or back to the queue
/// (`"to_agent_id": null`). The receiver and the queue are told (`transferred`, with the note,
/// for staff only).
#[utoipa::path(post, path = "/api/v1/threads/{id}/transfer", tag = "routing",
    params(("id" = i64, Path, description = "thread id")), request_body = TransferRequest,
    responses((status = 200, body = TransferView),
        (status = 403, body = ErrorBody, description = "not staff, or `force` without being an admin"),
        (status = 404, body = ErrorBody, description = "no such thread, or the receiver is no agent or admin"),
        (status = 409, body = ErrorBody, description = "`claimed` (another agent holds it), \
            `not_claim_holder`, `thread_resolved`, or `agent_unavailable` (the receiver is not \
            online or has no room)"),
        (status = 422, body = ErrorBody, description = "`invalid`: the note breaks its rule")),
    security(("bearer" = [])))]
pub async fn transfer(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<TransferRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let TransferRequest {
        to_agent_id,
        note,
        force,
        ..
    } = body.into_inner();
    let done = blocking(move || {
        chat.transfer(
            &caller.user,
            id,
            to_agent_id.map(UserId),
            note.as_deref(),
            force,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(TransferView::from(&done)))
}
