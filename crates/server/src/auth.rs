//! Who is calling: a bearer token (no bcrypt: the session store knows it), or on the seed's
//! endpoints the seed's `username` + `password` fields (one bcrypt check per request, as the seed).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chat_domain::ports::LoginThrottle;
use chat_domain::throttle::ThrottleKey;
use chat_domain::user::User;
use chat_domain::{Chat, DomainError};

use crate::error::{blocking, blocking_api, ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::settings::Settings;

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

/// The user behind a bearer token: from the session cache on the async worker when it knows
/// the token, else read off the workers.
pub async fn user_from_token(chat: Chat, token: String) -> ApiResult<User> {
    if let Some(user) = chat.authenticate_token_cached(&token) {
        return Ok(user);
    }
    blocking(move || chat.authenticate_token(&token)).await
}

/// The log-in throttle, as registered on the app.
pub fn throttle_of(req: &HttpRequest) -> ApiResult<Arc<dyn LoginThrottle>> {
    req.app_data::<web::Data<dyn LoginThrottle>>()
        .map(|data| data.clone().into_inner())
        .ok_or(ApiError::Internal)
}

/// The client's address: the peer, or behind a trusted proxy (`server.trust_forwarded_for`)
/// the last `X-Forwarded-For` entry (the one that proxy appended).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let trust_forwarded = req
        .app_data::<web::Data<Settings>>()
        .is_some_and(|s| s.server.trust_forwarded_for);
    if trust_forwarded {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .last();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.peer_addr().map(|a| a.ip())
}

/// A password check guarded by the log-in throttle: refused with 429 while the username or the
/// client's address is locked (before any bcrypt work, so nothing tells whether the user
/// exists); a failure counts against both, a success forgets the username's failures. A
/// password sent with every request ([`PasswordGate::repeating`]) that passed the check skips it
/// while no failure is heard of under its keys.
#[derive(Clone)]
pub struct PasswordGate {
    chat: Chat,
    throttle: Arc<dyn LoginThrottle>,
    ip: Option<IpAddr>,
    metrics: Option<Metrics>,
    /// The password of a request that sends it every time (the seed's endpoints): remembered
    /// and cleared under the same keys, it skips the throttle's check.
    repeated: Option<String>,
}

impl PasswordGate {
    /// The gate for this request.
    pub fn of(req: &HttpRequest) -> ApiResult<Self> {
        Ok(PasswordGate {
            chat: chat_of(req)?,
            throttle: throttle_of(req)?,
            ip: client_ip(req),
            metrics: req
                .app_data::<web::Data<Metrics>>()
                .map(|metrics| metrics.get_ref().clone()),
            repeated: None,
        })
    }

    /// For a client that sends `password` with every request: once it passed the throttle's
    /// check under this request's keys, its next requests under them skip the check while no
    /// failure is heard of ([`Chat::password_exempt_from_throttle`]); a lock-out needs
    /// failures, so it is answered as before.
    pub fn repeating(mut self, password: &str) -> Self {
        self.repeated = Some(password.to_owned());
        self
    }

    /// Runs `check` (a use case that verifies `username`'s password) under the throttle.
    pub async fn run<T, F>(self, username: &str, check: F) -> ApiResult<T>
    where
        F: FnOnce(&Chat) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let mut keys = vec![ThrottleKey::username(username, self.ip)];
        keys.extend(self.ip.map(ThrottleKey::Ip));
        let username = username.to_owned();
        blocking_api(move || {
            let now = self.chat.now();
            let fingerprints: Vec<String> = keys.iter().map(ThrottleKey::fingerprint).collect();
            let exempt = self.repeated.as_deref().is_some_and(|password| {
                self.chat
                    .password_exempt_from_throttle(&username, password, &fingerprints)
            });
            let ticket = self.chat.throttle_ticket();
            if !exempt {
                self.throttle.check(&keys, now).map_err(|locked| {
                    count_failure(self.metrics.as_ref(), "locked_out");
                    ApiError::TooManyAttempts {
                        retry_after_seconds: locked.retry_after_seconds,
                    }
                })?;
            }
            match check(&self.chat) {
                Ok(value) => {
                    if !exempt {
                        self.throttle.record_success(&keys, now);
                        if self.repeated.is_some() {
                            self.chat
                                .password_passed_throttle(ticket, &username, &fingerprints);
                        }
                    }
                    Ok(value)
                }
                Err(DomainError::Unauthenticated) => {
                    self.throttle.record_failure(&keys, now);
                    self.chat.password_failed(fingerprints);
                    count_failure(self.metrics.as_ref(), "bad_credentials");
                    Err(DomainError::Unauthenticated.into())
                }
                Err(other) => Err(other.into()),
            }
        })
        .await
    }
}

/// Counts a refused password check (`chat_login_failures_total`).
fn count_failure(metrics: Option<&Metrics>, reason: &'static str) {
    if let Some(metrics) = metrics {
        metrics.login_failure(reason);
    }
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
