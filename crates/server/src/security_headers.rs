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

/// The Content-Security-Policy of HTML pages (`img-src blob:`: attachments are fetched with
/// the token and shown from object URLs). `connect-src 'self'` covers same-origin `ws:`/`wss:`
/// sockets (CSP level 3), so pages may talk to this server only.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
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

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    async fn page() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("<!doctype html><title>x</title>")
    }

    async fn asset() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/javascript")
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body("1")
    }

    #[actix_web::test]
    async fn pages_get_the_strict_policy_and_assets_keep_their_caching() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(security_headers))
                .route("/", web::get().to(page))
                .route("/static/app.js", web::get().to(asset)),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        let h = res.headers();
        assert_eq!(h.get(header::CONTENT_SECURITY_POLICY).unwrap(), PAGE_CSP);
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
        assert!(h.get(header::CACHE_CONTROL).is_none());
        assert!(PAGE_CSP.contains("connect-src 'self';"));
        assert!(PAGE_CSP.contains("script-src 'self';"));
        assert!(!PAGE_CSP.contains("unsafe-inline"));

        let req = test::TestRequest::get().uri("/static/app.js").to_request();
        let res = test::call_service(&app, req).await;
        let h = res.headers();
        assert_eq!(
            h.get(header::CONTENT_SECURITY_POLICY).unwrap(),
            NON_PAGE_CSP
        );
        assert_eq!(
            h.get(header::CACHE_CONTROL).unwrap(),
            "public, max-age=3600"
        );
    }
}
