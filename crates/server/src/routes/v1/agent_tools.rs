//! What agents reach for: canned replies, search, client look-up and the client's context.

use actix_web::{web, HttpResponse};
use chat_domain::{CannedReplyId, Chat, ThreadId, UserId};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::routes::v1::Page;
use crate::views::{
    CannedReplyView, ClientContextView, ErrorBody, Items, RenderedView, SearchHitView, UserView,
};

/// A new canned reply.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCannedRequest {
    /// 1 to 100 characters.
    #[schema(schema_with = schema::canned_title)]
    pub title: String,
    /// The text, with `{client_name}` / `{agent_name}` placeholders (a message body's rule).
    #[schema(schema_with = schema::message_body)]
    pub body: String,
}

/// Which thread to fill a canned reply in for.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RenderQuery {
    /// The thread.
    pub thread_id: i64,
}

/// A search.
#[derive(Debug, Deserialize)]
pub struct SearchQueryParams {
    /// Words that must all occur.
    pub q: String,
    /// At most this many hits (default 20, 1 to 100).
    pub limit: Option<u32>,
}

impl IntoParams for SearchQueryParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![schema::search_q(), schema::limit(Page::SEARCH)]
    }
}

/// A client look-up.
#[derive(Debug, Deserialize)]
pub struct ClientSearchParams {
    /// Part of the username (case-insensitive; those starting with it come first).
    pub q: String,
    /// At most this many clients (default 20, 1 to 100).
    pub limit: Option<u32>,
}

impl IntoParams for ClientSearchParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![schema::client_q(), schema::limit(Page::CLIENTS)]
    }
}

/// Canned replies (staff).
#[utoipa::path(get, path = "/api/v1/canned-replies", tag = "canned replies",
    responses((status = 200, body = Items<CannedReplyView>), (status = 403, body = ErrorBody, description = "not staff")),
    security(("bearer" = [])))]
pub async fn list_canned(chat: web::Data<Chat>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let replies = blocking(move || chat.canned_replies(&caller.user)).await?;
    Ok(HttpResponse::Ok().json(Items::new(
        replies.iter().map(CannedReplyView::from).collect(),
    )))
}

/// Adds a canned reply (admin).
#[utoipa::path(post, path = "/api/v1/canned-replies", tag = "canned replies", request_body = NewCannedRequest,
    responses((status = 201, body = CannedReplyView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 422, body = ErrorBody, description = "`invalid`: the title or body breaks its rule")),
    security(("bearer" = [])))]
pub async fn add_canned(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<NewCannedRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let req = body.into_inner();
    let reply =
        blocking(move || chat.add_canned_reply(&caller.user, &req.title, &req.body)).await?;
    Ok(HttpResponse::Created().json(CannedReplyView::from(&reply)))
}

/// Deletes a canned reply (admin).
#[utoipa::path(delete, path = "/api/v1/canned-replies/{id}", tag = "canned replies",
    params(("id" = i64, Path, description = "canned reply id")),
    responses((status = 204), (status = 403, body = ErrorBody, description = "not an admin"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_canned(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = CannedReplyId(id.into_inner());
    blocking(move || chat.delete_canned_reply(&caller.user, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A canned reply filled in for a thread.
#[utoipa::path(get, path = "/api/v1/canned-replies/{id}/render", tag = "canned replies",
    params(("id" = i64, Path, description = "canned reply id"), RenderQuery),
    responses((status = 200, body = RenderedView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody, description = "no such canned reply or thread")),
    security(("bearer" = [])))]
pub async fn render_canned(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    query: web::Query<RenderQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = CannedReplyId(id.into_inner());
    let thread = ThreadId(query.thread_id);
    let text = blocking(move || chat.render_canned_reply(&caller.user, id, thread)).await?;
    Ok(HttpResponse::Ok().json(RenderedView { text }))
}

/// Searches messages the caller may see, best first.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQueryParams),
    responses((status = 200, body = Items<SearchHitView>),
        (status = 422, body = ErrorBody, description = "`invalid`: `q` or `limit` breaks its rule")),
    security(("bearer" = [])))]
pub async fn search(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<SearchQueryParams>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let SearchQueryParams { q, limit } = query.into_inner();
    let limit = Page::SEARCH.limit(limit)?;
    let hits = blocking(move || chat.search(&caller.user, &q, limit)).await?;
    Ok(HttpResponse::Ok().json(Items::new(hits.iter().map(SearchHitView::from).collect())))
}

/// Staff look clients up by part of their username: active clients only, those whose username
/// starts with `q` first.
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", params(ClientSearchParams),
    responses((status = 200, body = Items<UserView>), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 422, body = ErrorBody, description = "`invalid`: `q` or `limit` breaks its rule")),
    security(("bearer" = [])))]
pub async fn search_clients(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<ClientSearchParams>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let ClientSearchParams { q, limit } = query.into_inner();
    let limit = Page::CLIENTS.limit(limit)?;
    let users = blocking(move || chat.search_clients(&caller.user, &q, limit)).await?;
    Ok(HttpResponse::Ok().json(Items::new(users.iter().map(UserView::from).collect())))
}

/// A client's context (staff).
#[utoipa::path(get, path = "/api/v1/clients/{id}/context", tag = "clients",
    params(("id" = i64, Path, description = "client id")),
    responses((status = 200, body = ClientContextView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody, description = "no such client")),
    security(("bearer" = [])))]
pub async fn client_context(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = UserId(id.into_inner());
    let (context, now) = blocking(move || {
        let context = chat.client_context(&caller.user, id)?;
        Ok((context, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClientContextView::at(&context, now)))
}
