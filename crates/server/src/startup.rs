//! Start-up that waits for the store: a server whose Postgres cannot be reached when it starts
//! serves anyway, not ready, and retries with backoff until it can migrate; then it does the
//! start-up work that needs the store (bootstrap admin, urgency re-score) and turns ready.
//!
//! Until then [`Readiness`] is false: `/readyz` answers 503 `starting`, and the [`gate`]
//! answers every request that would reach the store (the API, the seed's endpoints, sockets)
//! with 503 `unavailable` and `Retry-After`, at once. `/healthz`, the pages and static files
//! are served as usual. The store itself is a pending [`SqlStore`] with no pool (so no
//! connection attempts but ours, and nothing can touch a schema not yet migrated).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use chat_domain::{Chat, DomainError};
use chat_sql::SqlStore;

use crate::app::ensure_bootstrap_admin;
use crate::error::{ErrorBody, ErrorDetail};
use crate::settings::Settings;
use crate::shutdown::Shutdown;

/// The first delay between two attempts to reach the store; it doubles up to
/// `database.connect_retry_max_ms`.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Whether start-up has finished: the store is migrated and the start-up work done. Cheap to
/// clone; registered as app data.
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
    retry_after_seconds: u64,
}

impl Readiness {
    /// Start-up already done (the store was opened before the server listened).
    pub fn ready() -> Self {
        Readiness {
            ready: Arc::new(AtomicBool::new(true)),
            retry_after_seconds: 1,
        }
    }

    /// Start-up still waiting for the store; requests are told to retry after
    /// `retry_after_seconds` (at least 1).
    pub fn starting(retry_after_seconds: u64) -> Self {
        Readiness {
            ready: Arc::new(AtomicBool::new(false)),
            retry_after_seconds: retry_after_seconds.max(1),
        }
    }

    /// Whether start-up has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Start-up has finished: the gate opens and `/readyz` probes the store again.
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

/// Paths whose handlers use the store: gated while starting.
fn needs_store(path: &str) -> bool {
    ["/api/", "/ws/", "/chat-app/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// Middleware (`App::wrap(from_fn(gate))`): while start-up waits for the store, a request that
/// would use it is answered 503 `unavailable` with `Retry-After` at once (not after a pool
/// checkout timeout, and never on a schema not yet migrated). Not logged per request: the
/// start-up task logs each attempt.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let waiting = req
        .app_data::<web::Data<Readiness>>()
        .filter(|readiness| !readiness.is_ready() && needs_store(req.path()))
        .map(|readiness| readiness.retry_after_seconds);
    let Some(retry_after_seconds) = waiting else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let answer = HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()))
        .json(ErrorBody {
            error: ErrorDetail::new(
                "unavailable",
                "the service is starting and cannot reach its database yet; try again",
            ),
        });
    let (req, _) = req.into_parts();
    Ok(ServiceResponse::new(req, answer))
}

/// Why a start-up step failed.
#[derive(Debug)]
pub enum StartupError {
    /// The store could not be reached (or went away during the step): try again later.
    Retry(anyhow::Error),
    /// Trying again will not help (e.g. the configured bootstrap admin is invalid).
    Fatal(anyhow::Error),
}

impl From<StartupError> for anyhow::Error {
    fn from(err: StartupError) -> Self {
        match err {
            StartupError::Retry(e) | StartupError::Fatal(e) => e,
        }
    }
}

/// What start-up needs to open a pending Postgres store.
#[derive(Debug, Clone)]
pub struct PendingPostgres {
    /// The store the server runs on, without its pool yet.
    pub store: SqlStore,
    /// `database.url`.
    pub url: String,
    /// `database.pool_size`.
    pub pool_size: u32,
}

/// The start-up work that needs the store: opens a pending Postgres store (migrations under the
/// advisory lock, then the pool), creates the bootstrap admin, re-scores waiting threads.
/// Every part may run again after a failure. Blocking.
pub fn prepare(
    chat: &Chat,
    settings: &Settings,
    pending: Option<&PendingPostgres>,
) -> Result<(), StartupError> {
    if let Some(pg) = pending {
        chat_postgres::open_pending(&pg.store, &pg.url, pg.pool_size)
            .map_err(|e| StartupError::Retry(anyhow::Error::new(e)))?;
    }
    let classify = |e: anyhow::Error| {
        let outage = e
            .chain()
            .any(|cause| matches!(cause.downcast_ref(), Some(DomainError::Unavailable(_))));
        if outage {
            StartupError::Retry(e)
        } else {
            StartupError::Fatal(e)
        }
    };
    ensure_bootstrap_admin(chat, settings).map_err(classify)?;
    let rescored = chat
        .rescore_waiting_threads()
        .map_err(|e| classify(anyhow::Error::new(e).context("re-scoring waiting threads")))?;
    tracing::info!(
        rescored,
        "waiting threads re-scored with the configured urgency rules"
    );
    Ok(())
}

/// Runs [`prepare`] again and again after a first attempt failed: waits
/// [`FIRST_RETRY_DELAY`] before the second attempt, doubling up to `max_delay` (one `warn` per
/// failed attempt, with the next delay); when it succeeds, marks the server ready (one `info`).
/// Returns `Ok(false)` if the shutdown signal came first, and the error of a failure retrying
/// cannot mend.
pub async fn wait_for_store(
    chat: Chat,
    settings: Arc<Settings>,
    pending: Option<PendingPostgres>,
    readiness: Readiness,
    max_delay: Duration,
    shutdown: Shutdown,
) -> anyhow::Result<bool> {
    let max_delay = max_delay.max(FIRST_RETRY_DELAY);
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt: u32 = 1;
    loop {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.wait() => return Ok(false),
        }
        attempt = attempt.saturating_add(1);
        delay = delay.saturating_mul(2).min(max_delay);
        let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let step = {
            let (chat, settings, pending) = (chat.clone(), Arc::clone(&settings), pending.clone());
            tokio::task::spawn_blocking(move || prepare(&chat, &settings, pending.as_ref()))
        };
        let outcome = tokio::select! {
            joined = step => joined,
            // The step under way is left to finish on its own (with nothing listening, a
            // connection attempt fails at once).
            () = shutdown.wait() => return Ok(false),
        };
        match outcome {
            Ok(Ok(())) => {
                readiness.mark_ready();
                tracing::info!(attempts = attempt, "store reached and start-up done: ready");
                return Ok(true);
            }
            Ok(Err(StartupError::Fatal(e))) => return Err(e.context("start-up failed")),
            Ok(Err(StartupError::Retry(e))) => tracing::warn!(
                attempt,
                error = %one_line(&e),
                retry_in_ms,
                "store not reachable yet; not ready, retrying"
            ),
            Err(e) => tracing::warn!(
                attempt,
                error = %e,
                retry_in_ms,
                "start-up task failed; not ready, retrying"
            ),
        }
    }
}

/// An error and its causes on one line, for the per-attempt warning: a cause whose text its
/// wrapper already shows is left out, and libpq's multi-line messages are joined.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_that_use_the_store_are_gated() {
        for path in ["/api/v1/users", "/ws/queue", "/chat-app/user/"] {
            assert!(needs_store(path), "{path}");
        }
        for path in ["/healthz", "/readyz", "/", "/static/app.js"] {
            assert!(!needs_store(path), "{path}");
        }
    }

    #[test]
    fn errors_read_on_one_line_without_repeats() {
        let inner = anyhow::anyhow!("connection refused\n\tIs the server running?");
        let outer = anyhow::anyhow!("cannot connect: connection refused\n\tIs the server running?");
        assert_eq!(
            one_line(&inner.context("opening")),
            "opening: connection refused Is the server running?"
        );
        assert_eq!(
            one_line(&outer),
            "cannot connect: connection refused Is the server running?"
        );
    }

    #[test]
    fn readiness_is_shared_by_clones() {
        let readiness = Readiness::starting(0);
        let clone = readiness.clone();
        assert!(!clone.is_ready());
        readiness.mark_ready();
        assert!(clone.is_ready());
        assert!(Readiness::ready().is_ready());
    }
}
