//! One upgraded socket: bounded, timed writes (a slow consumer is dropped, never buffered
//! without bound), reads with heartbeat bookkeeping, the first-frame authentication, and the
//! closing handshake.

use std::time::Duration;

use actix_http::ws::{CloseCode, CloseReason, Message};
use chat_domain::user::User;
use chat_domain::Chat;
use tokio::time::Instant;

use super::admission::{authenticate, close_code, Refusal};
use super::frames::{ClientFrame, FrameError, ServerFrame};
use super::settings::WsSettings;
use super::transport::{ReadError, Received, WsTransport};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Why a socket's loop stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The client went away or closed; nothing more to send.
    Gone,
    /// Close with this code and reason.
    Close(u16, String),
}

impl Stop {
    /// A close with a code and reason.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Stop::Close(code, reason.into())
    }

    /// The close of every socket when the server shuts down (1001, "going away"): browsers
    /// reconnect, reach another instance, and resume.
    pub fn going_away() -> Self {
        Stop::close(close_code::GOING_AWAY, "server shutting down")
    }
}

/// What one read from the socket gave.
#[derive(Debug)]
pub enum Incoming {
    /// A parsed frame.
    Frame(ClientFrame),
    /// A text frame that could not be understood (answer with an error frame).
    Bad(FrameError),
    /// Something handled here (ping, pong, ...): nothing to do.
    Handled,
}

/// An upgraded socket.
pub struct Connection {
    transport: WsTransport,
    send_timeout: Duration,
    /// How long a slow consumer's close frame may wait for room once its socket is dropped.
    close_grace: Duration,
    last_heard: Instant,
    /// Whether the client sent its close frame (the server's close is then the answer, and
    /// there is no reply to wait for).
    client_closed: bool,
    shutdown: Shutdown,
    metrics: Metrics,
}

/// The `type` of a frame we serialised (every frame and event is an object tagged first with
/// its `type`); `other` if it is not there.
fn frame_type(text: &str) -> &str {
    text.strip_prefix(r#"{"type":""#)
        .and_then(|rest| rest.split_once('"'))
        .map_or("other", |(kind, _)| kind)
}

/// How long a server-initiated close waits for the client's answering close frame before the
/// connection ends anyway (capped by the send timeout).
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);

impl Connection {
    /// Wraps an upgraded socket that ends (1001) when `shutdown` is triggered.
    pub fn new(
        transport: WsTransport,
        settings: &WsSettings,
        metrics: Metrics,
        shutdown: Shutdown,
    ) -> Self {
        Connection {
            transport,
            send_timeout: settings.send_timeout(),
            close_grace: settings.client_timeout(),
            last_heard: Instant::now(),
            client_closed: false,
            shutdown,
            metrics,
        }
    }

    /// The server's shutdown signal: every loop serving this socket selects on it and ends
    /// with [`Stop::going_away`].
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Where this socket counts itself and its frames.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Writes a frame; a client that does not take it within the send timeout is a slow
    /// consumer and is dropped.
    async fn write(&mut self, message: Message) -> Result<(), Stop> {
        match tokio::time::timeout(self.send_timeout, self.transport.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_closed)) => Err(Stop::Gone),
            Err(_) => Err(Stop::close(
                close_code::SLOW_CONSUMER,
                "slow consumer: the client does not read its frames",
            )),
        }
    }

    /// Sends a text frame (see [`Connection::write`]). A frame written is counted by its
    /// `type`.
    pub async fn send_text(&mut self, text: String) -> Result<(), Stop> {
        let frame_type = frame_type(&text).to_owned();
        self.write(Message::Text(text.into())).await?;
        self.metrics.frame_sent(&frame_type);
        Ok(())
    }

    /// Sends a protocol frame.
    pub async fn send(&mut self, frame: &ServerFrame) -> Result<(), Stop> {
        self.send_text(frame.to_text()).await
    }

    /// Sends a WebSocket ping.
    pub async fn ping(&mut self) -> Result<(), Stop> {
        self.write(Message::Ping(actix_web::web::Bytes::from_static(b"hb")))
            .await
    }

    /// When the client was last heard from (any frame, pongs included).
    pub fn last_heard(&self) -> Instant {
        self.last_heard
    }

    /// Reads the next frame. `Err` ends the socket: the client closed, or broke the protocol
    /// (an oversized frame closes with 1009 after an `error` frame).
    pub async fn recv(&mut self) -> Result<Incoming, Stop> {
        let Some(item) = self.transport.recv().await else {
            return Err(Stop::Gone);
        };
        self.last_heard = Instant::now();
        match item {
            Ok(Received::Text(text)) => Ok(match ClientFrame::parse(&text) {
                Ok(frame) => Incoming::Frame(frame),
                Err(err) => Incoming::Bad(err),
            }),
            Ok(Received::Binary) => Ok(Incoming::Bad(FrameError::new(
                "invalid_frame",
                "binary frames are not supported; send JSON text",
            ))),
            Ok(Received::Ping(bytes)) => {
                self.write(Message::Pong(bytes)).await?;
                Ok(Incoming::Handled)
            }
            Ok(Received::Pong) => Ok(Incoming::Handled),
            Ok(Received::Close) => {
                self.client_closed = true;
                Err(Stop::close(1000, "bye"))
            }
            Err(ReadError::TooBig) => {
                let _ = self
                    .send(&ServerFrame::error(
                        "too_large",
                        "frame exceeds the size limit",
                    ))
                    .await;
                Err(Stop::close(close_code::TOO_BIG, "frame too large"))
            }
            Err(ReadError::Protocol(err)) => {
                tracing::debug!(error = %err, "socket protocol error");
                Err(Stop::close(close_code::PROTOCOL_ERROR, "protocol error"))
            }
        }
    }

    /// Sends an `error` frame for a refusal and ends the socket with its close code.
    pub async fn refuse(self, refusal: &Refusal) {
        let mut this = self;
        let _ = this
            .send(&ServerFrame::error(refusal.code, refusal.message.clone()))
            .await;
        this.close(Stop::close(refusal.close_code, refusal.code))
            .await;
    }

    /// Ends the socket as `stop` says.
    ///
    /// The server closes the TCP connection once both close frames are exchanged: at once when
    /// the server's close answers the client's, or when the client's answer to the server's
    /// close arrives (within [`CLOSE_REPLY_WAIT`]), so a client sees EOF promptly after a
    /// graceful close (RFC 6455 7.1.1: the server closes first).
    ///
    /// A slow consumer's socket does not take its frames, so its close frame cannot be written
    /// now: the socket's loop ends at once (releasing its subscription and its slot), and a
    /// detached task writes the 1008 close behind the frames already sent, should the client
    /// read them within `client_timeout_ms`. Otherwise the connection just ends.
    pub async fn close(self, stop: Stop) {
        let Stop::Close(code, reason) = stop else {
            return;
        };
        let close = Message::Close(Some(CloseReason {
            code: CloseCode::from(code),
            description: Some(reason),
        }));
        let Connection {
            mut transport,
            send_timeout,
            close_grace,
            client_closed,
            shutdown,
            ..
        } = self;
        if code == close_code::SLOW_CONSUMER {
            // A shutdown does not wait for a slow consumer to read its backlog.
            actix_rt::spawn(async move {
                tokio::select! {
                    _ = tokio::time::timeout(close_grace, transport.send(close)) => {}
                    () = shutdown.wait() => {}
                }
            });
            return;
        }
        let sent = tokio::time::timeout(send_timeout, transport.send(close)).await;
        if matches!(sent, Ok(Ok(()))) && !client_closed {
            let reply = async {
                // Frames the client sent before its close are dropped: the socket is closing.
                while let Some(item) = transport.recv().await {
                    if matches!(item, Ok(Received::Close) | Err(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(CLOSE_REPLY_WAIT.min(send_timeout), reply).await;
        }
        transport.shutdown().await;
    }

    /// Waits for the first frame to be `{"type":"auth","token":..}` and returns its user;
    /// anything else, bad credentials, or silence beyond `timeout` refuse the socket; a
    /// shutdown meanwhile closes it with 1001.
    pub async fn authenticate_by_frame(
        mut self,
        chat: &Chat,
        timeout: Duration,
    ) -> Option<(Self, User)> {
        let deadline = Instant::now() + timeout;
        let shutdown = self.shutdown();
        let going_away = shutdown.wait();
        tokio::pin!(going_away);
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout_at(deadline, self.recv()) => next,
                () = &mut going_away => {
                    self.close(Stop::going_away()).await;
                    return None;
                }
            };
            let next = match next {
                Ok(next) => next,
                Err(_) => {
                    self.refuse(&Refusal::unauthenticated(
                        "no auth frame in time: send {\"type\":\"auth\",\"token\":..} first",
                    ))
                    .await;
                    return None;
                }
            };
            match next {
                Ok(Incoming::Handled) => continue,
                Ok(Incoming::Frame(ClientFrame::Auth { token })) => {
                    return match authenticate(chat, token).await {
                        Ok(user) => Some((self, user)),
                        Err(refusal) => {
                            self.refuse(&refusal).await;
                            None
                        }
                    };
                }
                Ok(_) => {
                    self.refuse(&Refusal::unauthenticated(
                        "authenticate first: send {\"type\":\"auth\",\"token\":..}",
                    ))
                    .await;
                    return None;
                }
                Err(stop) => {
                    self.close(stop).await;
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::event::Event;
    use chat_domain::{ThreadId, UserId};

    use super::frame_type;
    use crate::ws::frames::{event_text, ServerFrame};

    #[test]
    fn frames_are_counted_by_their_type() {
        assert_eq!(frame_type(&ServerFrame::Pong.to_text()), "pong");
        assert_eq!(frame_type(&ServerFrame::error("x", "y").to_text()), "error");
        let typing = Event::Typing {
            thread_id: ThreadId(1),
            user_id: UserId(2),
        };
        assert_eq!(frame_type(&event_text(&typing)), "typing");
        assert_eq!(frame_type("not json"), "other");
    }
}
