//! Log-in sessions.

use chat_domain::auth::{NewSession, SessionUser};
use chat_domain::ports::SessionStore;
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;

use super::SqlStore;
use crate::connection::on_concrete;
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

    fn session_user(&self, token_hash: &str, now: Timestamp) -> DomainResult<Option<SessionUser>> {
        self.run(|conn| {
            let found = on_concrete!(conn, c => sessions::table
                .inner_join(users::table)
                .filter(sessions::token_hash.eq(token_hash))
                .filter(sessions::expires_at_ms.gt(now.millis()))
                .filter(users::deleted_at_ms.is_null())
                .select((UserRow::as_select(), sessions::expires_at_ms))
                .first::<(UserRow, i64)>(c)
                .optional()?);
            let Some((row, expires_at_ms)) = found else {
                return Ok(None);
            };
            Ok(Some(SessionUser {
                user: row.into_user()?,
                expires_at: Timestamp(expires_at_ms),
            }))
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
