//! The JSON API under `/api/v1` (see docs/API.md and the OpenAPI document it serves). One
//! module per domain service module (`chat_domain::service::*`) it calls.

pub mod accounts;
pub mod agent_tools;
pub mod claims;
pub mod conversations;
pub mod queue;

use actix_web::web;

/// Registers every `/api/v1` route. Each path is one `web::resource` holding all its methods,
/// so another method answers 405 with `Allow` (see `error::method_not_allowed`), not 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/openapi.json").get(crate::openapi::document))
            .service(web::resource("/users").post(accounts::sign_up))
            .service(web::resource("/users/me").get(accounts::me))
            .service(
                web::resource("/users/{id}")
                    .get(accounts::user)
                    .delete(accounts::delete_user),
            )
            .service(web::resource("/sessions").post(accounts::log_in))
            .service(web::resource("/sessions/current").delete(accounts::log_out))
            .service(
                web::resource("/threads")
                    .get(conversations::list_threads)
                    .post(conversations::create_thread),
            )
            .service(web::resource("/threads/{id}").get(conversations::get_thread))
            .service(
                web::resource("/threads/{id}/messages")
                    .get(conversations::list_messages)
                    .post(conversations::post_message),
            )
            .service(web::resource("/threads/{id}/read").post(conversations::mark_read))
            .service(web::resource("/threads/{id}/status").put(claims::set_status))
            .service(
                web::resource("/threads/{id}/claim")
                    .post(claims::claim)
                    .delete(claims::release),
            )
            .service(web::resource("/threads/{id}/claim/renew").post(claims::renew))
            .service(web::resource("/threads/{id}/takeover").post(claims::take_over))
            .service(web::resource("/conversations").get(conversations::conversation))
            .service(web::resource("/queue").get(queue::queue))
            .service(
                web::resource("/canned-replies")
                    .get(agent_tools::list_canned)
                    .post(agent_tools::add_canned),
            )
            .service(web::resource("/canned-replies/{id}").delete(agent_tools::delete_canned))
            .service(web::resource("/canned-replies/{id}/render").get(agent_tools::render_canned))
            .service(web::resource("/search").get(agent_tools::search))
            .service(web::resource("/clients").get(agent_tools::search_clients))
            .service(web::resource("/clients/{id}/context").get(agent_tools::client_context)),
    );
}
