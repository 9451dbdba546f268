//! The one mapping from failures to HTTP: `{"error": {"code", "message"}}` with the right status.
//! Extractor failures (JSON, form, query, path, payload) come here too, as 400s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chat_domain::DomainError;
use serde_json::{json, Map, Value};

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
    /// No route answers this path and method.
    #[error("no route for {0}")]
    NoRoute(String),
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

    fn code(&self) -> &'static str {
        match self {
            ApiError::Domain(e) => match e {
                DomainError::NotFound(_) => "not_found",
                DomainError::Unauthenticated => "unauthenticated",
                DomainError::Forbidden(_) => "forbidden",
                DomainError::Invalid { .. } => "invalid",
                DomainError::Conflict(_) => "conflict",
                DomainError::Claimed { .. } => "claimed",
                DomainError::Unavailable(_) => "unavailable",
            },
            ApiError::BadRequest { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::NoRoute(_) => "route_not_found",
            ApiError::Internal => "internal",
        }
    }

    fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        let message = match self {
            // Store failures may carry connection strings or SQL: the log gets them, not the client.
            ApiError::Domain(DomainError::Unavailable(_)) => {
                "the service is temporarily unavailable".to_owned()
            }
            other => other.to_string(),
        };
        error.insert("message".into(), json!(message));
        match self {
            ApiError::Domain(DomainError::Claimed {
                thread,
                holder,
                until,
            }) => {
                error.insert("thread_id".into(), json!(thread));
                error.insert("holder_id".into(), json!(holder));
                error.insert("until".into(), json!(until));
            }
            ApiError::Domain(DomainError::Invalid { field, .. }) => {
                error.insert("field".into(), json!(field));
            }
            ApiError::TooManyAttempts {
                retry_after_seconds,
            } => {
                error.insert("retry_after_seconds".into(), json!(retry_after_seconds));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Domain(e) => match e {
                DomainError::NotFound(_) => StatusCode::NOT_FOUND,
                DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
                DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
                DomainError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                DomainError::Conflict(_) | DomainError::Claimed { .. } => StatusCode::CONFLICT,
                DomainError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Domain(DomainError::Unavailable(cause)) = self {
            tracing::error!(%cause, "store or bus unavailable");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Domain(DomainError::Unauthenticated)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::TooManyAttempts {
            retry_after_seconds,
        } = self
        {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_seconds.to_string(),
            ));
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

/// The answer for a path and method no route serves, in the API's error shape.
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
        let body = err.body();
        assert_eq!(body["error"]["code"], "claimed");
        assert_eq!(body["error"]["holder_id"], 7);
        assert_eq!(body["error"]["until"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn store_failures_do_not_leak_details() {
        let err = ApiError::from(DomainError::Unavailable("password=hunter2".into()));
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.body().to_string().contains("hunter2"));
    }
}
