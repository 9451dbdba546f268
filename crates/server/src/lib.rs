//! The support chat's server: HTTP, WebSocket and pages over the domain.

pub mod ws;
