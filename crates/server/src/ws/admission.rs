//! Who may open a socket: credentials from the request (bearer header or `?token=`) or a first
//! `auth` frame, then authorisation for the thread or the queue, then the per-user cap.
//! Refusals reveal nothing about the thread.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chat_domain::user::User;
use chat_domain::{Chat, DomainError, DomainResult, ThreadId};
use serde::Deserialize;

use super::registry::SocketPermit;
use super::settings::WsState;

pub use crate::error::close_code;

/// The query string of a socket request.
#[derive(Debug, Default, Deserialize)]
pub struct SocketQuery {
    /// A bearer token (browsers cannot set headers on a WebSocket).
    #[serde(default)]
    pub token: Option<String>,
    /// Replay every message after this sequence number once joined.
    #[serde(default)]
    pub last_seq: Option<i64>,
}

/// What a socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One thread's conversation.
    Thread(ThreadId),
    /// The agents' queue.
    Queue,
}

/// Why a socket is refused: an HTTP answer before the upgrade, or an error frame and a close
/// code after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status before the upgrade.
    pub status: StatusCode,
    /// The close code after it.
    pub close_code: u16,
    /// Machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, close_code: u16, code: &'static str, message: &str) -> Self {
        Refusal {
            status,
            close_code,
            code,
            message: message.to_owned(),
        }
    }

    /// A failure of ours (store unreachable, or a bug), as the edge mapping answers it.
    fn ours(err: &DomainError) -> Self {
        crate::error::log_domain_error(err, "socket refused");
        let detail = crate::error::ErrorDetail::from_domain(err);
        Refusal {
            status: crate::error::domain_status(err),
            close_code: crate::error::domain_close_code(err),
            code: crate::error::domain_code(err),
            message: detail.message,
        }
    }

    /// No valid credentials.
    pub fn unauthenticated(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            close_code::UNAUTHENTICATED,
            "unauthenticated",
            message,
        )
    }

    /// A malformed request.
    pub fn bad_request(message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            close_code::PROTOCOL_ERROR,
            "bad_request",
            message,
        )
    }

    fn from_domain(err: DomainError, user: &User, target: Target) -> Self {
        match err {
            DomainError::Unauthenticated => Self::unauthenticated("invalid or expired token"),
            DomainError::NotFound(_) if user.role.is_staff() => Self::new(
                StatusCode::NOT_FOUND,
                close_code::NOT_FOUND,
                "not_found",
                "no such thread",
            ),
            DomainError::Unavailable(_) | DomainError::Internal(_) => Self::ours(&err),
            // Forbidden, and NotFound for clients, read the same: nothing about the thread
            // leaks, not even whether it exists.
            _ => Self::new(
                StatusCode::FORBIDDEN,
                close_code::FORBIDDEN,
                "forbidden",
                match target {
                    Target::Thread(_) => {
                        "you may not join this thread (its client, the agent holding its claim, or an admin may)"
                    }
                    Target::Queue => "only agents and admins may watch the queue",
                },
            ),
        }
    }

    /// The JSON error answer before the upgrade (a 503 with `Retry-After`, as the edge mapping
    /// answers it).
    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                crate::error::UNAVAILABLE_RETRY_AFTER_SECONDS.to_string(),
            ));
        }
        response.json(serde_json::json!({
            "error": {"code": self.code, "message": self.message}
        }))
    }
}

/// Parses the query string (unknown parameters are ignored).
pub fn parse_query(req: &HttpRequest) -> Result<SocketQuery, Refusal> {
    serde_urlencoded::from_str::<SocketQuery>(req.query_string())
        .map_err(|e| Refusal::bad_request(&format!("bad query string: {e}")))
}

/// The bearer token of the request: the `Authorization` header, else `?token=`.
pub fn request_token(req: &HttpRequest, query: &SocketQuery) -> Result<Option<String>, Refusal> {
    if let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) {
        let value = header
            .to_str()
            .map_err(|_| Refusal::unauthenticated("unreadable Authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::unauthenticated("expected Authorization: Bearer <token>"))?;
        return Ok(Some(token.to_owned()));
    }
    Ok(query
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned))
}

/// Runs a blocking domain call off the async workers.
pub async fn blocking<T, F>(f: F) -> DomainResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> DomainResult<T> + Send + 'static,
{
    web::block(f).await.map_err(DomainError::internal)?
}

/// The user behind a token.
pub async fn authenticate(chat: &Chat, token: String) -> Result<User, Refusal> {
    if let Some(user) = chat.authenticate_token_cached(&token) {
        return Ok(user);
    }
    let chat = chat.clone();
    match blocking(move || chat.authenticate_token(&token)).await {
        Ok(user) => Ok(user),
        Err(err @ (DomainError::Unavailable(_) | DomainError::Internal(_))) => {
            Err(Refusal::ours(&err))
        }
        Err(_) => Err(Refusal::unauthenticated("invalid or expired token")),
    }
}

/// Checks that `user` may open a socket on `target` and counts the socket.
pub async fn admit(
    chat: &Chat,
    state: &WsState,
    user: &User,
    target: Target,
) -> Result<SocketPermit, Refusal> {
    match target {
        Target::Thread(thread_id) => {
            let chat = chat.clone();
            let actor = user.clone();
            blocking(move || chat.joinable_thread(&actor, thread_id))
                .await
                .map_err(|e| Refusal::from_domain(e, user, target))?;
        }
        Target::Queue => {
            if !user.role.is_staff() {
                return Err(Refusal::from_domain(
                    DomainError::forbidden("staff only"),
                    user,
                    target,
                ));
            }
        }
    }
    state
        .sockets
        .try_open(user.id, state.settings.max_sockets_per_user)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                close_code::TOO_MANY_SOCKETS,
                "too_many_sockets",
                &format!(
                    "at most {} sockets per user; close one first",
                    state.settings.max_sockets_per_user
                ),
            )
        })
}
