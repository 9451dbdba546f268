//! Attachments: files clients and staff attach to messages. The bytes live in a blob store
//! ([`crate::ports::BlobStore`]), the metadata (thread, uploader, checked type, size, name, the
//! message it went into) in the store ([`crate::ports::AttachmentStore`]).
//!
//! A file's type comes from its content (magic bytes), never from its name or a declared type:
//! [`sniff`] names it or refuses it.

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult, MessageId, ThreadId, Timestamp, UserId};

/// An attachment's id: 32 lowercase hex digits (128 random bits), so ids cannot be guessed;
/// every download is still checked against the thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttachmentId(String);

impl AttachmentId {
    /// A new random id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        AttachmentId(hex::encode(bytes))
    }

    /// Validates an id given by a caller: exactly 32 lowercase hex digits.
    pub fn parse(text: &str) -> DomainResult<Self> {
        let ok = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(AttachmentId(text.to_owned()))
        } else {
            Err(DomainError::invalid(
                "attachment_ids",
                "an attachment id is 32 lowercase hex digits",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of its bytes in the blob store.
    pub fn blob_key(&self) -> String {
        format!("attachments/{}", self.0)
    }
}

impl std::fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The types an attachment may have, as recognised from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// PDF document.
    Pdf,
    /// Plain UTF-8 text (no control characters, not markup).
    Txt,
}

impl FileType {
    /// Every type, in the order config and docs list them.
    pub const ALL: [FileType; 6] = [
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
        FileType::Webp,
        FileType::Pdf,
        FileType::Txt,
    ];

    /// The short name used in config (`png`, `jpeg`, `gif`, `webp`, `pdf`, `txt`).
    pub fn name(self) -> &'static str {
        match self {
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Pdf => "pdf",
            FileType::Txt => "txt",
        }
    }

    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Self> {
        FileType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its MIME type (`Content-Type` of downloads).
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Pdf => "application/pdf",
            FileType::Txt => "text/plain; charset=utf-8",
        }
    }

    /// Parses a stored MIME type.
    pub fn from_mime(mime: &str) -> Option<Self> {
        FileType::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// Whether pages may show it inline: raster images only (never HTML, SVG or PDF).
    pub fn is_inline_image(self) -> bool {
        matches!(
            self,
            FileType::Png | FileType::Jpeg | FileType::Gif | FileType::Webp
        )
    }
}

/// The type of a file from its content: a raster image, a PDF or plain text, or `None` for
/// anything else (HTML, SVG, executables, archives, unknown binary). Markup is never text:
/// UTF-8 whose first character (after a byte order mark and white space) is `<` is refused.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if let Some(kind) = infer::get(bytes) {
        return match kind.mime_type() {
            "image/png" => Some(FileType::Png),
            "image/jpeg" => Some(FileType::Jpeg),
            "image/gif" => Some(FileType::Gif),
            "image/webp" => Some(FileType::Webp),
            "application/pdf" => Some(FileType::Pdf),
            _ => None,
        };
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('<') || crate::text::check("file", text).is_err() {
        return None;
    }
    Some(FileType::Txt)
}

/// A file name as given by the uploader, kept for display: its last path part, at most 255
/// characters, no control characters; `file` when none is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    /// Longest kept name, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates a name (the part after the last `/` or `\`).
    pub fn parse(name: Option<&str>) -> DomainResult<Self> {
        let name = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
        crate::text::check("file_name", name)?;
        let name = name.trim();
        if name.chars().count() > Self::MAX_CHARS {
            return Err(DomainError::invalid(
                "file_name",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(FileName(if name.is_empty() {
            "file".to_owned()
        } else {
            name.to_owned()
        }))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What uploads may be: how big and which types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentPolicy {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// The accepted types.
    pub allowed: Vec<FileType>,
    /// How long an upload may stay tied to no message before
    /// [`crate::Chat::sweep_unattached_uploads`] removes it, in milliseconds (`None`: kept).
    pub unattached_ttl_ms: Option<i64>,
}

impl Default for AttachmentPolicy {
    fn default() -> Self {
        AttachmentPolicy {
            max_bytes: 10 * 1024 * 1024,
            allowed: FileType::ALL.to_vec(),
            unattached_ttl_ms: Some(24 * 60 * 60 * 1000),
        }
    }
}

/// A stored attachment's metadata. On the wire (live events, between instances) it reads
/// `{"id", "url", "content_type", "size", "name", "thread_id", "uploader_id", "created_at",
/// "message_id"}`, `url` being [`Attachment::url`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "AttachmentWire", try_from = "AttachmentWire")]
pub struct Attachment {
    /// Its id.
    pub id: AttachmentId,
    /// The thread it was uploaded to (and may only be used in).
    pub thread_id: ThreadId,
    /// Who uploaded it (the only one who may attach it to a message).
    pub uploader_id: UserId,
    /// Its type, from its content.
    pub file_type: FileType,
    /// Its size in bytes.
    pub size: u64,
    /// The uploader's name for it.
    pub name: FileName,
    /// When it was uploaded.
    pub created_at: Timestamp,
    /// The message it is attached to, once it is (at most one, ever).
    pub message_id: Option<MessageId>,
}

impl Attachment {
    /// Where it is downloaded: `/api/v1/attachments/<id>` (authorised like its thread).
    pub fn url(&self) -> String {
        format!("/api/v1/attachments/{}", self.id)
    }
}

/// [`Attachment`] as serialised.
#[derive(Serialize, Deserialize)]
struct AttachmentWire {
    id: AttachmentId,
    url: String,
    content_type: String,
    size: u64,
    name: FileName,
    thread_id: ThreadId,
    uploader_id: UserId,
    created_at: Timestamp,
    message_id: Option<MessageId>,
}

impl From<Attachment> for AttachmentWire {
    fn from(a: Attachment) -> Self {
        AttachmentWire {
            url: a.url(),
            content_type: a.file_type.mime().to_owned(),
            id: a.id,
            size: a.size,
            name: a.name,
            thread_id: a.thread_id,
            uploader_id: a.uploader_id,
            created_at: a.created_at,
            message_id: a.message_id,
        }
    }
}

impl TryFrom<AttachmentWire> for Attachment {
    type Error = String;

    fn try_from(w: AttachmentWire) -> Result<Self, Self::Error> {
        let file_type = FileType::from_mime(&w.content_type)
            .ok_or_else(|| format!("unknown attachment type {:?}", w.content_type))?;
        Ok(Attachment {
            id: w.id,
            thread_id: w.thread_id,
            uploader_id: w.uploader_id,
            file_type,
            size: w.size,
            name: w.name,
            created_at: w.created_at,
            message_id: w.message_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content_not_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png), Some(FileType::Png));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Some(FileType::Jpeg));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(FileType::Gif));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            sniff("plain words, caf\u{e9}\n".as_bytes()),
            Some(FileType::Txt)
        );
        for refused in [
            &b"<!DOCTYPE html><script>alert(1)</script>"[..],
            b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            b"\xef\xbb\xbf<html>",
            b"MZ\x90\0\x03\0\0\0",
            b"\x7fELF\x02\x01\x01\0",
            b"PK\x03\x04\x14\0",
            b"text with a \x1b[31m escape",
            b"\xff\xfe not utf-8",
        ] {
            assert_eq!(sniff(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn ids_are_random_and_strict() {
        let a = AttachmentId::random();
        assert_ne!(a, AttachmentId::random());
        assert_eq!(AttachmentId::parse(a.as_str()), Ok(a));
        assert!(AttachmentId::parse("../../etc/passwd").is_err());
        assert!(AttachmentId::parse(&"A".repeat(32)).is_err());
    }

    #[test]
    fn the_wire_form_round_trips() {
        let a = Attachment {
            id: AttachmentId::random(),
            thread_id: ThreadId(3),
            uploader_id: UserId(4),
            file_type: FileType::Webp,
            size: 10,
            name: FileName::parse(Some("C:\\shots\\a.webp")).unwrap_or_else(|e| panic!("{e}")),
            created_at: Timestamp(5),
            message_id: None,
        };
        assert_eq!(a.name.as_str(), "a.webp");
        let json = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(json["content_type"], "image/webp");
        assert_eq!(json["url"], format!("/api/v1/attachments/{}", a.id));
        let back: Attachment = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, a);
    }
}
