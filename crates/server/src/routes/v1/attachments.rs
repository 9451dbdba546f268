//! Attachments: uploading a file to a thread, downloading it, authorised like the thread.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{web, HttpRequest, HttpResponse};
use chat_domain::attachment::FileType;
use chat_domain::{Chat, ThreadId};
use futures_util::TryStreamExt;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::error::{blocking, ApiError, ApiResult};
use crate::views::{AttachmentView, ErrorBody};

/// The upload form: one field `file`, nothing else.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file: png, jpeg, gif, webp, pdf or plain text (by content), at most
    /// `attachments.max_bytes` (10 MiB by default).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Room for the multipart framing around the file when checking `Content-Length` up front.
const FRAMING_ALLOWANCE: u64 = 16 * 1024;

fn too_large(limit: u64) -> ApiError {
    ApiError::PayloadTooLarge {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    }
}

fn bad_multipart(err: MultipartError) -> ApiError {
    ApiError::bad_request(
        "bad_body",
        format!("expected a multipart/form-data body with a field `file`: {err}"),
    )
}

/// Reads the field `file` (name and bytes), stopping with 413 as soon as the bytes pass
/// `limit`; any other field is 400 `bad_body`.
async fn read_file(mut form: Multipart, limit: u64) -> ApiResult<(Option<String>, Vec<u8>)> {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut total: u64 = 0;
    while let Some(mut field) = form.try_next().await.map_err(bad_multipart)? {
        let is_file = field.name() == Some("file");
        if !is_file {
            return Err(ApiError::bad_request(
                "bad_body",
                "the form has one field, `file`",
            ));
        }
        if file.is_some() {
            return Err(ApiError::bad_request("bad_body", "one file per upload"));
        }
        let name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(bad_multipart)? {
            total += chunk.len() as u64;
            if total > limit {
                return Err(too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some((name, bytes));
    }
    file.ok_or_else(|| ApiError::missing_field("file"))
}

/// Uploads a file to a thread: its client or staff (a client never to another's thread). The
/// type is read from the content (magic bytes), never from the name or the declared type: a
/// file of another type (HTML, SVG, an executable...) is refused with 422 and nothing is
/// stored; past `attachments.max_bytes` the upload stops with 413 and nothing is stored. The
/// file belongs to no message until its uploader names it in `attachment_ids` of a message in
/// this thread.
#[utoipa::path(post, path = "/api/v1/threads/{id}/attachments", tag = "threads",
    params(("id" = i64, Path, description = "thread id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentView),
        (status = 403, body = ErrorBody, description = "another client's thread"),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody, description = "larger than `attachments.max_bytes`: nothing is stored"),
        (status = 422, body = ErrorBody, description = "`invalid` (`file`): empty, or the content is not of an accepted type; nothing is stored")),
    security(("bearer" = [])))]
pub async fn upload(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let id = ThreadId(id.into_inner());
    let limit = chat.attachment_policy().max_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Refused before a byte of the body is read: another client's thread, or a body that
    // says it is too large.
    let (user, check) = (caller.user.clone(), chat.get_ref().clone());
    blocking(move || check.viewable_thread(&user, id)).await?;
    if declared.is_some_and(|n| n > limit.saturating_add(FRAMING_ALLOWANCE)) {
        return Err(too_large(limit));
    }
    let (name, bytes) = read_file(form, limit).await?;
    let chat = chat.get_ref().clone();
    let attachment =
        blocking(move || chat.upload_attachment(&caller.user, id, name.as_deref(), bytes)).await?;
    Ok(HttpResponse::Created().json(AttachmentView::from(&attachment)))
}

/// The `Content-Disposition` of a download: `inline` for raster images only, `attachment`
/// otherwise; the name as ASCII (others replaced) and in full as UTF-8 (RFC 6266).
fn disposition(file_type: FileType, name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ContentDisposition {
        disposition: if file_type.is_inline_image() {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: name.as_bytes().to_vec(),
            }),
        ],
    }
}

/// Downloads a file, for whoever may read its thread (its client, or staff): another client
/// gets 403, an unknown id 404. Served with its checked type, `Content-Disposition`
/// (`attachment`, `inline` for raster images only), `X-Content-Type-Options: nosniff` and
/// `Content-Security-Policy: default-src 'none'; sandbox`, so nothing in it ever runs.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "threads",
    params(("id" = String, Path, description = "attachment id")),
    responses((status = 200, description = "the file, with the type recognised at upload",
            content((String = "image/png"), (String = "image/jpeg"), (String = "image/gif"),
                (String = "image/webp"), (String = "application/pdf"), (String = "text/plain")),
            headers(("Content-Disposition" = String, description = "attachment (inline for raster images), with the file's name"),
                ("X-Content-Type-Options" = String, description = "nosniff"))),
        (status = 403, body = ErrorBody, description = "another client's file"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = id.into_inner();
    let (attachment, bytes) = blocking(move || chat.download_attachment(&caller.user, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type(attachment.file_type.mime())
        .insert_header(disposition(attachment.file_type, attachment.name.as_str()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}
