//! Every HTTP route, registered in one place: [`configure`].

pub mod health;
pub mod seed;
pub mod v1;

use actix_web::web;

/// Registers every route module of the server. A new module (the live chat's sockets, the
/// browser pages) adds one line here.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    crate::metrics::http::configure(cfg);
    v1::configure(cfg);
    seed::configure(cfg);
    crate::ws::configure(cfg);
    crate::pages::configure(cfg);
}
