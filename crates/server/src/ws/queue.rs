//! The agents' queue socket: every thread's live events for staff, with a `resync` frame when
//! some were lost (the client then reloads the queue over REST). It accepts `ping` and
//! `availability.set`.

use std::sync::Arc;

use chat_domain::event::{Event, Topic};
use chat_domain::ports::EventStream;
use chat_domain::routing::Availability;
use chat_domain::user::User;
use chat_domain::Chat;

use super::admission::{blocking, close_code};
use super::connection::{Connection, Stop};
use super::frames::{event_text, ClientFrame, ServerFrame};
use super::session::Handler;

/// One joined queue socket.
pub struct QueueSocket {
    chat: Chat,
    user: User,
}

impl QueueSocket {
    /// The queue socket of an admitted staff member.
    pub fn new(chat: Chat, user: User) -> Self {
        QueueSocket { chat, user }
    }
}

impl Handler for QueueSocket {
    const STREAM_ENDED: &'static str = "event stream ended; reconnect";
    const KIND: &'static str = "queue";

    async fn join(&mut self, conn: &mut Connection) -> Result<EventStream, Stop> {
        let events = match self
            .chat
            .bus()
            .subscribe(&[Topic::Queue, Topic::User(self.user.id)])
        {
            Ok(events) => events,
            Err(err) => {
                tracing::warn!(error = %err, "queue socket: bus unavailable");
                return Err(Stop::close(close_code::SERVER_ERROR, "service unavailable"));
            }
        };
        conn.send(&ServerFrame::ready_in_queue(&self.user)).await?;
        Ok(events)
    }

    async fn on_frame(&mut self, conn: &mut Connection, frame: ClientFrame) -> Result<(), Stop> {
        let answering = match frame {
            ClientFrame::Ping => return conn.send(&ServerFrame::Pong).await,
            ClientFrame::AvailabilitySet { availability } => {
                let chat = self.chat.clone();
                let user = self.user.clone();
                let set = blocking(move || {
                    chat.set_availability(&user, Availability::parse(&availability)?)
                })
                .await;
                return match set {
                    // The `availability` event (published when it changed) tells every console,
                    // this one included.
                    Ok(_) => Ok(()),
                    Err(err) => {
                        crate::error::log_domain_error(&err, "socket action");
                        conn.send(&ServerFrame::domain_error(&err)).await
                    }
                };
            }
            ClientFrame::Send {
                client_message_id, ..
            } => client_message_id,
            _ => None,
        };
        let refusal = ServerFrame::error(
            "unsupported",
            "the queue socket only accepts ping and availability.set; act on threads over REST or their sockets",
        );
        conn.send(&refusal.answering(answering)).await
    }

    /// Every frame of a queue socket is answered at once: no step is ever left running.
    type Done = ();

    async fn step_done(&mut self) {
        std::future::pending().await
    }

    async fn on_step_done(&mut self, _conn: &mut Connection, (): ()) -> Result<(), Stop> {
        Ok(())
    }

    async fn on_event(&mut self, conn: &mut Connection, event: &Arc<Event>) -> Result<(), Stop> {
        conn.send_text(event_text(event)).await
    }

    async fn on_gap(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        conn.send(&ServerFrame::Resync).await
    }

    fn log_end(&self, stop: &Stop) {
        tracing::debug!(user = %self.user.id, ?stop, "queue socket ended");
    }
}
