//! Users.

use std::collections::HashMap;

use chat_domain::ports::UserStore;
use chat_domain::user::{NewUser, Role, User, Username};
use chat_domain::{Conflict, DomainResult, Timestamp, UserId};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::SqlStore;
use crate::error::conflict_if_unique;
use crate::rows::{NewUserRow, UserRow};
use crate::schema::users;

diesel::define_sql_function! {
    /// SQL `lower(text)`: lowercases ASCII letters on both backends (Postgres also others).
    fn lower(text: Text) -> Text;
}

/// `text` with the `LIKE` wildcards and the escape character escaped (escape character `\`).
pub(crate) fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl UserStore for SqlStore {
    fn insert_user(&self, user: NewUser) -> DomainResult<User> {
        self.run(|conn| {
            diesel::insert_into(users::table)
                .values(NewUserRow::from(&user))
                .returning((
                    users::id,
                    users::username,
                    users::password_hash,
                    users::role,
                    users::created_at_ms,
                    users::deleted_at_ms,
                ))
                .get_result::<UserRow>(conn)
                .map_err(|e| conflict_if_unique(e, Conflict::UsernameTaken))?
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

    fn usernames(&self, ids: &[UserId]) -> DomainResult<HashMap<UserId, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        self.run(|conn| {
            let rows: Vec<(i64, String)> = users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::username))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|(id, name)| (UserId(id), name))
                .collect())
        })
    }

    fn search_clients(&self, text: &str, limit: u32) -> DomainResult<Vec<User>> {
        let needle = like_escaped(&text.to_ascii_lowercase());
        let contains = format!("%{needle}%");
        let prefix = format!("{needle}%");
        self.run(|conn| {
            let starts_with = lower(users::username).like(prefix).escape('\\');
            users::table
                .filter(users::role.eq(Role::Client.as_str()))
                .filter(users::deleted_at_ms.is_null())
                .filter(lower(users::username).like(contains).escape('\\'))
                .order((
                    case_when(starts_with, 0.into_sql::<Integer>()).otherwise(1),
                    users::id.asc(),
                ))
                .limit(i64::from(limit))
                .select(UserRow::as_select())
                .load(conn)?
                .into_iter()
                .map(UserRow::into_user)
                .collect()
        })
    }
}
