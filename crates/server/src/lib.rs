//! The support chat's server: HTTP API, WebSockets and the browser pages.

pub mod pages;
