//! Claims: an agent holds a thread (a lease every agent sees), renews, releases it; an admin
//! takes it over; the thread's status (resolving ends the claim).

use actix_web::{web, HttpResponse};
use chat_domain::thread::ThreadStatus;
use chat_domain::{Chat, DomainError, ThreadId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::openapi::schema;
use crate::views::{ErrorBody, ThreadClaimView, ThreadView};

/// A new status.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusRequest {
    /// open, pending or resolved.
    #[schema(schema_with = schema::thread_status)]
    pub status: String,
}

/// Counts a claim or renewal refused because another agent holds the thread.
fn count_conflict(metrics: &Metrics, err: &ApiError, action: &'static str) {
    if matches!(err, ApiError::Domain(DomainError::Claimed { .. })) {
        metrics.claim_conflict(action);
    }
}

/// An agent claims a thread (or renews its own claim).
#[utoipa::path(post, path = "/api/v1/threads/{id}/claim", tag = "claims",
    params(("id" = i64, Path, description = "thread id")),
    responses((status = 200, body = ThreadClaimView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`claimed` by another agent (with `holder_id` and `until`), or `thread_resolved`")),
    security(("bearer" = [])))]
pub async fn claim(
    chat: web::Data<Chat>,
    metrics: web::Data<Metrics>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let claim = blocking(move || chat.claim(&caller.user, id))
        .await
        .inspect_err(|err| count_conflict(&metrics, err, "claim"))?;
    Ok(HttpResponse::Ok().json(ThreadClaimView::new(id, &claim)))
}

/// The holder extends its lease.
#[utoipa::path(post, path = "/api/v1/threads/{id}/claim/renew", tag = "claims",
    params(("id" = i64, Path, description = "thread id")),
    responses((status = 200, body = ThreadClaimView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the caller does not hold the claim: `claimed` (another agent does) or `not_claim_holder`")),
    security(("bearer" = [])))]
pub async fn renew(
    chat: web::Data<Chat>,
    metrics: web::Data<Metrics>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let claim = blocking(move || chat.renew_claim(&caller.user, id))
        .await
        .inspect_err(|err| count_conflict(&metrics, err, "renew"))?;
    Ok(HttpResponse::Ok().json(ThreadClaimView::new(id, &claim)))
}

/// The holder lets the thread go.
#[utoipa::path(delete, path = "/api/v1/threads/{id}/claim", tag = "claims",
    params(("id" = i64, Path, description = "thread id")),
    responses((status = 204), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the caller does not hold the claim: `claimed` (another agent does) or `not_claim_holder`")),
    security(("bearer" = [])))]
pub async fn release(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    blocking(move || chat.release_claim(&caller.user, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An admin takes the thread over, whoever holds it.
#[utoipa::path(post, path = "/api/v1/threads/{id}/takeover", tag = "claims",
    params(("id" = i64, Path, description = "thread id")),
    responses((status = 200, body = ThreadClaimView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`thread_resolved`")),
    security(("bearer" = [])))]
pub async fn take_over(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let claim = blocking(move || chat.take_over(&caller.user, id)).await?;
    Ok(HttpResponse::Ok().json(ThreadClaimView::new(id, &claim)))
}

/// Changes a thread's status (resolving ends the claim).
#[utoipa::path(put, path = "/api/v1/threads/{id}/status", tag = "threads",
    params(("id" = i64, Path, description = "thread id")), request_body = StatusRequest,
    responses((status = 200, body = ThreadView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`invalid`: an unknown status")),
    security(("bearer" = [])))]
pub async fn set_status(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<StatusRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let status = body.into_inner().status;
    let (thread, now) = blocking(move || {
        let status = ThreadStatus::parse(&status)?;
        let thread = chat.set_status(&caller.user, id, status)?;
        Ok((thread, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ThreadView::at(&thread, now)))
}
