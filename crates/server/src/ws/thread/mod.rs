//! The socket of one thread's conversation: subscribe first, replay from the store, then live
//! events de-duplicated and gap-filled by the thread's sequence numbers ([`delivery`]), while
//! the client's frames become use cases ([`commands`]).

mod commands;
mod delivery;

use std::sync::Arc;
use std::time::Duration;

use chat_domain::event::{Event, Topic};
use chat_domain::message::Appended;
use chat_domain::ports::EventStream;
use chat_domain::user::User;
use chat_domain::{Chat, DomainError, ThreadId};
use tokio::task::JoinHandle;
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

/// Most deliveries a socket holds back while its send is stored; past it they are dropped and the
/// socket fills from the store afterwards, as after any gap.
const MAX_HELD: usize = 256;

/// A `message.send` being stored off the socket's loop.
struct PendingSend {
    stored: JoinHandle<Result<Appended, DomainError>>,
    client_message_id: Option<String>,
}

/// A delivery held back until the pending send is answered.
enum Held {
    Event(Arc<Event>),
    Gap,
}

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
    /// The client's send being stored, if any: the socket keeps delivering meanwhile.
    pending: Option<PendingSend>,
    /// Deliveries held back until the pending send is answered: from the first one that could
    /// be (or need a store read that could find) the sender's own message on, so its `ack`
    /// always comes first.
    held: Vec<Held>,
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
            pending: None,
            held: Vec::new(),
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

    type Done = Result<Appended, DomainError>;

    async fn on_frame(&mut self, conn: &mut Connection, frame: ClientFrame) -> Result<(), Stop> {
        self.command(conn, frame).await
    }

    fn busy(&self) -> bool {
        self.pending.is_some()
    }

    async fn step_done(&mut self) -> Self::Done {
        match self.pending.as_mut() {
            Some(pending) => (&mut pending.stored)
                .await
                .unwrap_or_else(|err| Err(DomainError::internal(err))),
            None => std::future::pending().await,
        }
    }

    async fn on_step_done(&mut self, conn: &mut Connection, done: Self::Done) -> Result<(), Stop> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        self.answer_send(conn, done, pending.client_message_id)
            .await?;
        for held in std::mem::take(&mut self.held) {
            match held {
                Held::Event(event) => self.forward(conn, &event).await?,
                Held::Gap => self.resync(conn).await?,
            }
        }
        Ok(())
    }

    async fn on_event(&mut self, conn: &mut Connection, event: &Arc<Event>) -> Result<(), Stop> {
        if self.pending.is_some() && (!self.held.is_empty() || self.may_be_own_echo(event)) {
            self.hold(Held::Event(Arc::clone(event)));
            return Ok(());
        }
        self.forward(conn, event).await
    }

    async fn on_gap(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        if self.pending.is_some() {
            self.hold(Held::Gap);
            return Ok(());
        }
        self.resync(conn).await
    }

    fn log_end(&self, stop: &Stop) {
        tracing::debug!(user = %self.user.id, thread = %self.thread_id, ?stop, "thread socket ended");
    }
}

impl ThreadSocket {
    /// Whether delivering `event` now could put the sender's own message before its `ack`: the
    /// message itself, or one after a gap (filling it reads the store, which may hold it).
    fn may_be_own_echo(&self, event: &Event) -> bool {
        match event {
            Event::MessageCreated { seq, message, .. }
            | Event::NoteCreated { seq, message, .. } => {
                *seq > self.last_seq
                    && (message.sender_id == self.user.id || *seq > self.last_seq + 1)
            }
            _ => false,
        }
    }

    /// Holds a delivery back until the pending send is answered; past [`MAX_HELD`] what is held
    /// is dropped for one gap (filled from the store then).
    fn hold(&mut self, held: Held) {
        if self.held.len() >= MAX_HELD {
            self.held.clear();
            self.held.push(Held::Gap);
        } else {
            self.held.push(held);
        }
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
