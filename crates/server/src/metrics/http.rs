//! The HTTP edge of the metrics: the middleware timing every request, and `GET /metrics`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest, HttpResponse};
use chat_domain::DomainError;

use super::{Metrics, CONTENT_TYPE};
use crate::auth::bearer_token;
use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;

/// The route label of a request no route matched (so unknown paths add no series).
pub const UNMATCHED: &str = "unmatched";

/// Registers `GET /metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").get(scrape));
}

/// The middleware (`App::wrap(from_fn(observe))`, outside the others so that it sees the
/// final status): one observation of `chat_http_request_duration_seconds` per request,
/// labelled with the matched route pattern (`/api/v1/threads/{id}`, never the raw path).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let route = req.match_pattern();
    let res = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &res {
            Ok(res) => res.status(),
            Err(err) => err.as_response_error().status_code(),
        };
        let route = route.as_deref().unwrap_or(UNMATCHED);
        metrics.http_request(method, route, status.as_u16(), started.elapsed());
    }
    res
}

/// The method label: the standard methods by name, any other as `other`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The server's metrics in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses(
        (status = 200, description = "every series in the Prometheus text format (version 0.0.4)",
            content_type = "text/plain", body = String),
        (status = 401, body = crate::views::ErrorBody,
            description = "`metrics.token` is set and the request does not bring it as `Authorization: Bearer <token>`")),
    security((), ("metrics_token" = [])))]
pub async fn scrape(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    settings: web::Data<Settings>,
) -> ApiResult<HttpResponse> {
    let wanted = settings.metrics.token.expose();
    if !wanted.is_empty() {
        let given = bearer_token(&req).unwrap_or_default();
        if !same_secret(given.as_bytes(), wanted.as_bytes()) {
            return Err(ApiError::Domain(DomainError::Unauthenticated));
        }
    }
    let text = metrics.render().map_err(|err| {
        tracing::error!(error = %err, "metrics not rendered");
        ApiError::Internal
    })?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

/// Compares without stopping at the first difference (the length is not secret).
fn same_secret(given: &[u8], wanted: &[u8]) -> bool {
    given.len() == wanted.len()
        && given
            .iter()
            .zip(wanted)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cres", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }

    #[test]
    fn every_series_registers() {
        let metrics = Metrics::new();
        assert!(metrics.is_ok(), "{:?}", metrics.err());
    }
}
