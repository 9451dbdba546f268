//! A thread socket's client frames as use cases: send, typing, read, resume, claim renewal
//! and ping; the holder's activity renews its claim.

use tokio::time::Instant;

use chat_domain::message::Appended;
use chat_domain::DomainError;

use super::{PendingSend, ThreadSocket, TYPING_INTERVAL};
use crate::ws::connection::{Connection, Stop};
use crate::ws::frames::{ClientFrame, ServerFrame};

impl ThreadSocket {
    /// One client frame.
    pub(super) async fn command(
        &mut self,
        conn: &mut Connection,
        frame: ClientFrame,
    ) -> Result<(), Stop> {
        match frame {
            ClientFrame::Send {
                body,
                client_message_id,
            } => {
                self.send(body, client_message_id);
                Ok(())
            }
            ClientFrame::Typing => self.typing(conn).await,
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
            ClientFrame::ClaimRenew => self.renew_claim(conn).await,
            ClientFrame::Ping => {
                self.renew_if_due().await;
                conn.send(&ServerFrame::Pong).await
            }
            // The session loop answers a second `auth` itself.
            ClientFrame::Auth { .. } => Ok(()),
            ClientFrame::AvailabilitySet { .. } => {
                let refusal = ServerFrame::error(
                    "unsupported",
                    "availability is set on the queue socket or over REST",
                );
                conn.send(&refusal).await
            }
        }
    }

    /// `message.send`: stores the message (the bus then publishes it) off the socket's loop,
    /// which keeps delivering meanwhile and reads no other frame until
    /// [`ThreadSocket::answer_send`] has answered it.
    fn send(&mut self, body: String, client_message_id: Option<String>) {
        let (chat, user, id) = (self.chat.clone(), self.user.clone(), self.thread_id);
        let cmid = client_message_id.clone();
        let stored = tokio::task::spawn_blocking(move || {
            chat.send_in_thread(&user, id, &body, cmid.as_deref())
        });
        self.pending = Some(PendingSend {
            stored,
            client_message_id,
        });
    }

    /// Acks a stored send; an `error` frame refusing it names its `client_message_id`.
    pub(super) async fn answer_send(
        &mut self,
        conn: &mut Connection,
        sent: Result<Appended, DomainError>,
        client_message_id: Option<String>,
    ) -> Result<(), Stop> {
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
            Err(err) => {
                crate::error::log_domain_error(&err, "socket action");
                let refusal = ServerFrame::domain_error(&err).answering(client_message_id);
                conn.send(&refusal).await
            }
        }
    }

    /// `typing`: published at most once per [`TYPING_INTERVAL`].
    async fn typing(&mut self, conn: &mut Connection) -> Result<(), Stop> {
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

    /// `claim.renew`: the `claimed` event that follows confirms it.
    async fn renew_claim(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        if !self.user.role.is_staff() {
            return conn
                .send(&ServerFrame::error(
                    "forbidden",
                    "only the agent holding the thread renews its claim",
                ))
                .await;
        }
        match self.call(|chat, user, id| chat.renew_claim(user, id)).await {
            Ok(_) => {
                self.last_renewal = Some(Instant::now());
                Ok(())
            }
            Err(err) => self.report(conn, &err).await,
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
}
