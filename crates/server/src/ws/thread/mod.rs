//! The socket of one thread's conversation: subscribe first, replay from the store, then live
//! events de-duplicated and gap-filled by the thread's sequence numbers ([`delivery`]), while
//! the client's frames become use cases ([`commands`]).

mod commands;
mod delivery;

use std::time::Duration;

use chat_domain::event::{Event, Topic};
use chat_domain::ports::EventStream;
use chat_domain::user::User;
use chat_domain::{Chat, DomainError, ThreadId};
use tokio::time::Instant;

use super::admission::{blocking, close_code};
use super::connection::{Connection, Stop};
use super::frames::{ClientFrame, ServerFrame};
use super::session::Handler;
use super::settings::WsSettings;

/// Messages read from the store per page when catching up (the domain's largest page).
const PAGE: u32 = 500;

/// Least time between two `typing` events a socket publishes.
const TYPING_INTERVAL: Duration = Duration::from_millis(1000);

/// One joined thread socket.
pub struct ThreadSocket {
    chat: Chat,
    settings: WsSettings,
    user: User,
    thread_id: ThreadId,
    /// The client's `?last_seq=`: replayed from once joined.
    resume_from: Option<i64>,
    /// The last sequence number delivered (a message's, or for staff a note's).
    last_seq: i64,
    last_renewal: Option<Instant>,
    last_typing: Option<Instant>,
}

impl ThreadSocket {
    /// The socket of an admitted user in a thread. `resume_from` is the client's `?last_seq=`.
    pub fn new(
        chat: Chat,
        settings: WsSettings,
        user: User,
        thread_id: ThreadId,
        resume_from: Option<i64>,
    ) -> Self {
        ThreadSocket {
            chat,
            settings,
            user,
            thread_id,
            resume_from,
            last_seq: 0,
            last_renewal: None,
            last_typing: None,
        }
    }

    /// Answers a failed action with an error frame.
    async fn report(&mut self, conn: &mut Connection, err: &DomainError) -> Result<(), Stop> {
        crate::error::log_domain_error(err, "socket action");
        conn.send(&ServerFrame::domain_error(err)).await
    }

    /// Runs a use case for this socket's user and thread off the async workers.
    async fn call<T, F>(&self, f: F) -> Result<T, DomainError>
    where
        T: Send + 'static,
        F: FnOnce(&Chat, &User, ThreadId) -> Result<T, DomainError> + Send + 'static,
    {
        let chat = self.chat.clone();
        let user = self.user.clone();
        let id = self.thread_id;
        blocking(move || f(&chat, &user, id)).await
    }
}

impl Handler for ThreadSocket {
    const STREAM_ENDED: &'static str = "event stream ended; reconnect and resume";
    const KIND: &'static str = "thread";

    /// Subscribes, then says `ready`, then replays what the client missed.
    async fn join(&mut self, conn: &mut Connection) -> Result<EventStream, Stop> {
        // Subscribe before reading the store, so nothing falls between the two.
        // Staff also hear the thread's notes; a client's socket never subscribes to them.
        let mut topics = vec![Topic::Thread(self.thread_id), Topic::User(self.user.id)];
        if self.user.role.is_staff() {
            topics.push(Topic::StaffInThread(self.thread_id));
        }
        let events = self
            .chat
            .bus()
            .subscribe(&topics)
            .map_err(|e| stop_for(&e))?;
        let thread = self
            .call(|chat, user, id| chat.joinable_thread(user, id))
            .await
            .map_err(|e| stop_for(&e))?;
        conn.send(&ServerFrame::ready_in_thread(
            &self.user,
            self.thread_id,
            thread.last_seq,
        ))
        .await?;
        self.last_seq = thread.last_seq;
        if let Some(from) = self.resume_from {
            self.last_seq = from.clamp(0, thread.last_seq);
            self.catch_up(conn).await?;
        }
        Ok(events)
    }

    async fn on_frame(&mut self, conn: &mut Connection, frame: ClientFrame) -> Result<(), Stop> {
        self.command(conn, frame).await
    }

    async fn on_event(&mut self, conn: &mut Connection, event: &Event) -> Result<(), Stop> {
        self.forward(conn, event).await
    }

    async fn on_gap(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        self.resync(conn).await
    }

    fn log_end(&self, stop: &Stop) {
        tracing::debug!(user = %self.user.id, thread = %self.thread_id, ?stop, "thread socket ended");
    }
}

/// How a failure that prevents serving the socket ends it.
fn stop_for(err: &DomainError) -> Stop {
    match err {
        DomainError::Unavailable(_) | DomainError::Internal(_) => {
            crate::error::log_domain_error(err, "socket closed");
            Stop::close(
                crate::error::domain_close_code(err),
                "service unavailable; reconnect and resume",
            )
        }
        DomainError::Unauthenticated => Stop::close(close_code::UNAUTHENTICATED, "unauthenticated"),
        _ => Stop::close(close_code::FORBIDDEN, "no longer allowed in this thread"),
    }
}
