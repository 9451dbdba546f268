//! The JSON API under `/api/v1` (described by the OpenAPI document it serves at `/api/v1/openapi.json`). One
//! module per domain service module (`chat_domain::service::*`) it calls.

pub mod accounts;
pub mod agent_tools;
pub mod attachments;
pub mod claims;
pub mod conversations;
pub mod labels;
pub mod queue;
pub mod ratings;
pub mod reports;
pub mod routing;
pub mod webhooks;

use actix_web::web;
use chat_domain::DomainError;

use crate::error::ApiResult;

/// The bounds of a paged list: `limit` defaults to `default` and must be 1 to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// `limit` when absent.
    pub default: u32,
    /// The largest `limit`.
    pub max: u32,
}

/// The largest `offset` (an int32, as the document states).
pub const MAX_OFFSET: u32 = i32::MAX as u32;

impl Page {
    /// The queue: 50 by default, at most 200.
    pub const QUEUE: Page = Page {
        default: 50,
        max: 200,
    };
    /// Staff's lists of conversations: 50 by default, at most 100 (the domain's page).
    pub const INBOX: Page = Page {
        default: 50,
        max: chat_domain::service::MAX_INBOX_PAGE,
    };
    /// A thread's messages: 100 by default, at most 500 (the domain's page).
    pub const MESSAGES: Page = Page {
        default: 100,
        max: 500,
    };
    /// Search hits: 20 by default, at most 100.
    pub const SEARCH: Page = Page {
        default: 20,
        max: 100,
    };
    /// Client look-up: 20 by default, at most 100.
    pub const CLIENTS: Page = Page {
        default: 20,
        max: 100,
    };

    /// The `limit` asked for: the default when absent, else 1 to `max` or 422 `invalid` (field
    /// `limit`), never silently clamped.
    pub fn limit(self, asked: Option<u32>) -> ApiResult<u32> {
        match asked {
            None => Ok(self.default),
            Some(n) if (1..=self.max).contains(&n) => Ok(n),
            Some(_) => {
                Err(DomainError::invalid("limit", format!("must be 1 to {}", self.max)).into())
            }
        }
    }

    /// The `offset` asked for: 0 when absent, else at most [`MAX_OFFSET`] or 422 `invalid`.
    pub fn offset(asked: Option<u32>) -> ApiResult<u32> {
        match asked {
            None => Ok(0),
            Some(n) if n <= MAX_OFFSET => Ok(n),
            Some(_) => {
                Err(DomainError::invalid("offset", format!("must be 0 to {MAX_OFFSET}")).into())
            }
        }
    }
}

/// Registers every `/api/v1` route. Each path is one `web::resource` holding all its methods,
/// so another method answers 405 with `Allow` (see `error::method_not_allowed`), not 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/openapi.json").get(crate::openapi::document))
            .service(web::resource("/users").post(accounts::sign_up))
            .service(web::resource("/users/me").get(accounts::me))
            .service(web::resource("/users/me/availability").put(routing::set_availability))
            .service(
                web::resource("/users/{id}")
                    .get(accounts::user)
                    .patch(routing::set_capacity)
                    .delete(accounts::delete_user),
            )
            .service(web::resource("/agents").get(routing::agents))
            .service(
                web::resource("/routing")
                    .get(routing::get_mode)
                    .put(routing::set_mode),
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
            .service(web::resource("/threads/{id}/notes").post(conversations::post_note))
            .service(web::resource("/threads/{id}/attachments").post(attachments::upload))
            .service(web::resource("/attachments/{id}").get(attachments::download))
            .service(web::resource("/threads/{id}/read").post(conversations::mark_read))
            .service(web::resource("/threads/{id}/rating").post(ratings::rate))
            .service(web::resource("/threads/{id}/labels").post(labels::add_thread_label))
            .service(
                web::resource("/threads/{id}/labels/{label_id}")
                    .delete(labels::remove_thread_label),
            )
            .service(web::resource("/threads/{id}/status").put(claims::set_status))
            .service(
                web::resource("/threads/{id}/claim")
                    .post(claims::claim)
                    .delete(claims::release),
            )
            .service(web::resource("/threads/{id}/claim/renew").post(claims::renew))
            .service(web::resource("/threads/{id}/takeover").post(claims::take_over))
            .service(web::resource("/threads/{id}/transfer").post(routing::transfer))
            .service(web::resource("/conversations").get(conversations::conversation))
            .service(web::resource("/queue").get(queue::queue))
            .service(web::resource("/reports/summary").get(reports::summary))
            .service(web::resource("/reports/agents").get(reports::agents))
            .service(
                web::resource("/canned-replies")
                    .get(agent_tools::list_canned)
                    .post(agent_tools::add_canned),
            )
            .service(web::resource("/canned-replies/{id}").delete(agent_tools::delete_canned))
            .service(web::resource("/canned-replies/{id}/render").get(agent_tools::render_canned))
            .service(
                web::resource("/labels")
                    .get(labels::list_labels)
                    .post(labels::add_label),
            )
            .service(
                web::resource("/webhooks")
                    .get(webhooks::list_webhooks)
                    .post(webhooks::add_webhook),
            )
            .service(
                web::resource("/webhooks/{id}")
                    .patch(webhooks::update_webhook)
                    .delete(webhooks::delete_webhook),
            )
            .service(web::resource("/webhooks/{id}/deliveries").get(webhooks::deliveries))
            .service(web::resource("/webhooks/{id}/replay").post(webhooks::replay))
            .service(web::resource("/search").get(agent_tools::search))
            .service(web::resource("/clients").get(agent_tools::search_clients))
            .service(web::resource("/clients/{id}/context").get(agent_tools::client_context)),
    );
}
