//! Canned replies.

use chat_domain::canned::{CannedReply, NewCannedReply};
use chat_domain::ports::CannedReplyStore;
use chat_domain::{CannedReplyId, DomainResult};
use diesel::prelude::*;

use super::SqlStore;
use crate::rows::{CannedRow, NewCannedRow};
use crate::schema::canned_replies;

impl CannedReplyStore for SqlStore {
    fn insert_canned(&self, reply: NewCannedReply) -> DomainResult<CannedReply> {
        self.run(|conn| {
            let row = diesel::insert_into(canned_replies::table)
                .values(NewCannedRow::from(&reply))
                .returning(canned_replies::all_columns)
                .get_result::<CannedRow>(conn)?;
            Ok(row.into())
        })
    }

    fn list_canned(&self) -> DomainResult<Vec<CannedReply>> {
        self.run(|conn| {
            let rows = canned_replies::table
                .order((canned_replies::title.asc(), canned_replies::id.asc()))
                .select(CannedRow::as_select())
                .load(conn)?;
            Ok(rows.into_iter().map(CannedReply::from).collect())
        })
    }

    fn canned_by_id(&self, id: CannedReplyId) -> DomainResult<Option<CannedReply>> {
        self.run(|conn| {
            let row = canned_replies::table
                .find(id.0)
                .select(CannedRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(CannedReply::from))
        })
    }

    fn delete_canned(&self, id: CannedReplyId) -> DomainResult<bool> {
        self.run(|conn| {
            let deleted = diesel::delete(canned_replies::table.find(id.0)).execute(conn)?;
            Ok(deleted == 1)
        })
    }
}
