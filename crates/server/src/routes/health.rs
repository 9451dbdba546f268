//! `GET /healthz` (liveness: the process answers, and which store and bus it runs on) and
//! `GET /readyz` (readiness: start-up is done, the store answers a trivial query, and no
//! shutdown is under way).

use actix_web::{web, HttpResponse};
use chat_domain::user::Role;
use chat_domain::Chat;
use serde_json::json;

use crate::error::blocking;
use crate::shutdown::Shutdown;
use crate::startup::Readiness;

/// Registers `/healthz` and `/readyz`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(healthz))
        .service(web::resource("/readyz").get(readyz));
}

async fn healthz(chat: web::Data<Chat>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "store": chat.store().backend_name(),
        "bus": chat.bus().backend_name(),
    }))
}

/// 200 `{"status":"ready","store"}` when the store answers (a cheap count through an existing
/// port call); 503 in the API's error shape when it does not (`store_unavailable`), while
/// start-up still waits for the store or for Redis (`starting`; a later Redis outage does not make
/// an instance unready: it still serves, only live updates between instances wait), or while
/// shutting down (`shutting_down`).
async fn readyz(
    chat: web::Data<Chat>,
    shutdown: web::Data<Shutdown>,
    readiness: web::Data<Readiness>,
) -> HttpResponse {
    let store = chat.store().backend_name();
    if shutdown.is_triggered() {
        return unavailable("shutting_down", "the server is shutting down", store);
    }
    if !readiness.is_ready() {
        return unavailable(
            "starting",
            "the server is starting and cannot reach its store yet",
            store,
        );
    }
    if !chat.bus().has_connected() {
        return unavailable(
            "starting",
            "the server is starting and cannot reach its event bus (Redis) yet",
            store,
        );
    }
    let probe = chat.get_ref().clone();
    match blocking(move || probe.store().count_active_with_role(Role::Admin)).await {
        Ok(_) => HttpResponse::Ok().json(json!({ "status": "ready", "store": store })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness probe: store unavailable");
            unavailable("store_unavailable", "the store does not answer", store)
        }
    }
}

fn unavailable(code: &str, message: &str, store: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable().json(json!({
        "error": { "code": code, "message": message, "store": store }
    }))
}
