//! Ratings: the client rates its resolved conversation.

use actix_web::{web, HttpResponse};
use chat_domain::{Chat, ThreadId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::views::{ErrorBody, RatingView};

/// A rating.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingRequest {
    /// 1 (bad) to 5 (very good).
    #[serde(deserialize_with = "crate::openapi::integer")]
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    /// Optional: at most 1,000 characters once trimmed, no control characters; empty is none.
    #[schema(schema_with = schema::rating_comment)]
    pub comment: Option<String>,
}

/// The thread's client rates it once it is resolved, once per resolution (after it is
/// reopened, by the client writing or by staff, and resolved again, a new rating is allowed).
/// Told to staff as
/// `thread.rated`.
#[utoipa::path(post, path = "/api/v1/threads/{id}/rating", tag = "threads",
    params(("id" = i64, Path, description = "thread id")), request_body = RatingRequest,
    responses((status = 201, body = RatingView),
        (status = 403, body = ErrorBody, description = "not the thread's client"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`thread_not_resolved`, or `already_rated` (this resolution)"),
        (status = 422, body = ErrorBody, description = "`invalid`: the score or comment breaks its rule")),
    security(("bearer" = [])))]
pub async fn rate(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<RatingRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = ThreadId(id.into_inner());
    let req = body.into_inner();
    let rating =
        blocking(move || chat.rate_thread(&caller.user, id, req.score, req.comment.as_deref()))
            .await?;
    Ok(HttpResponse::Created().json(RatingView::from(&rating)))
}
