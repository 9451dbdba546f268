//! Files attached to messages: upload, download, and filling messages' `attachments`.

use std::sync::Arc;

use super::Chat;
use crate::attachment::{sniff, Attachment, AttachmentId, AttachmentPolicy, FileName};
use crate::message::Message;
use crate::ports::BlobStore;
use crate::user::User;
use crate::{DomainError, DomainResult, ThreadId};

/// Most unattached uploads one sweep removes (the next sweep takes the rest).
pub const UNATTACHED_SWEEP_BATCH: u32 = 100;

impl Chat {
    /// Enables attachments: their bytes go to `blobs`, within `policy`'s limits.
    pub fn with_attachments(mut self, blobs: Arc<dyn BlobStore>, policy: AttachmentPolicy) -> Self {
        self.blobs = Some(blobs);
        self.attachment_policy = Arc::new(policy);
        self
    }

    /// The attachment limits in force.
    pub fn attachment_policy(&self) -> &AttachmentPolicy {
        &self.attachment_policy
    }

    fn blobs(&self) -> DomainResult<&Arc<dyn BlobStore>> {
        self.blobs
            .as_ref()
            .ok_or_else(|| DomainError::unavailable("no blob store is configured"))
    }

    /// Uploads a file to a thread, for whoever may read the thread (its client, or staff).
    /// Its type is recognised from its content ([`sniff`]) and must be one the policy allows;
    /// it must not be empty nor larger than the policy's `max_bytes` (Invalid `file`, and
    /// nothing is stored). The bytes go to the blob store first, then the metadata to the store
    /// (the blob is removed again if that fails). The attachment belongs to no message until its
    /// uploader sends one naming it.
    pub fn upload_attachment(
        &self,
        actor: &User,
        thread_id: ThreadId,
        name: Option<&str>,
        bytes: Vec<u8>,
    ) -> DomainResult<Attachment> {
        let name = FileName::parse(name)?;
        self.viewable_thread(actor, thread_id)?;
        let policy = &self.attachment_policy;
        let size = bytes.len() as u64;
        if size == 0 {
            return Err(DomainError::invalid("file", "must not be empty"));
        }
        if size > policy.max_bytes {
            return Err(DomainError::invalid(
                "file",
                format!("must be at most {} bytes", policy.max_bytes),
            ));
        }
        let accepted = || {
            policy
                .allowed
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let file_type = match sniff(&bytes) {
            Some(t) if policy.allowed.contains(&t) => t,
            _ => {
                return Err(DomainError::invalid(
                    "file",
                    format!(
                        "the content is not of an accepted type ({}); the type is read from the content, not the name",
                        accepted()
                    ),
                ))
            }
        };
        let blobs = self.blobs()?;
        let attachment = Attachment {
            id: AttachmentId::random(),
            thread_id,
            uploader_id: actor.id,
            file_type,
            size,
            name,
            created_at: self.now(),
            message_id: None,
        };
        let key = attachment.id.blob_key();
        blobs.put_blob(&key, bytes)?;
        if let Err(err) = self.store.insert_attachment(&attachment) {
            if let Err(cleanup) = blobs.delete_blob(&key) {
                tracing::warn!(error = %cleanup, key, "orphan blob left behind");
            }
            return Err(err);
        }
        Ok(attachment)
    }

    /// An attachment and its bytes, for whoever may read its thread (its client, or staff);
    /// NotFound for an unknown or malformed id, Forbidden for another client's.
    pub fn download_attachment(
        &self,
        actor: &User,
        id: &str,
    ) -> DomainResult<(Attachment, Vec<u8>)> {
        let id = AttachmentId::parse(id).map_err(|_| DomainError::NotFound("attachment"))?;
        let attachment = self
            .store
            .attachment(&id)?
            .ok_or(DomainError::NotFound("attachment"))?;
        self.viewable_thread(actor, attachment.thread_id)?;
        let bytes = self
            .blobs()?
            .get_blob(&id.blob_key())?
            .ok_or(DomainError::NotFound("attachment"))?;
        Ok((attachment, bytes))
    }

    /// Removes uploads that were never sent with a message (their metadata, then their bytes)
    /// once they are older than the policy's `unattached_ttl_ms` (none when it is unset or no
    /// blob store is configured), oldest first, at most [`UNATTACHED_SWEEP_BATCH`] per call.
    /// Safe on many instances at once and against a send naming one: the metadata's removal is
    /// conditional on it being tied to no message, so exactly one of the two wins, and only
    /// the winner of a removal deletes the bytes. Returns how many it removed.
    pub fn sweep_unattached_uploads(&self) -> DomainResult<usize> {
        let (Some(ttl_ms), Some(blobs)) = (
            self.attachment_policy
                .unattached_ttl_ms
                .filter(|ms| *ms > 0),
            self.blobs.as_ref(),
        ) else {
            return Ok(0);
        };
        let before = self.now().plus_millis(-ttl_ms);
        let mut removed = 0;
        for upload in self
            .store
            .unattached_before(before, UNATTACHED_SWEEP_BATCH)?
        {
            if !self.store.remove_unattached(&upload.id)? {
                continue;
            }
            removed += 1;
            let key = upload.id.blob_key();
            if let Err(err) = blobs.delete_blob(&key) {
                tracing::warn!(error = %err, key, "an unattached upload's bytes were left behind");
            }
        }
        Ok(removed)
    }

    /// Fills in each message's `attachments` (one store query).
    pub(super) fn fill_attachments(
        &self,
        mut messages: Vec<Message>,
    ) -> DomainResult<Vec<Message>> {
        if messages.is_empty() {
            return Ok(messages);
        }
        let ids: Vec<_> = messages.iter().map(|m| m.id).collect();
        let mut found = self.store.message_attachments(&ids)?;
        for message in &mut messages {
            if let Some(list) = found.remove(&message.id) {
                message.attachments = list;
            }
        }
        Ok(messages)
    }
}

/// Parses the `attachment_ids` of a send: each a valid id, none twice, at most
/// [`MAX_ATTACHMENTS`].
pub fn parse_attachment_ids(ids: &[String]) -> DomainResult<Vec<AttachmentId>> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(
            "attachment_ids",
            format!("at most {MAX_ATTACHMENTS} attachments per message"),
        ));
    }
    let mut parsed: Vec<AttachmentId> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = AttachmentId::parse(id)?;
        if parsed.contains(&id) {
            return Err(DomainError::invalid(
                "attachment_ids",
                "an attachment is named twice",
            ));
        }
        parsed.push(id);
    }
    Ok(parsed)
}

/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;
