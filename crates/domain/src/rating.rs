//! Ratings: a client's score (1 to 5) and optional comment for a resolved conversation, once per
//! resolution.

use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult, RatingId, ThreadId, Timestamp, UserId};

/// The longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// A stored rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Its identifier.
    pub id: RatingId,
    /// The rated thread.
    pub thread_id: ThreadId,
    /// The client who rated it.
    pub client_id: UserId,
    /// The agent who held the thread last (who resolved it, or held it before an admin did).
    pub agent_id: Option<UserId>,
    /// 1 (bad) to 5 (very good).
    pub score: i32,
    /// What the client added, if anything.
    pub comment: Option<String>,
    /// Which resolution it rates: the thread's [`crate::thread::Thread::resolutions`] when it
    /// was rated. Every new resolution (after any reopening, by a message or a status change)
    /// moves it on.
    pub resolution_seq: i64,
    /// When.
    pub created_at: Timestamp,
}

/// A rating about to be stored, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRating {
    /// The rated thread.
    pub thread_id: ThreadId,
    /// The client rating it.
    pub client_id: UserId,
    /// The agent who held the thread last.
    pub agent_id: Option<UserId>,
    /// 1 to 5.
    pub score: i32,
    /// Trimmed, 1 to [`MAX_COMMENT_CHARS`] characters, or none.
    pub comment: Option<String>,
    /// When.
    pub created_at: Timestamp,
}

/// Validates a score: 1 to 5 (Invalid, field `score`).
pub fn parse_score(score: i64) -> DomainResult<i32> {
    match score {
        1..=5 => Ok(score as i32),
        _ => Err(DomainError::invalid("score", "must be 1 to 5")),
    }
}

/// Validates a comment: the hostile-text rule, then at most [`MAX_COMMENT_CHARS`] characters
/// once trimmed (Invalid, field `comment`); empty or only whitespace is no comment.
pub fn parse_comment(comment: Option<&str>) -> DomainResult<Option<String>> {
    let Some(comment) = comment else {
        return Ok(None);
    };
    crate::text::check("comment", comment)?;
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(DomainError::invalid(
            "comment",
            "must be at most 1000 characters",
        ));
    }
    Ok((!comment.is_empty()).then(|| comment.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert_eq!(parse_score(1), Ok(1));
        assert_eq!(parse_score(5), Ok(5));
        for bad in [0, 6, -1, i64::MAX, i64::MIN] {
            assert!(parse_score(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_are_trimmed_checked_and_optional() {
        assert_eq!(parse_comment(None), Ok(None));
        assert_eq!(parse_comment(Some("   ")), Ok(None));
        assert_eq!(parse_comment(Some(" great ")), Ok(Some("great".to_owned())));
        assert!(parse_comment(Some("bell\u{7}")).is_err());
        assert!(parse_comment(Some(&"x".repeat(1001))).is_err());
        assert!(parse_comment(Some(&"x".repeat(1000))).is_ok());
    }
}
