//! Canned replies: answers admins prepare and agents insert, with `{placeholder}`s.

use serde::{Deserialize, Serialize};

use crate::{CannedReplyId, DomainError, DomainResult, Timestamp, UserId};

/// A stored canned reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedReply {
    /// Its identifier.
    pub id: CannedReplyId,
    /// A short title agents pick it by.
    pub title: String,
    /// The text, with placeholders such as `{client_name}`.
    pub body: String,
    /// The admin who wrote it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// A canned reply about to be stored.
#[derive(Debug, Clone)]
pub struct NewCannedReply {
    /// Its title (1 to 100 characters).
    pub title: String,
    /// Its body (a valid message body).
    pub body: String,
    /// The admin writing it.
    pub created_by: UserId,
    /// When.
    pub created_at: Timestamp,
}

impl NewCannedReply {
    /// Validates title and body.
    pub fn new(
        title: &str,
        body: &str,
        created_by: UserId,
        created_at: Timestamp,
    ) -> DomainResult<Self> {
        crate::text::check("title", title)?;
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            return Err(DomainError::invalid("title", "must be 1 to 100 characters"));
        }
        crate::message::MessageBody::parse(body)?;
        Ok(NewCannedReply {
            title: title.to_owned(),
            body: body.to_owned(),
            created_by,
            created_at,
        })
    }
}

/// Fills `{name}` placeholders from `values`; unknown placeholders are left as they are.
pub fn render(body: &str, values: &[(&str, &str)]) -> String {
    let mut out = body.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_filled() {
        let text = super::render(
            "Hi {client_name}, {agent_name} here. {x}",
            &[("client_name", "Ann"), ("agent_name", "Bo")],
        );
        assert_eq!(text, "Hi Ann, Bo here. {x}");
    }
}
