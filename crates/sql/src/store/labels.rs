//! Labels and which threads carry them.

use std::collections::HashMap;

use chat_domain::label::{Label, NewLabel};
use chat_domain::ports::LabelStore;
use chat_domain::{Conflict, DomainError, DomainResult, LabelId, ThreadId};
use diesel::prelude::*;

use super::threads::lock_thread_if_exists;
use super::SqlStore;
use crate::error::{conflict_if_unique, StoreError};
use crate::rows::{LabelRow, NewLabelRow};
use crate::schema::{labels, thread_labels};

impl LabelStore for SqlStore {
    fn insert_label(&self, label: NewLabel) -> DomainResult<Label> {
        self.run(|conn| {
            let row = diesel::insert_into(labels::table)
                .values(NewLabelRow::from(&label))
                .returning((labels::id, labels::name, labels::color))
                .get_result::<LabelRow>(conn)
                .map_err(|e| conflict_if_unique(e, Conflict::LabelTaken))?;
            Ok(row.into())
        })
    }

    fn list_labels(&self) -> DomainResult<Vec<Label>> {
        self.run(|conn| {
            let rows = labels::table
                .order((labels::name.asc(), labels::id.asc()))
                .select(LabelRow::as_select())
                .load(conn)?;
            Ok(rows.into_iter().map(Label::from).collect())
        })
    }

    fn label_by_id(&self, id: LabelId) -> DomainResult<Option<Label>> {
        self.run(|conn| {
            let row = labels::table
                .find(id.0)
                .select(LabelRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(Label::from))
        })
    }

    fn add_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool> {
        self.write(|conn| {
            if !lock_thread_if_exists(conn, thread)? {
                return Err(StoreError::Domain(DomainError::NotFound("thread")));
            }
            let known = labels::table
                .find(label.0)
                .select(labels::id)
                .first::<i64>(conn)
                .optional()?;
            if known.is_none() {
                return Err(StoreError::Domain(DomainError::NotFound("label")));
            }
            // The thread's row lock serialises the adds to one thread: no race between the
            // look and the insert.
            let carried = thread_labels::table
                .find((thread.0, label.0))
                .select(thread_labels::label_id)
                .first::<i64>(conn)
                .optional()?;
            if carried.is_some() {
                return Ok(false);
            }
            diesel::insert_into(thread_labels::table)
                .values((
                    thread_labels::thread_id.eq(thread.0),
                    thread_labels::label_id.eq(label.0),
                ))
                .execute(conn)?;
            Ok(true)
        })
    }

    fn remove_thread_label(&self, thread: ThreadId, label: LabelId) -> DomainResult<bool> {
        self.run(|conn| {
            let removed =
                diesel::delete(thread_labels::table.find((thread.0, label.0))).execute(conn)?;
            Ok(removed == 1)
        })
    }

    fn thread_labels(&self, threads: &[ThreadId]) -> DomainResult<HashMap<ThreadId, Vec<Label>>> {
        if threads.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = threads.iter().map(|t| t.0).collect();
        self.run(|conn| {
            let rows = thread_labels::table
                .inner_join(labels::table)
                .filter(thread_labels::thread_id.eq_any(&ids))
                .order((labels::name.asc(), labels::id.asc()))
                .select((thread_labels::thread_id, LabelRow::as_select()))
                .load::<(i64, LabelRow)>(conn)?;
            let mut found: HashMap<ThreadId, Vec<Label>> = HashMap::new();
            for (thread, row) in rows {
                found.entry(ThreadId(thread)).or_default().push(row.into());
            }
            Ok(found)
        })
    }
}
