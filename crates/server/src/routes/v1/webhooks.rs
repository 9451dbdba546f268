//! Webhooks (admins): register endpoints, read their delivery logs, enable, disable, delete,
//! replay. Deliveries are the worker's (`crate::webhook_worker`); docs/WEBHOOKS.md describes
//! what a receiver gets.

use actix_web::{web, HttpResponse};
use chat_domain::{Chat, WebhookId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::views::{ErrorBody, Items, ReplayView, WebhookDeliveryView, WebhookView};

/// How many deliveries `GET /api/v1/webhooks/{id}/deliveries` lists (the newest).
pub const DELIVERY_LOG_PAGE: u32 = 100;

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebhookRequest {
    /// Where deliveries are POSTed.
    #[schema(schema_with = schema::webhook_url)]
    pub url: String,
    /// The event types to deliver.
    #[schema(schema_with = schema::webhook_events)]
    pub events: Vec<String>,
    /// The HMAC-SHA256 key.
    #[schema(schema_with = schema::webhook_secret)]
    pub secret: String,
    /// Deliver staff's private notes as `message.created` too (`"kind": "note"`); false by
    /// default.
    #[serde(default)]
    pub include_notes: bool,
}

/// What to change on an endpoint.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhookRequest {
    /// Enable (deliveries resume, pending ones first) or disable it.
    pub enabled: bool,
}

/// From when to replay.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplayRequest {
    /// Every event recorded at or after this instant that the endpoint subscribes to is queued
    /// again, with its original event id.
    #[schema(schema_with = schema::instant)]
    pub from: String,
}

/// Every endpoint (admin).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Items<WebhookView>), (status = 403, body = ErrorBody, description = "not an admin")),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    chat: web::Data<Chat>,
    caller: Authenticated,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let webhooks = blocking(move || chat.webhooks(&caller.user)).await?;
    Ok(HttpResponse::Ok().json(Items::new(webhooks.iter().map(WebhookView::from).collect())))
}

/// Registers an endpoint (admin); enabled at once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhookRequest,
    responses((status = 201, body = WebhookView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 422, body = ErrorBody, description = "`invalid`: the URL (not http/https, credentials, a private, loopback or link-local target), an event type or the secret breaks its rule")),
    security(("bearer" = [])))]
pub async fn add_webhook(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<NewWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let req = body.into_inner();
    let webhook = blocking(move || {
        chat.register_webhook(
            &caller.user,
            &req.url,
            &req.events,
            req.include_notes,
            &req.secret,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(WebhookView::from(&webhook)))
}

/// Enables or disables an endpoint (admin).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")), request_body = UpdateWebhookRequest,
    responses((status = 200, body = WebhookView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody, description = "no such webhook")),
    security(("bearer" = [])))]
pub async fn update_webhook(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<UpdateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = WebhookId(id.into_inner());
    let enabled = body.enabled;
    let webhook = blocking(move || chat.set_webhook_enabled(&caller.user, id, enabled)).await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(&webhook)))
}

/// Deletes an endpoint and its deliveries (admin).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")),
    responses((status = 204), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody, description = "no such webhook")),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = WebhookId(id.into_inner());
    blocking(move || chat.delete_webhook(&caller.user, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An endpoint's delivery log: its 100 newest deliveries, newest first, each with its latest
/// attempt (admin).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")),
    responses((status = 200, body = Items<WebhookDeliveryView>), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody, description = "no such webhook")),
    security(("bearer" = [])))]
pub async fn deliveries(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = WebhookId(id.into_inner());
    let log =
        blocking(move || chat.webhook_deliveries(&caller.user, id, DELIVERY_LOG_PAGE)).await?;
    Ok(HttpResponse::Ok().json(Items::new(
        log.iter().map(WebhookDeliveryView::from).collect(),
    )))
}

/// Queues again every event since `from` that the endpoint subscribes to, with the same event
/// ids (admin). A disabled endpoint gets them once enabled.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", tag = "webhooks",
    params(("id" = i64, Path, description = "webhook id")), request_body = ReplayRequest,
    responses((status = 202, body = ReplayView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody, description = "no such webhook"),
        (status = 422, body = ErrorBody, description = "`invalid`: `from` is not an RFC 3339 date-time")),
    security(("bearer" = [])))]
pub async fn replay(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<ReplayRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = WebhookId(id.into_inner());
    let from = body.into_inner().from;
    let queued = blocking(move || {
        let from = chat_domain::inbox::parse_instant("from", &from)?;
        chat.replay_webhook(&caller.user, id, from)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(ReplayView { queued }))
}
