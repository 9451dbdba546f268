//! Users and sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use chat_domain::user::Role;
use chat_domain::{Chat, UserId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Authenticated, MaybeAuthenticated, PasswordGate};
use crate::error::{blocking, ApiResult};
use crate::openapi::schema;
use crate::views::{ErrorBody, SessionView, UserView};

/// A sign-up.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignUpRequest {
    /// 1 to 150 letters, digits and `@.+-_`.
    #[schema(schema_with = schema::username)]
    pub username: String,
    /// 8 to 72 bytes.
    #[schema(schema_with = schema::new_password)]
    pub password: String,
    /// client (default), agent or admin (the last two need an admin's bearer token).
    #[schema(schema_with = schema::role)]
    pub role: Option<String>,
}

/// A log-in.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LogInRequest {
    /// The username.
    #[schema(schema_with = schema::login_username)]
    pub username: String,
    /// The password.
    #[schema(schema_with = schema::login_password)]
    pub password: String,
}

/// Creates a user: anyone as a client; an admin creates agents and admins (a bearer token is
/// optional, but a present one must be valid).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = SignUpRequest,
    responses((status = 201, body = UserView),
        (status = 401, body = ErrorBody, description = "an invalid bearer token, or none for an agent or admin"),
        (status = 403, body = ErrorBody, description = "agents and admins are created by admins"),
        (status = 409, body = ErrorBody, description = "`username_taken`"),
        (status = 422, body = ErrorBody, description = "`invalid`: the username, password or role breaks its rule")),
    security((), ("bearer" = [])))]
pub async fn sign_up(
    chat: web::Data<Chat>,
    caller: MaybeAuthenticated,
    body: web::Json<SignUpRequest>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let SignUpRequest {
        username,
        password,
        role,
    } = body.into_inner();
    let user = blocking(move || {
        let role = match role {
            Some(text) => Role::parse(&text)?,
            None => Role::Client,
        };
        chat.sign_up(caller.0.as_ref(), &username, &password, role)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserView::from(&user)))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users",
    responses((status = 200, body = UserView)),
    security(("bearer" = [])))]
pub async fn me(caller: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(UserView::from(&caller.user))
}

/// A user: oneself, or anyone for staff.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "user id")),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such user, or deleted")),
    security(("bearer" = [])))]
pub async fn user(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = UserId(id.into_inner());
    let user = blocking(move || chat.user(&caller.user, id)).await?;
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}

/// Softly deletes a user (oneself, or anyone for an admin) and ends its sessions.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "user id")),
    responses((status = 204), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such user, or already deleted")),
    security(("bearer" = [])))]
pub async fn delete_user(
    chat: web::Data<Chat>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    let id = UserId(id.into_inner());
    blocking(move || chat.delete_user(&caller.user, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Logs in: one bcrypt check, then a bearer token. Repeated failures for a username or from an
/// address lock it for a while (429 with `Retry-After`), whether or not the user exists.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LogInRequest,
    responses((status = 201, body = SessionView),
        (status = 401, body = ErrorBody, description = "wrong username or password"),
        (status = 422, body = ErrorBody, description = "`invalid`: the username holds a control character"),
        (status = 429, body = ErrorBody, description = "too many failed attempts; \
            `error.retry_after_seconds` and the `Retry-After` header say when to try again",
            headers(("Retry-After" = u64, description = "seconds until log-in may be tried again")))))]
pub async fn log_in(req: HttpRequest, body: web::Json<LogInRequest>) -> ApiResult<HttpResponse> {
    let gate = PasswordGate::of(&req)?;
    let LogInRequest { username, password } = body.into_inner();
    let presented = username.clone();
    let logged_in = gate
        .run(&presented, move |chat| chat.log_in(&username, &password))
        .await?;
    Ok(HttpResponse::Created().json(SessionView::from(&logged_in)))
}

/// Logs out: the token stops working.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions",
    responses((status = 204)),
    security(("bearer" = [])))]
pub async fn log_out(chat: web::Data<Chat>, caller: Authenticated) -> ApiResult<HttpResponse> {
    let chat = chat.get_ref().clone();
    blocking(move || chat.log_out(&caller.user, &caller.token)).await?;
    Ok(HttpResponse::NoContent().finish())
}
