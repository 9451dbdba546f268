//! Security headers on every response, and `Cache-Control: no-store` on the API's.
//!
//! Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//! `X-Frame-Options: DENY`. HTML pages get a strict Content-Security-Policy ([`PAGE_CSP`]: scripts
//! and styles from files under our origin only, no inline script, sockets to our host); every
//! other response gets [`NON_PAGE_CSP`], which lets nothing load or frame it. JSON answers and
//! everything under `/api/` get `Cache-Control: no-store` (they carry personal data and tokens).
//! A header a handler set itself is kept.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

/// The Content-Security-Policy of HTML pages.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of everything that is not a page (JSON, assets, errors).
pub const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The middleware (`App::wrap(from_fn(security_headers))`).
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let api_path = req.path().starts_with("/api/");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let html = content_type.starts_with("text/html");
    let json = content_type.starts_with("application/json");
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, header::REFERRER_POLICY, "no-referrer");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(
        headers,
        header::CONTENT_SECURITY_POLICY,
        if html { PAGE_CSP } else { NON_PAGE_CSP },
    );
    if api_path || json {
        set_default(headers, header::CACHE_CONTROL, "no-store");
    }
    Ok(res)
}

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}
