//! Labels: admins define them; staff put them on threads and take them off.

use actix_web::{web, HttpResponse};
use chat_domain::{Chat, LabelId, ThreadId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::views::{ErrorBody, Items, LabelView, ThreadLabelsView};

/// A new label.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewLabelRequest {
    /// 1 to 40 characters once trimmed; unique without regard to the case of ASCII letters.
    #[schema(schema_with = schema::label_name)]
    pub name: String,
    /// `#rrggbb`.
    #[schema(schema_with = schema::label_color)]
    pub color: String,
}

/// Which label to put on a thread.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ThreadLabelRequest {
    /// The label's id.
    #[serde(deserialize_with = "crate::openapi::integer")]
    pub label_id: i64,
}

/// Every label, by name (staff).
#[utoipa::path(get, path = "/api/v1/labels", tag = "labels",
    responses((status = 200, body = Items<LabelView>), (status = 403, body = ErrorBody, description = "not staff")),
    security(("bearer" = [])))]
pub async fn list_labels(chat: web::Data<Chat>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let labels = blocking(move || chat.labels(&caller.user)).await?;
    Ok(HttpResponse::Ok().json(Items::new(labels.iter().map(LabelView::from).collect())))
}

/// Defines a label (admin).
#[utoipa::path(post, path = "/api/v1/labels", tag = "labels", request_body = NewLabelRequest,
    responses((status = 201, body = LabelView), (status = 403, body = ErrorBody, description = "not an admin"),
        (status = 409, body = ErrorBody, description = "`label_taken`: a label has this name (ignoring the case of ASCII letters)"),
        (status = 422, body = ErrorBody, description = "`invalid`: the name or colour breaks its rule")),
    security(("bearer" = [])))]
pub async fn add_label(
    chat: web::Data<Chat>,
    caller: Authenticated,
    body: web::Json<NewLabelRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let req = body.into_inner();
    let label = blocking(move || chat.create_label(&caller.user, &req.name, &req.color)).await?;
    Ok(HttpResponse::Created().json(LabelView::from(&label)))
}

/// Puts a label on a thread (agents and admins; no claim needed). Putting it on again changes
/// nothing. A change is told to staff as `thread.labels`.
#[utoipa::path(post, path = "/api/v1/threads/{id}/labels", tag = "labels",
    params(("id" = i64, Path, description = "thread id")), request_body = ThreadLabelRequest,
    responses((status = 200, body = ThreadLabelsView, description = "the thread's labels now"),
        (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody, description = "no such thread or label")),
    security(("bearer" = [])))]
pub async fn add_thread_label(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    body: web::Json<ThreadLabelRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let thread = ThreadId(id.into_inner());
    let label = LabelId(body.label_id);
    let labels = blocking(move || chat.add_thread_label(&caller.user, thread, label)).await?;
    Ok(HttpResponse::Ok().json(ThreadLabelsView {
        thread_id: thread,
        labels: labels.iter().map(LabelView::from).collect(),
    }))
}

/// Takes a label off a thread (agents and admins). Told to staff as `thread.labels`.
#[utoipa::path(delete, path = "/api/v1/threads/{id}/labels/{label_id}", tag = "labels",
    params(("id" = i64, Path, description = "thread id"), ("label_id" = i64, Path, description = "label id")),
    responses((status = 200, body = ThreadLabelsView, description = "the thread's labels now"),
        (status = 403, body = ErrorBody, description = "not staff"),
        (status = 404, body = ErrorBody, description = "no such thread, or the thread does not carry the label")),
    security(("bearer" = [])))]
pub async fn remove_thread_label(
    chat: web::Data<Chat>,
    caller: Authenticated,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let (thread, label) = path.into_inner();
    let (thread, label) = (ThreadId(thread), LabelId(label));
    let labels = blocking(move || chat.remove_thread_label(&caller.user, thread, label)).await?;
    Ok(HttpResponse::Ok().json(ThreadLabelsView {
        thread_id: thread,
        labels: labels.iter().map(LabelView::from).collect(),
    }))
}
