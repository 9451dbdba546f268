//! Staff's lists of conversations ("Mine", "Queue", "All"): which threads, and where a page ends.

use crate::thread::{Thread, ThreadStatus, ThreadType};
use crate::{DomainError, DomainResult, LabelId, ThreadId, Timestamp, UserId};

/// Whose conversations: by the holder of the live claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assignee {
    /// Held or not, by anyone.
    #[default]
    Anyone,
    /// Held by this agent (a live claim).
    Agent(UserId),
    /// Held by nobody (no claim, or a lapsed one).
    Nobody,
}

impl Assignee {
    /// Reads an `assignee` filter as `actor` gives it: `me` (the actor), `none`, or a user id
    /// of 1 to 18 digits (Invalid, field `assignee`, otherwise). An id nobody has lists nothing.
    pub fn parse(text: &str, actor: UserId) -> DomainResult<Self> {
        match text {
            "me" => Ok(Assignee::Agent(actor)),
            "none" => Ok(Assignee::Nobody),
            digits
                if !digits.is_empty()
                    && digits.len() <= ActivityCursor::MAX_DIGITS
                    && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                digits
                    .parse::<i64>()
                    .map(|id| Assignee::Agent(UserId(id)))
                    .map_err(|_| Self::invalid())
            }
            _ => Err(Self::invalid()),
        }
    }

    fn invalid() -> DomainError {
        DomainError::invalid("assignee", "must be me, none or a user id")
    }

    /// Whether a thread at `now` matches.
    pub fn matches(self, thread: &Thread, now: Timestamp) -> bool {
        match self {
            Assignee::Anyone => true,
            Assignee::Agent(agent) => thread.is_held_by(agent, now),
            Assignee::Nobody => thread.live_claim(now).is_none(),
        }
    }
}

/// A span of time: from `from` (inclusive) to `to` (exclusive); an absent end is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// The first instant in the range.
    pub from: Option<Timestamp>,
    /// The first instant after the range.
    pub to: Option<Timestamp>,
}

impl TimeRange {
    /// Whether `at` lies in the range.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }
}

/// Reads an instant of a staff list's range (`field` names it in the error): RFC 3339 as
/// [`crate::text::patterns::INSTANT`] spells it, a real date and time (Invalid otherwise).
pub fn parse_instant(field: &'static str, text: &str) -> DomainResult<Timestamp> {
    let bad = || {
        DomainError::invalid(
            field,
            "must be an RFC 3339 date-time, e.g. 2025-11-25T10:00:00Z",
        )
    };
    let bytes = text.as_bytes();
    let shaped = bytes.len() >= 20
        && bytes.len() <= 35
        && bytes.is_ascii()
        && matches!(bytes[10], b'T' | b't')
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shaped {
        return Err(bad());
    }
    Timestamp::parse_rfc3339(text).ok_or_else(bad)
}

/// The longest text filter (`q`) of a staff list, in characters.
pub const MAX_TEXT_CHARS: usize = 100;

/// A staff list's text filter: a thread matches when one of its entries (messages and, as the
/// list is staff's, private notes) contains the text, ignoring the case of ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFilter {
    folded: String,
}

impl TextFilter {
    /// Validates `q`: the hostile-text rule, then 1 to [`MAX_TEXT_CHARS`] characters once
    /// trimmed (Invalid, field `q`).
    pub fn parse(text: &str) -> DomainResult<Self> {
        crate::text::check("q", text)?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            return Err(DomainError::invalid("q", "must be 1 to 100 characters"));
        }
        Ok(TextFilter {
            folded: text.to_ascii_lowercase(),
        })
    }

    /// The text with ASCII letters lowercased.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Whether a body contains the text, ignoring the case of ASCII letters.
    pub fn found_in(&self, body: &str) -> bool {
        body.to_ascii_lowercase().contains(&self.folded)
    }
}

/// Which threads a list shows. Every given criterion must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadFilter {
    /// Whose.
    pub assignee: Assignee,
    /// Only this status, if given.
    pub status: Option<ThreadStatus>,
    /// Only this client's, if given.
    pub client: Option<UserId>,
    /// Only this type, if given.
    pub thread_type: Option<ThreadType>,
    /// Only threads carrying this label, if given.
    pub label: Option<LabelId>,
    /// Only threads whose client waits for an answer (`true`) or does not (`false`), if given.
    pub waiting: Option<bool>,
    /// Only threads created in this range.
    pub created: TimeRange,
    /// Only threads whose last activity lies in this range.
    pub active: TimeRange,
    /// Only threads with an entry containing this text, if given.
    pub text: Option<TextFilter>,
}

impl ThreadFilter {
    /// Whether a thread at `now` passes the criteria a thread's own row decides: all but the
    /// label and the text (which a store checks against the thread's labels and entries).
    pub fn matches(&self, thread: &Thread, now: Timestamp) -> bool {
        self.assignee.matches(thread, now)
            && self.status.is_none_or(|s| thread.status == s)
            && self.client.is_none_or(|c| thread.client_id == c)
            && self.thread_type.is_none_or(|t| thread.thread_type == t)
            && self
                .waiting
                .is_none_or(|w| thread.waiting_since.is_some() == w)
            && self.created.contains(thread.created_at)
            && self.active.contains(thread.last_activity_at)
    }
}

/// Where a page of a newest-activity-first list ended: the last thread's activity time and id.
/// Its text form (`<millis>_<id>`) is the API's opaque `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    /// The last listed thread's `last_activity_at`.
    pub last_activity_at: Timestamp,
    /// The last listed thread's id.
    pub id: ThreadId,
}

impl ActivityCursor {
    /// The largest number of digits of either part (always fits an `i64`).
    pub const MAX_DIGITS: usize = 18;

    /// The cursor after this thread.
    pub fn after(thread: &Thread) -> Self {
        ActivityCursor {
            last_activity_at: thread.last_activity_at,
            id: thread.id,
        }
    }

    /// Whether a thread comes strictly after the cursor (activity descending, then id
    /// descending).
    pub fn precedes(&self, thread: &Thread) -> bool {
        (thread.last_activity_at, thread.id) < (self.last_activity_at, self.id)
    }

    /// The cursor's text.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.last_activity_at.millis(), self.id.0)
    }

    /// Reads a cursor's text: `<millis>_<id>`, each 1 to 18 digits (Invalid, field `cursor`).
    pub fn parse(text: &str) -> DomainResult<Self> {
        let bad = || DomainError::invalid("cursor", "not a cursor this API gave");
        let (at, id) = text.split_once('_').ok_or_else(bad)?;
        let number = |part: &str| -> DomainResult<i64> {
            if part.is_empty()
                || part.len() > Self::MAX_DIGITS
                || !part.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            part.parse::<i64>().map_err(|_| bad())
        };
        Ok(ActivityCursor {
            last_activity_at: Timestamp(number(at)?),
            id: ThreadId(number(id)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let c = ActivityCursor {
            last_activity_at: Timestamp(1_764_064_800_000),
            id: ThreadId(42),
        };
        assert_eq!(c.encode(), "1764064800000_42");
        assert_eq!(ActivityCursor::parse(&c.encode()), Ok(c));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "_",
            "1_",
            "_1",
            "1-2",
            "a_1",
            "1_2_3",
            "-1_2",
            "1234567890123456789_1",
            "1_ 2",
        ] {
            assert!(ActivityCursor::parse(bad).is_err(), "{bad:?}");
        }
    }
}
