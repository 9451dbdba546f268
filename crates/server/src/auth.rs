//! Who is calling: a bearer token (no bcrypt: the session store knows it), or on the seed's
//! endpoints the seed's `username` + `password` fields (one bcrypt check per request, as the seed).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chat_domain::user::User;
use chat_domain::{Chat, DomainError};

use crate::error::{blocking, ApiError, ApiResult};

/// The bearer token of the request, if it carries an `Authorization: Bearer` header.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The chat use cases, as registered on the app.
pub fn chat_of(req: &HttpRequest) -> ApiResult<Chat> {
    req.app_data::<web::Data<Chat>>()
        .map(|data| data.get_ref().clone())
        .ok_or(ApiError::Internal)
}

/// The user behind a bearer token.
pub async fn user_from_token(chat: Chat, token: String) -> ApiResult<User> {
    blocking(move || chat.authenticate_token(&token)).await
}

/// The user behind a username and password (one bcrypt verification, known or not).
pub async fn user_from_password(chat: Chat, username: String, password: String) -> ApiResult<User> {
    blocking(move || chat.authenticate_password(&username, &password)).await
}

/// An authenticated caller, from the `Authorization: Bearer` header. Refuses with 401.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub user: User,
    /// The token it presented (to end the session on log-out).
    pub token: String,
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let chat = chat_of(req);
        Box::pin(async move {
            let token = token.ok_or(ApiError::Domain(DomainError::Unauthenticated))?;
            let user = user_from_token(chat?, token.clone()).await?;
            Ok(Authenticated { user, token })
        })
    }
}

/// A caller that may or may not be authenticated (sign-up: anyone for clients, admins for staff).
/// A header that is present but invalid still refuses with 401.
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated(pub Option<User>);

impl FromRequest for MaybeAuthenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let chat = chat_of(req);
        Box::pin(async move {
            match token {
                None => Ok(MaybeAuthenticated(None)),
                Some(token) => Ok(MaybeAuthenticated(Some(
                    user_from_token(chat?, token).await?,
                ))),
            }
        })
    }
}
