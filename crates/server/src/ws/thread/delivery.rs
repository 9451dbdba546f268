//! What a thread socket delivers: live events, message (and for staff note) events in
//! sequence order and each once, with any gap filled from the store; never a note to a client;
//! and the end of an agent's access when its claim ends.

use chat_domain::event::Event;
use chat_domain::message::{Message, MessageKind};
use chat_domain::user::Role;
use chat_domain::UserId;

use super::{stop_for, ThreadSocket, PAGE};
use crate::ws::admission::close_code;
use crate::ws::connection::{Connection, Stop};
use crate::ws::frames::event_text;

impl ThreadSocket {
    /// One live event: message and note events in sequence order, each once; others as they
    /// come. A client never gets a staff-only event (it is not subscribed to them either).
    pub(super) async fn forward(
        &mut self,
        conn: &mut Connection,
        event: &Event,
    ) -> Result<(), Stop> {
        if self.user.role == Role::Client && !event.is_for_clients() {
            return Ok(());
        }
        match event {
            Event::MessageCreated { seq, .. } | Event::NoteCreated { seq, .. } => {
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
            _ if event.thread_id() != Some(self.thread_id) => Ok(()),
            _ => conn.send_text(event_text(event)).await,
        }
    }

    /// Whether losing `agent`'s claim on this thread takes this socket's right to be here.
    fn loses_access(&self, agent: UserId) -> bool {
        self.user.role == Role::Agent && agent == self.user.id
    }

    /// Live events were lost: check the socket may still be here, then fill from the store.
    pub(super) async fn resync(&mut self, conn: &mut Connection) -> Result<(), Stop> {
        self.call(|chat, user, id| chat.joinable_thread(user, id))
            .await
            .map_err(|e| stop_for(&e))?;
        self.catch_up(conn).await
    }

    /// Sends every stored entry after the last delivered one that the user may see, in order
    /// (a client's pages have no notes, so its `seq`s skip theirs).
    pub(super) async fn catch_up(&mut self, conn: &mut Connection) -> Result<(), Stop> {
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
                let frame = entry_event(self.thread_id, message);
                conn.send_text(event_text(&frame)).await?;
                self.last_seq = seq;
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// The live event of a stored entry: `message.created` or `note.created`.
fn entry_event(thread_id: chat_domain::ThreadId, message: Message) -> Event {
    let seq = message.seq;
    match message.kind {
        MessageKind::Message => Event::MessageCreated {
            thread_id,
            seq,
            message,
        },
        MessageKind::Note => Event::NoteCreated {
            thread_id,
            seq,
            message,
        },
    }
}
