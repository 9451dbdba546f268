//! Attachments' metadata (the bytes are in the blob store) and tying them to a message.

use std::collections::HashMap;

use chat_domain::attachment::{Attachment, AttachmentId, FileName, FileType};
use chat_domain::message::NewMessage;
use chat_domain::ports::AttachmentStore;
use chat_domain::{DomainError, DomainResult, MessageId, ThreadId, Timestamp, UserId};
use diesel::prelude::*;

use super::threads::thread_not_found;
use super::SqlStore;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::{attachments, threads};

#[derive(Queryable, Selectable)]
#[diesel(table_name = attachments)]
struct AttachmentRow {
    id: String,
    thread_id: i64,
    uploader_id: i64,
    content_type: String,
    size: i64,
    name: String,
    created_at_ms: i64,
    message_id: Option<i64>,
}

impl AttachmentRow {
    fn into_attachment(self) -> Result<Attachment, StoreError> {
        let corrupt = |what: &str| {
            StoreError::Domain(DomainError::internal(format!(
                "stored attachment {} has a bad {what}",
                self.id
            )))
        };
        Ok(Attachment {
            id: AttachmentId::parse(&self.id).map_err(|_| corrupt("id"))?,
            thread_id: ThreadId(self.thread_id),
            uploader_id: UserId(self.uploader_id),
            file_type: FileType::from_mime(&self.content_type)
                .ok_or_else(|| corrupt("content type"))?,
            size: u64::try_from(self.size).map_err(|_| corrupt("size"))?,
            name: FileName::parse(Some(&self.name)).map_err(|_| corrupt("name"))?,
            created_at: Timestamp(self.created_at_ms),
            message_id: self.message_id.map(MessageId),
        })
    }
}

/// Ties `new`'s attachments to the message just stored (`message`), inside the append's
/// transaction: only those uploaded to its thread by its sender and attached to nothing yet
/// (a conditional update; the thread's row is locked by the append, so two appends naming one
/// attachment take turns and the second changes nothing). Fewer rows than ids: Invalid, and
/// the caller's transaction rolls back.
pub(super) fn attach(
    conn: &mut DbConnection,
    new: &NewMessage,
    message: i64,
) -> Result<(), StoreError> {
    if new.attachments.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = new.attachments.iter().map(AttachmentId::as_str).collect();
    let changed = diesel::update(
        attachments::table
            .filter(attachments::id.eq_any(&ids))
            .filter(attachments::thread_id.eq(new.thread_id.0))
            .filter(attachments::uploader_id.eq(new.sender_id.0))
            .filter(attachments::message_id.is_null()),
    )
    .set(attachments::message_id.eq(message))
    .execute(conn)?;
    if changed != ids.len() {
        return Err(DomainError::invalid(
            "attachment_ids",
            "each attachment must be one you uploaded to this thread and not attached to a message yet",
        )
        .into());
    }
    Ok(())
}

impl AttachmentStore for SqlStore {
    fn insert_attachment(&self, attachment: &Attachment) -> DomainResult<()> {
        self.write(|conn| {
            let exists = threads::table
                .filter(threads::id.eq(attachment.thread_id.0))
                .select(threads::id)
                .first::<i64>(conn)
                .optional()?
                .is_some();
            if !exists {
                return Err(thread_not_found());
            }
            diesel::insert_into(attachments::table)
                .values((
                    attachments::id.eq(attachment.id.as_str()),
                    attachments::thread_id.eq(attachment.thread_id.0),
                    attachments::uploader_id.eq(attachment.uploader_id.0),
                    attachments::content_type.eq(attachment.file_type.mime()),
                    attachments::size.eq(i64::try_from(attachment.size).unwrap_or(i64::MAX)),
                    attachments::name.eq(attachment.name.as_str()),
                    attachments::created_at_ms.eq(attachment.created_at.millis()),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    fn attachment(&self, id: &AttachmentId) -> DomainResult<Option<Attachment>> {
        self.run(|conn| {
            attachments::table
                .filter(attachments::id.eq(id.as_str()))
                .select(AttachmentRow::as_select())
                .first(conn)
                .optional()?
                .map(AttachmentRow::into_attachment)
                .transpose()
        })
    }

    fn unattached_before(&self, before: Timestamp, limit: u32) -> DomainResult<Vec<Attachment>> {
        self.run(|conn| {
            let rows = attachments::table
                .filter(attachments::message_id.is_null())
                .filter(attachments::created_at_ms.lt(before.millis()))
                .order((attachments::created_at_ms.asc(), attachments::id.asc()))
                .limit(i64::from(limit))
                .select(AttachmentRow::as_select())
                .load(conn)?;
            rows.into_iter()
                .map(AttachmentRow::into_attachment)
                .collect()
        })
    }

    fn remove_unattached(&self, id: &AttachmentId) -> DomainResult<bool> {
        self.write(|conn| {
            let removed = diesel::delete(
                attachments::table
                    .filter(attachments::id.eq(id.as_str()))
                    .filter(attachments::message_id.is_null()),
            )
            .execute(conn)?;
            Ok(removed > 0)
        })
    }

    fn message_attachments(
        &self,
        messages: &[MessageId],
    ) -> DomainResult<HashMap<MessageId, Vec<Attachment>>> {
        if messages.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = messages.iter().map(|m| m.0).collect();
        self.run(|conn| {
            let rows = attachments::table
                .filter(attachments::message_id.eq_any(&ids))
                .order((attachments::created_at_ms.asc(), attachments::id.asc()))
                .select(AttachmentRow::as_select())
                .load(conn)?;
            let mut map: HashMap<MessageId, Vec<Attachment>> = HashMap::new();
            for row in rows {
                let attachment = row.into_attachment()?;
                if let Some(m) = attachment.message_id {
                    map.entry(m).or_default().push(attachment);
                }
            }
            Ok(map)
        })
    }
}
