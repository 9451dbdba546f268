//! Log-in sessions.

use chat_domain::auth::NewSession;
use chat_domain::ports::SessionStore;
use chat_domain::user::User;
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;

use super::SqlStore;
use crate::rows::{SessionRow, UserRow};
use crate::schema::{sessions, users};

impl SessionStore for SqlStore {
    fn insert_session(&self, session: NewSession) -> DomainResult<()> {
        self.run(|conn| {
            diesel::insert_into(sessions::table)
                .values(SessionRow::from(&session))
                .execute(conn)?;
            Ok(())
        })
    }

    fn session_user(&self, token_hash: &str, now: Timestamp) -> DomainResult<Option<User>> {
        self.run(|conn| {
            sessions::table
                .inner_join(users::table)
                .filter(sessions::token_hash.eq(token_hash))
                .filter(sessions::expires_at_ms.gt(now.millis()))
                .filter(users::deleted_at_ms.is_null())
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .map(UserRow::into_user)
                .transpose()
        })
    }

    fn delete_session(&self, token_hash: &str) -> DomainResult<()> {
        self.run(|conn| {
            diesel::delete(sessions::table.find(token_hash)).execute(conn)?;
            Ok(())
        })
    }

    fn delete_user_sessions(&self, user: UserId) -> DomainResult<()> {
        self.run(|conn| {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user.0))).execute(conn)?;
            Ok(())
        })
    }
}
