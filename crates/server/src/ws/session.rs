//! The one loop every admitted socket runs, thread or queue: join (under the shutdown signal),
//! then client frames, bus deliveries, heartbeat ticks and the shutdown signal, until one side
//! ends it; then the close. What a kind of socket does with its frames and events is its
//! [`Handler`]'s; everything else is here, once.

use std::sync::Arc;

use chat_domain::event::{Delivery, Event};
use chat_domain::ports::EventStream;
use futures_util::StreamExt;

use super::admission::close_code;
use super::connection::{Connection, Incoming, Stop};
use super::frames::{ClientFrame, ServerFrame};
use super::settings::WsSettings;

/// What differs between the kinds of socket. Each method answers `Err(stop)` to end the socket
/// (`stop` says how); the loop then closes it.
pub trait Handler {
    /// The close reason when the bus's event stream ends (the socket closes with 1011).
    const STREAM_ENDED: &'static str;

    /// The kind of socket, as `chat_ws_open_sockets` labels it (`thread`, `queue`).
    const KIND: &'static str;

    /// Subscribes to the bus, says `ready` and sends what comes before live events (a thread
    /// socket's replay). A shutdown meanwhile abandons it.
    async fn join(&mut self, conn: &mut Connection) -> Result<EventStream, Stop>;

    /// What a step left running by [`Handler::on_frame`] ends with.
    type Done;

    /// One frame from the client (never `auth`: the loop answers that itself). A long step (a
    /// thread socket's send being stored) may be left running: see [`Handler::busy`].
    async fn on_frame(&mut self, conn: &mut Connection, frame: ClientFrame) -> Result<(), Stop>;

    /// Whether a frame's step is still running. Meanwhile no client frame is read (so answers
    /// keep the order of the frames), but live events are still handled.
    fn busy(&self) -> bool {
        false
    }

    /// Waits for the running step to end; only called while [`Handler::busy`]. Cancel-safe: the
    /// step runs on by itself, and the next call waits for it again.
    async fn step_done(&mut self) -> Self::Done;

    /// Answers the step that ended.
    async fn on_step_done(&mut self, conn: &mut Connection, done: Self::Done) -> Result<(), Stop>;

    /// One live event from the bus.
    async fn on_event(&mut self, conn: &mut Connection, event: &Arc<Event>) -> Result<(), Stop>;

    /// The bus says live events may have been lost.
    async fn on_gap(&mut self, conn: &mut Connection) -> Result<(), Stop>;

    /// Logs (at debug level) that the socket ended, and why.
    fn log_end(&self, stop: &Stop);
}

/// Serves an admitted socket with `handler` until either side ends it, then closes it.
pub async fn run<H: Handler>(mut handler: H, settings: &WsSettings, mut conn: Connection) {
    let _open = conn.metrics().socket_open(H::KIND);
    let shutdown = conn.shutdown();
    // A long catch-up does not hold a shutdown back: the join is abandoned (the client
    // resumes from the last `seq` it got on another instance).
    let joined = tokio::select! {
        joined = handler.join(&mut conn) => joined,
        () = shutdown.wait() => Err(Stop::going_away()),
    };
    let stop = match joined {
        Ok(mut events) => serve(&mut handler, settings, &mut conn, &mut events).await,
        Err(stop) => stop,
    };
    handler.log_end(&stop);
    conn.close(stop).await;
}

/// The live loop: client frames, bus deliveries and the heartbeat, until one side ends or the
/// server shuts down.
async fn serve<H: Handler>(
    handler: &mut H,
    settings: &WsSettings,
    conn: &mut Connection,
    events: &mut EventStream,
) -> Stop {
    let mut heartbeat = tokio::time::interval(settings.heartbeat_interval());
    heartbeat.tick().await;
    let shutdown = conn.shutdown();
    let going_away = shutdown.wait();
    tokio::pin!(going_away);
    loop {
        let busy = handler.busy();
        let step = tokio::select! {
            () = &mut going_away => Err(Stop::going_away()),
            done = handler.step_done(), if busy => handler.on_step_done(conn, done).await,
            incoming = conn.recv(), if !busy => match incoming {
                Ok(incoming) => on_incoming(handler, conn, incoming).await,
                Err(stop) => Err(stop),
            },
            delivery = events.next() => match delivery {
                Some(Delivery::Event(event)) => handler.on_event(conn, &event).await,
                Some(Delivery::Gap) => handler.on_gap(conn).await,
                None => Err(Stop::close(close_code::SERVER_ERROR, H::STREAM_ENDED)),
            },
            _ = heartbeat.tick() => beat(settings, conn, busy).await,
        };
        if let Err(stop) = step {
            // Whatever step is under way finishes and is answered first; then the socket closes.
            if handler.busy() {
                let done = handler.step_done().await;
                let _ = handler.on_step_done(conn, done).await;
            }
            return stop;
        }
    }
}

/// One read from the client: frames the socket could not understand and a second `auth` are
/// answered here; the others go to the handler.
async fn on_incoming<H: Handler>(
    handler: &mut H,
    conn: &mut Connection,
    incoming: Incoming,
) -> Result<(), Stop> {
    match incoming {
        Incoming::Frame(ClientFrame::Auth { .. }) => {
            conn.send(&ServerFrame::error(
                "already_authenticated",
                "this socket is authenticated already",
            ))
            .await
        }
        Incoming::Frame(frame) => handler.on_frame(conn, frame).await,
        Incoming::Bad(err) => conn.send(&ServerFrame::bad_frame(err)).await,
        Incoming::Handled => Ok(()),
    }
}

/// A heartbeat tick: a client silent for longer than `client_timeout_ms` is closed (1001),
/// others are pinged. While a step runs (`busy`) the client's frames are not read, so its
/// silence is not held against it.
async fn beat(settings: &WsSettings, conn: &mut Connection, busy: bool) -> Result<(), Stop> {
    if !busy && conn.last_heard().elapsed() > settings.client_timeout() {
        Err(Stop::close(
            close_code::HEARTBEAT_TIMEOUT,
            "heartbeat timeout",
        ))
    } else {
        conn.ping().await
    }
}
