//! The support chat's server: the JSON API (`/api/v1`), the seed app's endpoints, live chat
//! over WebSocket and the browser pages, over the domain's use cases.

pub mod app;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod router;
pub mod routes;
pub mod security_headers;
pub mod session_watch;
pub mod settings;
pub mod shutdown;
pub mod sla_settings;
pub mod startup;
pub mod telemetry;
pub mod views;
pub mod webhook_worker;
pub mod ws;

pub use app::Application;
pub use settings::Settings;
