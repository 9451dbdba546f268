//! The OpenAPI 3 document of `/api/v1`, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::v1::{accounts, agent, threads};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Support chat API", description = "Clients write in; agents answer one to one."),
    paths(
        accounts::sign_up, accounts::me, accounts::user, accounts::delete_user,
        accounts::log_in, accounts::log_out,
        threads::create_thread, threads::list_threads, threads::get_thread,
        threads::list_messages, threads::post_message, threads::mark_read,
        threads::set_status, threads::conversation,
        agent::claim, agent::renew, agent::release, agent::take_over, agent::queue,
        agent::list_canned, agent::add_canned, agent::delete_canned, agent::render_canned,
        agent::search, agent::search_clients, agent::client_context,
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
