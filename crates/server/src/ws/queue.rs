//! The agents' queue socket: every thread's live events for staff, with a `resync` frame when
//! some were lost (the client then reloads the queue over REST).

use chat_domain::event::{Delivery, Topic};
use chat_domain::user::User;
use chat_domain::Chat;
use futures_util::StreamExt;

use super::admission::close_code;
use super::connection::{Connection, Incoming, Stop};
use super::frames::{event_text, ClientFrame, ServerFrame};
use super::settings::WsSettings;

/// Runs a queue socket until either side ends it.
pub async fn run(chat: Chat, settings: WsSettings, user: User, mut conn: Connection) {
    let stop = serve(&chat, &settings, &user, &mut conn).await;
    tracing::debug!(user = %user.id, ?stop, "queue socket ended");
    conn.close(stop).await;
}

async fn serve(chat: &Chat, settings: &WsSettings, user: &User, conn: &mut Connection) -> Stop {
    let mut events = match chat.bus().subscribe(&[Topic::Queue, Topic::User(user.id)]) {
        Ok(events) => events,
        Err(err) => {
            tracing::warn!(error = %err, "queue socket: bus unavailable");
            return Stop::close(close_code::SERVER_ERROR, "service unavailable");
        }
    };
    if let Err(stop) = conn.send(&ServerFrame::ready_in_queue(user)).await {
        return stop;
    }
    let mut heartbeat = tokio::time::interval(settings.heartbeat_interval());
    heartbeat.tick().await;
    let shutdown = conn.shutdown();
    let going_away = shutdown.wait();
    tokio::pin!(going_away);
    loop {
        let step = tokio::select! {
            // Whatever step is under way finishes first; then the socket closes.
            () = &mut going_away => Err(Stop::going_away()),
            incoming = conn.recv() => match incoming {
                Ok(Incoming::Frame(ClientFrame::Ping)) => conn.send(&ServerFrame::Pong).await,
                Ok(Incoming::Frame(ClientFrame::Auth { .. })) => conn.send(&ServerFrame::error(
                    "already_authenticated", "this socket is authenticated already")).await,
                Ok(Incoming::Frame(_)) => conn.send(&ServerFrame::error(
                    "unsupported", "the queue socket only accepts ping; act on threads over REST or their sockets")).await,
                Ok(Incoming::Bad(err)) => conn.send(&ServerFrame::error(err.code, err.message)).await,
                Ok(Incoming::Handled) => Ok(()),
                Err(stop) => Err(stop),
            },
            delivery = events.next() => match delivery {
                Some(Delivery::Event(event)) => conn.send_text(event_text(&event)).await,
                Some(Delivery::Gap) => conn.send(&ServerFrame::Resync).await,
                None => Err(Stop::close(close_code::SERVER_ERROR, "event stream ended; reconnect")),
            },
            _ = heartbeat.tick() => {
                if conn.last_heard().elapsed() > settings.client_timeout() {
                    Err(Stop::close(close_code::HEARTBEAT_TIMEOUT, "heartbeat timeout"))
                } else {
                    conn.ping().await
                }
            }
        };
        if let Err(stop) = step {
            return stop;
        }
    }
}
