//! `GET /healthz`: the server answers, and which store and bus it runs on.

use actix_web::{web, HttpResponse};
use chat_domain::Chat;
use serde_json::json;

/// Registers `/healthz`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz));
}

async fn healthz(chat: web::Data<Chat>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "store": chat.store().backend_name(),
        "bus": chat.bus().backend_name(),
    }))
}
