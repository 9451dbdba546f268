//! Live chat over WebSocket (`docs/PROTOCOL.md` is the reference):
//!
//! - `GET /ws/threads/{thread_id}`: one thread's conversation, for its client, the agent holding
//!   its claim, or an admin;
//! - `GET /ws/queue`: every thread's live events, for staff.
//!
//! A socket authenticates with a bearer header, `?token=`, or a first `auth` frame; requests that
//! bring credentials are refused with an HTTP error before the upgrade, the others with an
//! `error` frame and a close code after it. Sockets subscribe to the event bus before reading
//! the store, so a resume (`?last_seq=` or a `resume` frame) has no gap and no duplicate.
//!
//! Once admitted, every socket runs the one loop of `session.rs` (frames, events, heartbeat,
//! shutdown, close codes), driving a `Handler` that holds what its kind does:
//! `thread::ThreadSocket` or `queue::QueueSocket`.

mod admission;
mod connection;
mod frames;
mod queue;
mod registry;
mod session;
mod settings;
mod thread;
mod transport;
mod upgrade;

use actix_web::{web, HttpRequest, HttpResponse};
use chat_domain::{Chat, ThreadId};

pub use admission::close_code;
pub use frames::{ClientFrame, ServerFrame};
pub use registry::{SocketPermit, SocketRegistry};
pub use settings::{WsSettings, WsState};
pub use upgrade::upgrades;

use admission::{admit, authenticate, parse_query, request_token, Refusal, Target};
use connection::Connection;
use queue::QueueSocket;
use thread::ThreadSocket;

use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Registers the socket routes. The app must also carry `web::Data<Chat>`,
/// `web::Data<WsState>` (one per process) and `web::Data<Shutdown>` (triggering it closes every
/// socket with 1001).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/threads/{thread_id}").get(thread_socket))
        .service(web::resource("/ws/queue").get(queue_socket));
}

/// `GET /ws/threads/{thread_id}`.
async fn thread_socket(
    req: HttpRequest,
    path: web::Path<String>,
    chat: web::Data<Chat>,
    state: web::Data<WsState>,
    shutdown: web::Data<Shutdown>,
) -> HttpResponse {
    let Ok(thread_id) = path.into_inner().parse::<i64>().map(ThreadId) else {
        return HttpResponse::NotFound().json(serde_json::json!({
            "error": {"code": "not_found", "message": "no such thread"}
        }));
    };
    let chat = chat.get_ref().clone();
    let state = state.get_ref().clone();
    let query = match parse_query(&req) {
        Ok(q) => q,
        Err(refusal) => return refusal.response(),
    };
    let target = Target::Thread(thread_id);
    let admitted = match admit_from_request(&req, &query, &chat, &state, target).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.response(),
    };
    let resume_from = query.last_seq;
    let settings = state.settings.clone();
    let metrics = state.metrics.clone();
    upgrade(
        &req,
        &settings,
        &metrics,
        &shutdown,
        move |conn| async move {
            let Some((conn, user, _permit)) =
                finish_admission(conn, admitted, &chat, &state, target).await
            else {
                return;
            };
            let settings = state.settings.clone();
            let socket = ThreadSocket::new(chat, settings.clone(), user, thread_id, resume_from);
            session::run(socket, &settings, conn).await;
        },
    )
}

/// `GET /ws/queue`.
async fn queue_socket(
    req: HttpRequest,
    chat: web::Data<Chat>,
    state: web::Data<WsState>,
    shutdown: web::Data<Shutdown>,
) -> HttpResponse {
    let chat = chat.get_ref().clone();
    let state = state.get_ref().clone();
    let query = match parse_query(&req) {
        Ok(q) => q,
        Err(refusal) => return refusal.response(),
    };
    let admitted = match admit_from_request(&req, &query, &chat, &state, Target::Queue).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal.response(),
    };
    let settings = state.settings.clone();
    let metrics = state.metrics.clone();
    upgrade(
        &req,
        &settings,
        &metrics,
        &shutdown,
        move |conn| async move {
            let Some((conn, user, _permit)) =
                finish_admission(conn, admitted, &chat, &state, Target::Queue).await
            else {
                return;
            };
            session::run(QueueSocket::new(chat, user), &state.settings, conn).await;
        },
    )
}

type Admitted = Option<(chat_domain::user::User, SocketPermit)>;

/// Authenticates and admits a request that brought credentials; `None` when it brought none
/// (it must then send an `auth` frame).
async fn admit_from_request(
    req: &HttpRequest,
    query: &admission::SocketQuery,
    chat: &Chat,
    state: &WsState,
    target: Target,
) -> Result<Admitted, Refusal> {
    let Some(token) = request_token(req, query)? else {
        return Ok(None);
    };
    let user = authenticate(chat, token).await?;
    let permit = admit(chat, state, &user, target).await?;
    Ok(Some((user, permit)))
}

/// The user of an upgraded socket: admitted already, or by its first `auth` frame.
async fn finish_admission(
    conn: Connection,
    admitted: Admitted,
    chat: &Chat,
    state: &WsState,
    target: Target,
) -> Option<(Connection, chat_domain::user::User, SocketPermit)> {
    if let Some((user, permit)) = admitted {
        return Some((conn, user, permit));
    }
    let (conn, user) = conn
        .authenticate_by_frame(chat, state.settings.auth_timeout())
        .await?;
    match admit(chat, state, &user, target).await {
        Ok(permit) => Some((conn, user, permit)),
        Err(refusal) => {
            conn.refuse(&refusal).await;
            None
        }
    }
}

/// Upgrades the request; `serve` runs on the socket once the `101` is written.
fn upgrade<F, Fut>(
    req: &HttpRequest,
    settings: &WsSettings,
    metrics: &Metrics,
    shutdown: &Shutdown,
    serve: F,
) -> HttpResponse
where
    F: FnOnce(Connection) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let settings = settings.clone();
    let metrics = metrics.clone();
    let shutdown = shutdown.clone();
    upgrade::switching_protocols(req, settings.max_frame_bytes(), move |transport| {
        serve(Connection::new(transport, &settings, metrics, shutdown))
    })
}
