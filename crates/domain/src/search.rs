//! Search over messages, limited to what the searching user may see.

use serde::{Deserialize, Serialize};

use crate::message::Message;
use crate::{DomainError, DomainResult, UserId};

/// What to search for, and within which messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words to look for (all of them must occur).
    pub text: String,
    /// Whose threads to search.
    pub scope: SearchScope,
    /// Most hits to return.
    pub limit: u32,
}

/// The threads a search may look into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// Only the threads of this client, and only messages (never a note).
    ClientThreads(UserId),
    /// Every thread, notes included (staff).
    All,
}

impl SearchQuery {
    /// Validates the text: 1 to 200 characters with at least one letter or digit, and no
    /// control characters.
    pub fn new(text: &str, scope: SearchScope, limit: u32) -> DomainResult<Self> {
        crate::text::check("q", text)?;
        let text = text.trim();
        if !text.chars().any(char::is_alphanumeric) || text.chars().count() > 200 {
            return Err(DomainError::invalid(
                "q",
                "must be 1 to 200 characters with a letter or digit",
            ));
        }
        Ok(SearchQuery {
            text: text.to_owned(),
            scope,
            limit: limit.clamp(1, 100),
        })
    }

    /// The query's words, lowercased: runs of letters and digits.
    pub fn terms(&self) -> Vec<String> {
        self.text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase)
            .collect()
    }
}

/// The text of a client look-up (`Chat::search_clients`): no control characters, 1 to
/// [`crate::user::Username::MAX_CHARS`] characters once trimmed (Invalid, field `q`). Answers the
/// trimmed text.
pub fn client_lookup(text: &str) -> DomainResult<&str> {
    crate::text::check("q", text)?;
    let max = crate::user::Username::MAX_CHARS;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(DomainError::invalid(
            "q",
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(text)
}

/// One match, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The matching message.
    pub message: Message,
    /// The username of the thread's client.
    pub client_username: String,
    /// Relevance (higher is better; comparable only within one answer).
    pub rank: f64,
}
