//! The socket of one thread's conversation: subscribe first, replay from the store, then live
//! events de-duplicated and gap-filled by the thread's sequence numbers, while the client's
//! frames become use cases.

use std::time::Duration;

use chat_domain::event::{Delivery, Event, Topic};
use chat_domain::ports::EventStream;
use chat_domain::user::{Role, User};
use chat_domain::{Chat, DomainError, ThreadId};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::admission::{blocking, close_code};
use super::connection::{Connection, Incoming, Stop};
use super::frames::{event_text, ClientFrame, ServerFrame};
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
    /// The last message sequence number delivered to the client.
    last_seq: i64,
    last_renewal: Option<Instant>,
    last_typing: Option<Instant>,
}

impl ThreadSocket {
    /// Runs the socket until either side ends it. `resume_from` is the client's `?last_seq=`.
    pub async fn run(
        chat: Chat,
        settings: WsSettings,
        user: User,
        thread_id: ThreadId,
        resume_from: Option<i64>,
        mut conn: Connection,
    ) {
        let mut socket = ThreadSocket {
            chat,
            settings,
            user,
            thread_id,
            last_seq: 0,
            last_renewal: None,
            last_typing: None,
        };
        let shutdown = conn.shutdown();
        // A long catch-up does not hold a shutdown back: the join is abandoned (the client
        // resumes from the last `seq` it got on another instance).
        let joined = tokio::select! {
            joined = socket.join(&mut conn, resume_from) => joined,
            () = shutdown.wait() => Err(Stop::going_away()),
        };
        let stop = match joined {
            Ok(mut events) => socket.serve(&mut conn, &mut events).await,
            Err(stop) => stop,
        };
        tracing::debug!(user = %socket.user.id, thread = %thread_id, ?stop, "thread socket ended");
        conn.close(stop).await;
    }

    /// Subscribes, then says `ready`, then replays what the client missed.
    async fn join(
        &mut self,
        conn: &mut Connection,
        resume_from: Option<i64>,
    ) -> Result<EventStream, Stop> {
        // Subscribe before reading the store, so nothing falls between the two.
        let events = self
            .chat
            .bus()
            .subscribe(&[Topic::Thread(self.thread_id), Topic::User(self.user.id)])
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
        if let Some(from) = resume_from {
            self.last_seq = from.clamp(0, thread.last_seq);
            self.catch_up(conn).await?;
        }
        Ok(events)
    }

    /// The live loop: client frames, bus deliveries and the heartbeat, until one side ends or
    /// the server shuts down.
    async fn serve(&mut self, conn: &mut Connection, events: &mut EventStream) -> Stop {
        let mut heartbeat = tokio::time::interval(self.settings.heartbeat_interval());
        heartbeat.tick().await;
        let shutdown = conn.shutdown();
        let going_away = shutdown.wait();
        tokio::pin!(going_away);
        loop {
            let step = tokio::select! {
                // Whatever step is under way finishes first; then the socket closes.
                () = &mut going_away => Err(Stop::going_away()),
                incoming = conn.recv() => match incoming {
                    Ok(Incoming::Frame(frame)) => self.command(conn, frame).await,
                    Ok(Incoming::Bad(err)) => conn.send(&ServerFrame::error(err.code, err.message)).await,
                    Ok(Incoming::Handled) => Ok(()),
                    Err(stop) => Err(stop),
                },
                delivery = events.next() => match delivery {
                    Some(Delivery::Event(event)) => self.forward(conn, &event).await,
                    Some(Delivery::Gap) => self.resync(conn).await,
                    None => Err(Stop::close(close_code::SERVER_ERROR, "event stream ended; reconnect and resume")),
                },
                _ = heartbeat.tick() => {
                    if conn.last_heard().elapsed() > self.settings.client_timeout() {
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

    /// One client frame.
    async fn command(&mut self, conn: &mut Connection, frame: ClientFrame) -> Result<(), Stop> {
        match frame {
            ClientFrame::Send {
                body,
                client_message_id,
            } => {
                let cmid = client_message_id.clone();
                let sent = self
                    .call(move |chat, user, id| {
                        chat.send_in_thread(user, id, &body, cmid.as_deref())
                    })
                    .await;
                match sent {
                    Ok(appended) => {
                        if self.user.role.is_staff() {
                            // The reply renewed the lease.
                            self.last_renewal = Some(Instant::now());
                        }
                        conn.send(&ServerFrame::Ack {
                            thread_id: self.thread_id,
                            client_message_id,
                            message_id: appended.message.id,
                            seq: appended.message.seq,
                        })
                        .await
                    }
                    Err(err) => self.report(conn, &err).await,
                }
            }
            ClientFrame::Typing => {
                self.renew_if_due().await;
                let due = self
                    .last_typing
                    .is_none_or(|t| t.elapsed() >= TYPING_INTERVAL);
                if !due {
                    return Ok(());
                }
                self.last_typing = Some(Instant::now());
                match self.call(|chat, user, id| chat.typing(user, id)).await {
                    Ok(()) => Ok(()),
                    Err(err) => self.report(conn, &err).await,
                }
            }
            ClientFrame::Read { up_to_seq } => {
                self.renew_if_due().await;
                match self
                    .call(move |chat, user, id| chat.mark_read(user, id, up_to_seq))
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(err) => self.report(conn, &err).await,
                }
            }
            ClientFrame::Resume { last_seq } => {
                self.renew_if_due().await;
                self.last_seq = last_seq.max(0);
                self.catch_up(conn).await
            }
            ClientFrame::ClaimRenew => {
                if !self.user.role.is_staff() {
                    return conn
                        .send(&ServerFrame::error(
                            "forbidden",
                            "only the agent holding the thread renews its claim",
                        ))
                        .await;
                }
                match self.call(|chat, user, id| chat.renew_claim(user, id)).await {
                    // The `claimed` event that follows confirms it.
                    Ok(_) => {
                        self.last_renewal = Some(Instant::now());
                        Ok(())
                    }
                    Err(err) => self.report(conn, &err).await,
                }
            }
            ClientFrame::Ping => {
                self.renew_if_due().await;
                conn.send(&ServerFrame::Pong).await
            }
            ClientFrame::Auth { .. } => {
                conn.send(&ServerFrame::error(
                    "already_authenticated",
                    "this socket is authenticated already",
                ))
                .await
            }
        }
    }

    /// Activity of the holder renews its claim, at most once per renewal interval.
    async fn renew_if_due(&mut self) {
        if !self.user.role.is_staff() {
            return;
        }
        let due = self
            .last_renewal
            .is_none_or(|t| t.elapsed() >= self.settings.claim_renew_interval());
        if !due {
            return;
        }
        self.last_renewal = Some(Instant::now());
        if let Err(err) = self.call(|chat, user, id| chat.renew_claim(user, id)).await {
            tracing::debug!(user = %self.user.id, thread = %self.thread_id, error = %err, "claim not renewed");
        }
    }

    /// One live event: message events in sequence order, each once; others as they come.
    async fn forward(&mut self, conn: &mut Connection, event: &Event) -> Result<(), Stop> {
        match event {
            Event::MessageCreated { seq, .. } => {
                if *seq <= self.last_seq {
                    return Ok(());
                }
                if *seq > self.last_seq + 1 {
                    // Something was missed: the store has it.
                    self.catch_up(conn).await?;
                    if *seq <= self.last_seq {
                        return Ok(());
                    }
                }
                conn.send_text(event_text(event)).await?;
                self.last_seq = *seq;
                Ok(())
            }
            // The typist knows.
            Event::Typing { user_id, .. } if *user_id == self.user.id => Ok(()),
            Event::Released { agent_id, .. } | Event::Expired { agent_id, .. }
                if self.loses_access(*agent_id) =>
            {
                conn.send_text(event_text(event)).await?;
                Err(Stop::close(close_code::FORBIDDEN, "claim ended"))
            }
            Event::TakenOver {
                from: Some(from), ..
            } if self.loses_access(*from) => {
                conn.send_text(event_text(event)).await?;
                Err(Stop::close(close_code::FORBIDDEN, "claim taken over"))
            }
            _ if event.thread_id() != self.thread_id => Ok(()),
            _ => conn.send_text(event_text(event)).await,
        }
    }

    /// Whether losing `agent`'s claim on this thread takes this socket's right to be here.
    fn loses_access(&self, agent: chat_domain::UserId) -> bool {
        self.user.role == Role::Agent && agent == self.user.id
    }

    /// Live events were lost: check the socket may still be here, then fill from the store.
    async fn resync(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        self.call(|chat, user, id| chat.joinable_thread(user, id))
            .await
            .map_err(|e| stop_for(&e))?;
        self.catch_up(conn).await
    }

    /// Sends every stored message after the last delivered one, in order.
    async fn catch_up(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        loop {
            let after = self.last_seq;
            let page = self
                .call(move |chat, user, id| chat.messages(user, id, after, PAGE))
                .await
                .map_err(|e| stop_for(&e))?;
            let full = page.len() >= PAGE as usize;
            for message in page {
                if message.seq <= self.last_seq {
                    continue;
                }
                let seq = message.seq;
                let frame = Event::MessageCreated {
                    thread_id: self.thread_id,
                    seq,
                    message,
                };
                conn.send_text(event_text(&frame)).await?;
                self.last_seq = seq;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Answers a failed action with an error frame (a store outage ends the socket).
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
