//! What agents reach for: canned replies, search, the client's context.

use serde::Serialize;

use super::{require_admin, require_staff, Chat};
use crate::canned::{render, CannedReply, NewCannedReply};
use crate::search::{SearchHit, SearchQuery, SearchScope};
use crate::thread::Thread;
use crate::user::{Role, User};
use crate::{CannedReplyId, DomainError, DomainResult, ThreadId, Timestamp, UserId};

/// What an agent sees beside a conversation.
#[derive(Debug, Clone, Serialize)]
pub struct ClientContext {
    /// The client's id.
    pub client_id: UserId,
    /// Its username.
    pub username: String,
    /// When it joined.
    pub joined_at: Timestamp,
    /// How many messages it has sent.
    pub messages_sent: u64,
    /// All its threads, newest activity first.
    pub threads: Vec<Thread>,
}

impl Chat {
    /// An admin adds a canned reply.
    pub fn add_canned_reply(
        &self,
        actor: &User,
        title: &str,
        body: &str,
    ) -> DomainResult<CannedReply> {
        require_admin(actor)?;
        self.store
            .insert_canned(NewCannedReply::new(title, body, actor.id, self.now())?)
    }

    /// Staff list canned replies.
    pub fn canned_replies(&self, actor: &User) -> DomainResult<Vec<CannedReply>> {
        require_staff(actor)?;
        self.store.list_canned()
    }

    /// An admin deletes a canned reply.
    pub fn delete_canned_reply(&self, actor: &User, id: CannedReplyId) -> DomainResult<()> {
        require_admin(actor)?;
        if self.store.delete_canned(id)? {
            Ok(())
        } else {
            Err(DomainError::NotFound("canned reply"))
        }
    }

    /// A canned reply's text filled in for a thread (`{client_name}`, `{agent_name}`).
    pub fn render_canned_reply(
        &self,
        actor: &User,
        id: CannedReplyId,
        thread_id: ThreadId,
    ) -> DomainResult<String> {
        require_staff(actor)?;
        let reply = self
            .store
            .canned_by_id(id)?
            .ok_or(DomainError::NotFound("canned reply"))?;
        let thread = self.viewable_thread(actor, thread_id)?;
        let client = self
            .store
            .user_by_id(thread.client_id)?
            .ok_or(DomainError::NotFound("client"))?;
        Ok(render(
            &reply.body,
            &[
                ("client_name", client.username.as_str()),
                ("agent_name", actor.username.as_str()),
            ],
        ))
    }

    /// Searches messages: a client within its own threads, staff everywhere.
    pub fn search(&self, actor: &User, text: &str, limit: u32) -> DomainResult<Vec<SearchHit>> {
        let scope = match actor.role {
            Role::Client => SearchScope::ClientThreads(actor.id),
            Role::Agent | Role::Admin => SearchScope::All,
        };
        self.store.search(&SearchQuery::new(text, scope, limit)?)
    }

    /// Staff look clients up by part of their username (case-insensitive): active clients
    /// whose username contains `text`, those starting with it first, at most `limit` (1 to
    /// 100). Clients get Forbidden; an empty or over-long `text` is Invalid (field `q`).
    pub fn search_clients(&self, actor: &User, text: &str, limit: u32) -> DomainResult<Vec<User>> {
        require_staff(actor)?;
        let text = crate::search::client_lookup(text)?;
        self.store.search_clients(text, limit.clamp(1, 100))
    }

    /// The client's context, for staff.
    pub fn client_context(&self, actor: &User, client: UserId) -> DomainResult<ClientContext> {
        require_staff(actor)?;
        let user = self
            .store
            .user_by_id(client)?
            .filter(|u| u.role == Role::Client)
            .ok_or(DomainError::NotFound("client"))?;
        Ok(ClientContext {
            client_id: user.id,
            username: user.username.as_str().to_owned(),
            joined_at: user.created_at,
            messages_sent: self.store.count_sent_by(client)?,
            threads: self.store.threads_of_client(client)?,
        })
    }
}
