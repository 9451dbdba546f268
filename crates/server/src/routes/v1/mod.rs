//! The JSON API under `/api/v1` (see docs/API.md and the OpenAPI document it serves).

pub mod accounts;
pub mod agent;
pub mod threads;

use actix_web::web;

/// Registers every `/api/v1` route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(crate::openapi::document))
            .route("/users", web::post().to(accounts::sign_up))
            .route("/users/me", web::get().to(accounts::me))
            .service(
                web::resource("/users/{id}")
                    .route(web::get().to(accounts::user))
                    .route(web::delete().to(accounts::delete_user)),
            )
            .route("/sessions", web::post().to(accounts::log_in))
            .route("/sessions/current", web::delete().to(accounts::log_out))
            .service(
                web::resource("/threads")
                    .route(web::get().to(threads::list_threads))
                    .route(web::post().to(threads::create_thread)),
            )
            .route("/threads/{id}", web::get().to(threads::get_thread))
            .service(
                web::resource("/threads/{id}/messages")
                    .route(web::get().to(threads::list_messages))
                    .route(web::post().to(threads::post_message)),
            )
            .route("/threads/{id}/read", web::post().to(threads::mark_read))
            .route("/threads/{id}/status", web::put().to(threads::set_status))
            .service(
                web::resource("/threads/{id}/claim")
                    .route(web::post().to(agent::claim))
                    .route(web::delete().to(agent::release)),
            )
            .route("/threads/{id}/claim/renew", web::post().to(agent::renew))
            .route("/threads/{id}/takeover", web::post().to(agent::take_over))
            .route("/conversations", web::get().to(threads::conversation))
            .route("/queue", web::get().to(agent::queue))
            .service(
                web::resource("/canned-replies")
                    .route(web::get().to(agent::list_canned))
                    .route(web::post().to(agent::add_canned)),
            )
            .route(
                "/canned-replies/{id}",
                web::delete().to(agent::delete_canned),
            )
            .route(
                "/canned-replies/{id}/render",
                web::get().to(agent::render_canned),
            )
            .route("/search", web::get().to(agent::search))
            .route("/clients", web::get().to(agent::search_clients))
            .route(
                "/clients/{id}/context",
                web::get().to(agent::client_context),
            ),
    );
}
