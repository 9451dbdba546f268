//! The OpenAPI 3 document of `/api/v1`, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::v1::{accounts, agent_tools, claims, conversations, queue};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Support chat API", description = "Clients write in; agents answer one to one."),
    paths(
        accounts::sign_up, accounts::me, accounts::user, accounts::delete_user,
        accounts::log_in, accounts::log_out,
        conversations::create_thread, conversations::list_threads, conversations::get_thread,
        conversations::list_messages, conversations::post_message, conversations::mark_read,
        conversations::conversation,
        claims::claim, claims::renew, claims::release, claims::take_over, claims::set_status,
        queue::queue,
        agent_tools::list_canned, agent_tools::add_canned, agent_tools::delete_canned,
        agent_tools::render_canned, agent_tools::search, agent_tools::search_clients,
        agent_tools::client_context,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// GET /api/v1/openapi.json
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
