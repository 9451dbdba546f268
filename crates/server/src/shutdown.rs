//! Graceful shutdown: one signal that SIGTERM/SIGINT (or [`Application`](crate::Application)'s
//! owner) triggers, which background tasks and long-lived connections (WebSockets) wait on so
//! they end cleanly while the HTTP server drains in-flight requests.

use std::sync::Arc;

use tokio::sync::watch;

/// A shutdown signal shared by the server's tasks (cheap to clone; registered as app data, so
/// handlers take `web::Data<Shutdown>`).
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(false);
        Shutdown {
            sender: Arc::new(sender),
        }
    }

    /// Triggers it (idempotent): every [`Shutdown::wait`] resolves.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether it was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Resolves once triggered (at once if it already was). Use it in a `select!` beside the
    /// task's own work.
    pub async fn wait(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives as long as `self`, so this only ends when triggered.
        let _ = receiver.wait_for(|triggered| *triggered).await;
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn termination_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_when_triggered_even_late() {
        let shutdown = Shutdown::new();
        let waiter = tokio::spawn({
            let s = shutdown.clone();
            async move { s.wait().await }
        });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        waiter.await.unwrap();
        shutdown.wait().await;
        assert!(shutdown.is_triggered());
    }
}
