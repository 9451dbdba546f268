//! Tunables of the live sockets, and the per-instance state the handlers share.

use std::time::Duration;

use serde::Deserialize;

use crate::metrics::Metrics;

use super::registry::SocketRegistry;

/// Socket limits and timers (config section `ws`, env `CHAT__WS__...`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WsSettings {
    /// How often the server pings each socket, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A socket that sent nothing (not even a pong) for this long is closed, in milliseconds.
    pub client_timeout_ms: u64,
    /// How long a socket opened without credentials has to send its `auth` frame.
    pub auth_timeout_ms: u64,
    /// Largest accepted frame (and continuation-assembled message), in bytes.
    pub max_frame_bytes: usize,
    /// Most sockets one user may have open on one instance.
    pub max_sockets_per_user: usize,
    /// A write to a socket that does not complete within this long closes it (slow consumer).
    pub send_timeout_ms: u64,
    /// Least time between two activity-driven renewals of the holder's claim.
    pub claim_renew_interval_ms: u64,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            heartbeat_interval_ms: 30_000,
            client_timeout_ms: 45_000,
            auth_timeout_ms: 10_000,
            max_frame_bytes: 64 * 1024,
            max_sockets_per_user: 8,
            send_timeout_ms: 10_000,
            claim_renew_interval_ms: 30_000,
        }
    }
}

impl WsSettings {
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms.max(10))
    }
    pub(crate) fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms.max(10))
    }
    pub(crate) fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms.max(10))
    }
    pub(crate) fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms.max(10))
    }
    pub(crate) fn claim_renew_interval(&self) -> Duration {
        Duration::from_millis(self.claim_renew_interval_ms)
    }
    pub(crate) fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes.max(1024)
    }
}

/// What the socket handlers of one instance share: settings, the open-socket counts and the
/// metrics. Create one per process and register it with `App::app_data(web::Data::new(..))`.
#[derive(Debug, Clone)]
pub struct WsState {
    /// The settings.
    pub settings: WsSettings,
    /// Open sockets per user.
    pub sockets: SocketRegistry,
    /// Where sockets count themselves and their frames.
    pub metrics: Metrics,
}

impl WsState {
    /// State with these settings and no socket open.
    pub fn new(settings: WsSettings, metrics: Metrics) -> Self {
        WsState {
            settings,
            sockets: SocketRegistry::default(),
            metrics,
        }
    }
}
