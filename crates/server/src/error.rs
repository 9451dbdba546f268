//! The one edge mapping: every failure becomes an HTTP answer (status +
//! `{"error": {"code", "message", ...}}`) or a socket `error` frame / close code here, and only
//! here. [`ErrorDetail`] is the one serialised shape: the REST body's `error`, the socket's
//! `error` frame and the OpenAPI document's `ErrorBody` are the same type. Extractor failures
//! (JSON, form, query, path, payload) come here too, as 400s.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chat_domain::{DomainError, ThreadId, Timestamp, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// WebSocket close codes the server uses (RFC 6455's, and 4xxx ones of our own).
pub mod close_code {
    /// The client sent something the protocol forbids (e.g. a broken frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// The client does not keep up with what the server sends.
    pub const SLOW_CONSUMER: u16 = 1008;
    /// A frame exceeded the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The client stopped answering pings.
    pub const HEARTBEAT_TIMEOUT: u16 = 1001;
    /// The server is shutting down: reconnect (another instance will serve) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// The server could not reach its store or bus, or failed itself.
    pub const SERVER_ERROR: u16 = 1011;
    /// No valid credentials (missing, wrong, expired, or no `auth` frame in time).
    pub const UNAUTHENTICATED: u16 = 4401;
    /// Not allowed here (not this thread's client, no claim, not staff), or the claim ended.
    pub const FORBIDDEN: u16 = 4403;
    /// The thread does not exist (told to staff only; clients get FORBIDDEN).
    pub const NOT_FOUND: u16 = 4404;
    /// Too many sockets open for this user on this instance.
    pub const TOO_MANY_SOCKETS: u16 = 4429;
}

/// The error shape of every failed request: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, as REST answers it inside `error` and sockets send it as an `error` frame.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code clients branch on, e.g. `not_found`, `invalid`, `claimed`,
    /// `username_taken`, `thread_resolved`, `not_claim_holder`.
    pub code: String,
    /// Human text.
    pub message: String,
    /// For `invalid`: the input field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `claimed`: the thread at stake.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub thread_id: Option<ThreadId>,
    /// For `claimed`: the agent holding the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub holder_id: Option<UserId>,
    /// For `claimed`: when its lease ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// For socket `error` frames answering a `message.send`: the `client_message_id` the client
    /// gave it, so the client knows which send failed. Never set in REST answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// For `too_many_attempts`: seconds until log-in may be tried again (also `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl ErrorDetail {
    /// A detail with only a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorDetail {
            code: code.to_owned(),
            message: message.into(),
            field: None,
            thread_id: None,
            holder_id: None,
            until: None,
            client_message_id: None,
            retry_after_seconds: None,
        }
    }

    /// How a domain error reads to the caller. Store and bug causes stay in the log
    /// ([`log_domain_error`]): they may carry SQL or connection strings.
    pub fn from_domain(err: &DomainError) -> Self {
        let message = match err {
            DomainError::Unavailable(_) => {
                "the service is temporarily unavailable; try again".into()
            }
            DomainError::Internal(_) => "an internal error occurred".into(),
            DomainError::Conflict(conflict) => conflict.to_string(),
            other => other.to_string(),
        };
        let mut detail = ErrorDetail::new(domain_code(err), message);
        match err {
            DomainError::Invalid { field, .. } => detail.field = Some((*field).to_owned()),
            DomainError::Claimed {
                thread,
                holder,
                until,
            } => {
                detail.thread_id = Some(*thread);
                detail.holder_id = Some(*holder);
                detail.until = Some(*until);
            }
            _ => {}
        }
        detail
    }
}

/// `Retry-After` (seconds) of every 503 `unavailable` answer: the store reopens its connections
/// within a fraction of a second of its database answering again, so one second is enough.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

/// The stable code of a domain error.
pub fn domain_code(err: &DomainError) -> &'static str {
    match err {
        DomainError::NotFound(_) => "not_found",
        DomainError::Unauthenticated => "unauthenticated",
        DomainError::Forbidden(_) => "forbidden",
        DomainError::Invalid { .. } => "invalid",
        DomainError::Conflict(conflict) => conflict.code(),
        DomainError::Claimed { .. } => "claimed",
        DomainError::Unavailable(_) => "unavailable",
        DomainError::Internal(_) => "internal",
    }
}

/// The HTTP status of a domain error. 503 only for a store or bus that cannot be reached; 500
/// for our own bugs (a store refusing what the domain let through).
pub fn domain_status(err: &DomainError) -> StatusCode {
    match err {
        DomainError::NotFound(_) => StatusCode::NOT_FOUND,
        DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::Conflict(_) | DomainError::Claimed { .. } => StatusCode::CONFLICT,
        DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The close code that ends a socket when `err` stops the server from serving it.
pub fn domain_close_code(err: &DomainError) -> u16 {
    match err {
        DomainError::Unavailable(_) | DomainError::Internal(_) => close_code::SERVER_ERROR,
        DomainError::Unauthenticated => close_code::UNAUTHENTICATED,
        DomainError::NotFound(_) => close_code::NOT_FOUND,
        _ => close_code::FORBIDDEN,
    }
}

/// Logs the cause of a failure that is ours, not the caller's: an outage as a warning, a bug as
/// an error. Caller mistakes are not logged.
pub fn log_domain_error(err: &DomainError, context: &'static str) {
    match err {
        DomainError::Unavailable(cause) => {
            tracing::warn!(%cause, context, "store or bus unavailable")
        }
        DomainError::Internal(cause) => tracing::error!(%cause, context, "internal error"),
        _ => {}
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A domain rule said no.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The request could not be read: malformed JSON or form, wrong encoding, a missing field.
    #[error("{message}")]
    BadRequest {
        /// A snake_case code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The body is larger than the server accepts.
    #[error("request body is too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Too many failed log-ins for this username or client address: try again later.
    #[error("too many failed log-in attempts; try again in {retry_after_seconds} seconds")]
    TooManyAttempts {
        /// Seconds until the lockout ends.
        retry_after_seconds: u64,
    },
    /// No route answers this path.
    #[error("no route for {0}")]
    NoRoute(String),
    /// The path is served, but not with this method (the answer carries `Allow`).
    #[error("{method} is not allowed on {path}; allowed: {allowed}")]
    MethodNotAllowed {
        /// The method the request used.
        method: String,
        /// The request's path.
        path: String,
        /// The methods the path answers, as in the `Allow` header.
        allowed: String,
    },
    /// A blocking task could not finish (the pool shut down or it panicked).
    #[error("internal error")]
    Internal,
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 400 for a required input that is absent.
    pub fn missing_field(field: &str) -> Self {
        ApiError::bad_request("missing_field", format!("the field {field:?} is required"))
    }

    /// The error as the body's `error`.
    pub fn detail(&self) -> ErrorDetail {
        match self {
            ApiError::Domain(err) => ErrorDetail::from_domain(err),
            ApiError::BadRequest { code, .. } => ErrorDetail::new(code, self.to_string()),
            ApiError::PayloadTooLarge { .. } => {
                ErrorDetail::new("payload_too_large", self.to_string())
            }
            ApiError::TooManyAttempts {
                retry_after_seconds,
            } => ErrorDetail {
                retry_after_seconds: Some(*retry_after_seconds),
                ..ErrorDetail::new("too_many_attempts", self.to_string())
            },
            ApiError::NoRoute(_) => ErrorDetail::new("route_not_found", self.to_string()),
            ApiError::MethodNotAllowed { .. } => {
                ErrorDetail::new("method_not_allowed", self.to_string())
            }
            ApiError::Internal => ErrorDetail::new("internal", "an internal error occurred"),
        }
    }

    /// The whole body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.detail(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(err) => domain_status(err),
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Domain(err) = self {
            log_domain_error(err, "request");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Domain(DomainError::Unauthenticated)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::MethodNotAllowed { allowed, .. } = self {
            response.insert_header((header::ALLOW, allowed.as_str()));
        }
        if matches!(self, ApiError::Domain(DomainError::Unavailable(_))) {
            response.insert_header((
                header::RETRY_AFTER,
                UNAVAILABLE_RETRY_AFTER_SECONDS.to_string(),
            ));
        }
        if let ApiError::TooManyAttempts {
            retry_after_seconds,
        } = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
        }
        response.json(self.body())
    }
}

/// Runs a synchronous use case off the async workers.
pub async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    match web::block(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(err) => {
            tracing::error!(error = %err, "blocking task failed");
            Err(ApiError::Internal)
        }
    }
}

/// Runs a synchronous step that may fail with any [`ApiError`] off the async workers.
pub async fn blocking_api<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    match web::block(f).await {
        Ok(result) => result,
        Err(err) => {
            tracing::error!(error = %err, "blocking task failed");
            Err(ApiError::Internal)
        }
    }
}

fn payload_error(err: &actix_web::error::PayloadError, limit: usize) -> ApiError {
    use actix_web::error::PayloadError;
    match err {
        PayloadError::Overflow => ApiError::PayloadTooLarge { limit },
        other => ApiError::bad_request("bad_body", format!("cannot read the body: {other}")),
    }
}

/// Extractor settings that answer every failure in the API's error shape, with `limit` bytes
/// the largest body accepted.
pub fn extractor_configs(cfg: &mut web::ServiceConfig, limit: usize) {
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
    cfg.app_data(
        web::JsonConfig::default()
            .limit(limit)
            .content_type_required(false)
            .error_handler(move |err, _req: &HttpRequest| {
                let api = match &err {
                    JsonPayloadError::OverflowKnownLength { .. }
                    | JsonPayloadError::Overflow { .. } => ApiError::PayloadTooLarge { limit },
                    JsonPayloadError::Payload(p) => payload_error(p, limit),
                    other => {
                        ApiError::bad_request("bad_json", format!("malformed JSON body: {other}"))
                    }
                };
                api.into()
            }),
    )
    .app_data(web::FormConfig::default().limit(limit).error_handler(
        move |err, _req: &HttpRequest| {
            let api = match &err {
                UrlencodedError::Overflow { .. } => ApiError::PayloadTooLarge { limit },
                UrlencodedError::Payload(p) => payload_error(p, limit),
                other => ApiError::bad_request("bad_form", format!("malformed form body: {other}")),
            };
            api.into()
        },
    ))
    .app_data(web::QueryConfig::default().error_handler(
        |err: QueryPayloadError, _req: &HttpRequest| {
            ApiError::bad_request("bad_query", format!("invalid query string: {err}")).into()
        },
    ))
    .app_data(
        web::PathConfig::default().error_handler(|err: PathError, _req: &HttpRequest| {
            ApiError::bad_request("bad_path", format!("invalid path parameter: {err}")).into()
        }),
    )
    .app_data(web::PayloadConfig::default().limit(limit));
}

/// Middleware (`App::wrap(from_fn(method_not_allowed))`, innermost): the one place a wrong
/// method is answered. Every path is registered as one `web::resource` with all its methods, so
/// the router answers a method the path does not serve with an empty 405 and the `Allow` header
/// it computed from the resource's routes; this gives that answer the API's error shape
/// (`method_not_allowed`), keeping `Allow`. Unknown paths still reach [`no_route`] (404).
pub async fn method_not_allowed(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return Ok(res.map_into_boxed_body());
    }
    let allowed = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (req, _) = res.into_parts();
    let answer = ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        allowed,
    }
    .error_response();
    Ok(ServiceResponse::new(req, answer))
}

/// The answer for a path no route serves, in the API's error shape.
pub async fn no_route(req: HttpRequest) -> ApiResult<HttpResponse> {
    Err(ApiError::NoRoute(format!(
        "{} {}",
        req.method(),
        req.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{ThreadId, Timestamp, UserId};

    #[test]
    fn claimed_names_the_holder_and_the_lease_end() {
        let err = ApiError::from(DomainError::Claimed {
            thread: ThreadId(3),
            holder: UserId(7),
            until: Timestamp(0),
        });
        assert_eq!(err.status_code(), StatusCode::CONFLICT);
        let body = serde_json::to_value(err.body()).unwrap();
        assert_eq!(body["error"]["code"], "claimed");
        assert_eq!(body["error"]["holder_id"], 7);
        assert_eq!(body["error"]["until"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn store_failures_do_not_leak_details() {
        let err = ApiError::from(DomainError::Unavailable("password=hunter2".into()));
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!format!("{:?}", err.body()).contains("hunter2"));
    }

    #[test]
    fn unavailable_answers_tell_when_to_retry() {
        let err = ApiError::from(DomainError::Unavailable("pool timed out".into()));
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            &UNAVAILABLE_RETRY_AFTER_SECONDS.to_string()
        );
        let internal = ApiError::from(DomainError::Internal("bug".into())).error_response();
        assert!(!internal.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn store_bugs_are_500_internal_without_their_cause() {
        let err = ApiError::from(DomainError::Internal("invalid byte sequence 0x00".into()));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.detail().code, "internal");
        assert!(!err.detail().message.contains("0x00"));
    }

    #[test]
    fn conflicts_carry_a_code_per_reason() {
        let err = ApiError::from(DomainError::Conflict(chat_domain::Conflict::UsernameTaken));
        assert_eq!(err.status_code(), StatusCode::CONFLICT);
        assert_eq!(err.detail().code, "username_taken");
    }
}
