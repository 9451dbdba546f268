//! The agents' queue.

use actix_web::{web, HttpResponse};
use chat_domain::Chat;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::views::{ErrorBody, Items, QueueEntryView};

/// A page of the queue.
#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// At most this many (default 50, at most 200).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

/// The agents' queue: unclaimed threads with a client waiting, most urgent first.
#[utoipa::path(get, path = "/api/v1/queue", tag = "queue", params(QueueQuery),
    responses((status = 200, body = Items<QueueEntryView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn queue(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let (limit, offset) = (query.limit.unwrap_or(50), query.offset.unwrap_or(0));
    let (entries, now) = blocking(move || {
        let entries = chat.queue(&caller.user, limit, offset)?;
        Ok((entries, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Items::new(
        entries.iter().map(|e| QueueEntryView::at(e, now)).collect(),
    )))
}
