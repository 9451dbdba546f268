//! Users.

use chat_domain::ports::UserStore;
use chat_domain::user::{NewUser, Role, User, Username};
use chat_domain::{DomainResult, Timestamp, UserId};
use diesel::prelude::*;

use super::SqlStore;
use crate::error::conflict_if_unique;
use crate::rows::{NewUserRow, UserRow};
use crate::schema::users;

impl UserStore for SqlStore {
    fn insert_user(&self, user: NewUser) -> DomainResult<User> {
        self.run(|conn| {
            diesel::insert_into(users::table)
                .values(NewUserRow::from(&user))
                .returning(users::all_columns)
                .get_result::<UserRow>(conn)
                .map_err(|e| {
                    conflict_if_unique(e, || {
                        format!("username {} is taken", user.username.as_str())
                    })
                })?
                .into_user()
        })
    }

    fn user_by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        self.run(|conn| {
            users::table
                .find(id.0)
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .map(UserRow::into_user)
                .transpose()
        })
    }

    fn user_by_username(&self, username: &str) -> DomainResult<Option<User>> {
        let Ok(name) = Username::parse(username) else {
            return Ok(None);
        };
        self.run(|conn| {
            users::table
                .filter(users::username.eq(name.as_str()))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .map(UserRow::into_user)
                .transpose()
        })
    }

    fn soft_delete_user(&self, id: UserId, at: Timestamp) -> DomainResult<bool> {
        self.run(|conn| {
            let changed = diesel::update(users::table.find(id.0))
                .filter(users::deleted_at_ms.is_null())
                .set(users::deleted_at_ms.eq(at.millis()))
                .execute(conn)?;
            Ok(changed == 1)
        })
    }

    fn count_active_with_role(&self, role: Role) -> DomainResult<u64> {
        self.run(|conn| {
            let count: i64 = users::table
                .filter(users::role.eq(role.as_str()))
                .filter(users::deleted_at_ms.is_null())
                .count()
                .get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }
}
