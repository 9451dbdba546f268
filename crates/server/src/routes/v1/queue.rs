//! The agents' queue.

use actix_web::{web, HttpResponse};
use chat_domain::Chat;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::IntoParams;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::routes::v1::Page;
use crate::views::{ErrorBody, QueueEntryView, QueuePageView};

/// A page of the queue.
#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    /// At most this many (default 50, 1 to 200).
    pub limit: Option<u32>,
    /// Skip this many (default 0).
    pub offset: Option<u32>,
}

impl IntoParams for QueueQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![schema::limit(Page::QUEUE), schema::offset()]
    }
}

/// The agents' queue: unclaimed threads with a client waiting, most urgent first, with the
/// client's first and newest waiting messages and how many wait in all.
#[utoipa::path(get, path = "/api/v1/queue", tag = "queue", params(QueueQuery),
    responses((status = 200, body = QueuePageView), (status = 403, body = ErrorBody, description = "not staff"),
        (status = 422, body = ErrorBody, description = "`invalid`: `limit` or `offset` out of range")),
    security(("bearer" = [])))]
pub async fn queue(
    chat: web::Data<Chat>,
    caller: Authenticated,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let limit = Page::QUEUE.limit(query.limit)?;
    let offset = Page::offset(query.offset)?;
    let (entries, total, now) = blocking(move || {
        let entries = chat.queue(&caller.user, limit, offset)?;
        let total = chat.queue_len(&caller.user)?;
        Ok((entries, total, chat.now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(QueuePageView {
        items: entries.iter().map(|e| QueueEntryView::at(e, now)).collect(),
        total,
    }))
}
