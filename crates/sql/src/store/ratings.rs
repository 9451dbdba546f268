//! Clients' ratings of resolved conversations.

use chat_domain::ports::RatingStore;
use chat_domain::rating::{NewRating, Rating};
use chat_domain::{Conflict, DomainResult, ThreadId};
use diesel::prelude::*;

use super::threads::lock_thread;
use super::SqlStore;
use crate::error::conflict_if_unique;
use crate::rows::RatingRow;
use crate::schema::ratings;

impl RatingStore for SqlStore {
    fn insert_rating(&self, rating: NewRating) -> DomainResult<Rating> {
        self.write(|conn| {
            let resolution_seq = lock_thread(conn, rating.thread_id)?.resolutions;
            let row = diesel::insert_into(ratings::table)
                .values((
                    ratings::thread_id.eq(rating.thread_id.0),
                    ratings::client_id.eq(rating.client_id.0),
                    ratings::agent_id.eq(rating.agent_id.map(|a| a.0)),
                    ratings::score.eq(rating.score),
                    ratings::comment.eq(rating.comment.as_deref()),
                    ratings::resolution_seq.eq(resolution_seq),
                    ratings::created_at_ms.eq(rating.created_at.millis()),
                ))
                .returning(ratings::all_columns)
                .get_result::<RatingRow>(conn)
                .map_err(|e| conflict_if_unique(e, Conflict::AlreadyRated))?;
            let rating = Rating::from(row);
            super::webhooks::record(
                conn,
                &chat_domain::webhook::OutboxEvent::thread_rated(&rating),
            )?;
            Ok(rating)
        })
    }

    fn ratings_of_thread(&self, thread: ThreadId) -> DomainResult<Vec<Rating>> {
        self.run(|conn| {
            let rows = ratings::table
                .filter(ratings::thread_id.eq(thread.0))
                .order(ratings::id.asc())
                .select(RatingRow::as_select())
                .load(conn)?;
            Ok(rows.into_iter().map(Rating::from).collect())
        })
    }
}
