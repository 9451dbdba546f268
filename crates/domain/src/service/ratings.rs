//! Ratings: the client rates its resolved conversation.

use super::Chat;
use crate::event::Event;
use crate::rating::{parse_comment, parse_score, NewRating, Rating};
use crate::thread::ThreadStatus;
use crate::user::User;
use crate::{Conflict, DomainError, DomainResult, ThreadId};

impl Chat {
    /// The thread's client rates it (1 to 5, an optional comment): Forbidden for anyone else,
    /// Conflict `thread_not_resolved` unless it is resolved, `already_rated` for a second rating
    /// of the same resolution (a reopening by the client and a new resolve allow a new one).
    /// Stored with the agent who held the thread last; `thread.rated` goes to staff.
    pub fn rate_thread(
        &self,
        actor: &User,
        thread: ThreadId,
        score: i64,
        comment: Option<&str>,
    ) -> DomainResult<Rating> {
        let score = parse_score(score)?;
        let comment = parse_comment(comment)?;
        let thread = self.thread(thread)?;
        if thread.client_id != actor.id {
            return Err(DomainError::forbidden("only the thread's client rates it"));
        }
        if thread.status != ThreadStatus::Resolved {
            return Err(DomainError::Conflict(Conflict::ThreadNotResolved));
        }
        let rating = self.store.insert_rating(NewRating {
            thread_id: thread.id,
            client_id: actor.id,
            agent_id: thread.agent_id,
            score,
            comment,
            created_at: self.now(),
        })?;
        self.publish(Event::Rated {
            thread_id: rating.thread_id,
            agent_id: rating.agent_id,
            score: rating.score,
            comment: rating.comment.clone(),
        });
        Ok(rating)
    }
}
