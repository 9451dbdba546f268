//! The one rule for text people give: no control characters.
//!
//! Every text field a user types (message bodies, usernames, search and look-up queries, canned
//! replies, and any field added later) passes [`check`] in its parse step, so every store, REST
//! route, socket frame and seed endpoint refuses the same input the same way, before anything
//! is stored.

use crate::{DomainError, DomainResult};

/// The characters [`is_allowed`] refuses, as the inside of an ECMA-262 character class.
macro_rules! controls {
    () => {
        "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069"
    };
}

/// The whitespace `str::trim` strips (Unicode White_Space) that [`is_allowed`] lets through.
macro_rules! spaces {
    () => {
        "\\t\\n\\r \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
    };
}

/// All Unicode White_Space, `str::trim`'s set (for words parsed without [`check`]).
macro_rules! all_spaces {
    () => {
        concat!(spaces!(), "\\u000B\\u000C\\u0085")
    };
}

/// The rule as an ECMA-262 regular expression, for the OpenAPI document (`pattern`).
pub const PATTERN: &str = concat!("^[^", controls!(), "]*$");

/// The domain's text rules as ECMA-262 regular expressions, for the OpenAPI document: each one
/// matches exactly the strings its parser accepts (a test in the server checks them against
/// the parsers). Lengths are in characters (JSON Schema's `maxLength`), except where a parser
/// counts bytes, which no pattern can: see [`crate::user::Password`].
pub mod patterns {
    /// [`crate::message::MessageBody`]: a character other than whitespace, no control
    /// character (at most 4,000 characters: `maxLength`).
    pub const MESSAGE_BODY: &str = concat!(
        "^[",
        spaces!(),
        "]*[^",
        controls!(),
        spaces!(),
        "][^",
        controls!(),
        "]*$"
    );

    /// [`crate::user::Username`]: 1 to 150 letters, digits and `@.+-_` (`char::is_alphanumeric`
    /// is Unicode Alphabetic or Number), surrounding whitespace ignored.
    pub const USERNAME: &str = concat!(
        "^[",
        spaces!(),
        "]*[\\p{Alpha}\\p{N}@.+_-]{1,150}[",
        spaces!(),
        "]*$"
    );

    /// [`crate::message::ClientMessageId`]: 1 to 64 ASCII letters, digits, `-` and `_`.
    pub const CLIENT_MESSAGE_ID: &str = "^[A-Za-z0-9_-]{1,64}$";

    /// A canned reply's title ([`crate::canned::NewCannedReply`]): 1 to 100 characters once
    /// surrounding whitespace is trimmed, no control character.
    pub const CANNED_TITLE: &str = concat!(
        "^[",
        spaces!(),
        "]*[^",
        controls!(),
        spaces!(),
        "](?:[^",
        controls!(),
        "]{0,98}[^",
        controls!(),
        spaces!(),
        "])?[",
        spaces!(),
        "]*$"
    );

    /// A search ([`crate::search::SearchQuery`]): 1 to 200 characters once trimmed, with a
    /// letter or digit, no control character.
    pub const SEARCH: &str = concat!(
        "^[",
        spaces!(),
        "]*(?=[^",
        controls!(),
        "]*[\\p{Alpha}\\p{N}])[^",
        controls!(),
        spaces!(),
        "](?:[^",
        controls!(),
        "]{0,198}[^",
        controls!(),
        spaces!(),
        "])?[",
        spaces!(),
        "]*$"
    );

    /// A client look-up (`Chat::search_clients`): 1 to 150 characters once trimmed, no control
    /// character.
    pub const CLIENT_LOOKUP: &str = concat!(
        "^[",
        spaces!(),
        "]*[^",
        controls!(),
        spaces!(),
        "](?:[^",
        controls!(),
        "]{0,148}[^",
        controls!(),
        spaces!(),
        "])?[",
        spaces!(),
        "]*$"
    );

    /// [`crate::thread::ThreadType::parse`] of text: `loan`, `payment`, `other` in any ASCII
    /// case, or the seed's number 1 to 3, surrounding whitespace ignored.
    pub const THREAD_TYPE: &str = concat!(
        "^[",
        all_spaces!(),
        "]*(?:[Ll][Oo][Aa][Nn]|[Pp][Aa][Yy][Mm][Ee][Nn][Tt]|[Oo][Tt][Hh][Ee][Rr]|\\+?0*[1-3])[",
        all_spaces!(),
        "]*$"
    );

    /// [`crate::thread::ThreadStatus::parse`]: `open`, `pending`, `resolved` in any ASCII case,
    /// surrounding whitespace ignored.
    pub const THREAD_STATUS: &str = concat!(
        "^[",
        all_spaces!(),
        "]*(?:[Oo][Pp][Ee][Nn]|[Pp][Ee][Nn][Dd][Ii][Nn][Gg]|[Rr][Ee][Ss][Oo][Ll][Vv][Ee][Dd])[",
        all_spaces!(),
        "]*$"
    );

    /// A label's name ([`crate::label::NewLabel`]): 1 to 40 characters once surrounding
    /// whitespace is trimmed, no control character.
    pub const LABEL_NAME: &str = concat!(
        "^[",
        spaces!(),
        "]*[^",
        controls!(),
        spaces!(),
        "](?:[^",
        controls!(),
        "]{0,38}[^",
        controls!(),
        spaces!(),
        "])?[",
        spaces!(),
        "]*$"
    );

    /// A label's colour ([`crate::label::NewLabel`]): `#rrggbb`, hex digits of either case.
    pub const LABEL_COLOR: &str = "^#[0-9A-Fa-f]{6}$";

    /// A staff list's text ([`crate::inbox::TextFilter`]): 1 to 100 characters once trimmed,
    /// no control character.
    pub const LIST_TEXT: &str = concat!(
        "^[",
        spaces!(),
        "]*[^",
        controls!(),
        spaces!(),
        "](?:[^",
        controls!(),
        "]{0,98}[^",
        controls!(),
        spaces!(),
        "])?[",
        spaces!(),
        "]*$"
    );

    /// An instant ([`crate::inbox::parse_instant`]): RFC 3339 with a `T` and an offset or `Z`
    /// (either case), fractions of a second optional.
    pub const INSTANT: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$";

    /// [`crate::inbox::Assignee::parse`]: `me`, `none`, or a user id of 1 to 18 digits,
    /// exactly (no whitespace, lowercase).
    pub const ASSIGNEE: &str = "^(?:me|none|[0-9]{1,18})$";

    /// [`crate::inbox::ActivityCursor::parse`]: `<millis>_<id>`, each 1 to 18 digits.
    pub const CURSOR: &str = "^[0-9]{1,18}_[0-9]{1,18}$";
    /// [`crate::routing::Availability::parse`]: `online`, `away`, `offline` in any ASCII case,
    /// surrounding whitespace ignored.
    pub const AVAILABILITY: &str = concat!(
        "^[",
        all_spaces!(),
        "]*(?:[Oo][Nn][Ll][Ii][Nn][Ee]|[Aa][Ww][Aa][Yy]|[Oo][Ff][Ff][Ll][Ii][Nn][Ee])[",
        all_spaces!(),
        "]*$"
    );

    /// [`crate::routing::RoutingMode::parse`]: `auto`, `manual` in any ASCII case, surrounding
    /// whitespace ignored.
    pub const ROUTING_MODE: &str = concat!(
        "^[",
        all_spaces!(),
        "]*(?:[Aa][Uu][Tt][Oo]|[Mm][Aa][Nn][Uu][Aa][Ll])[",
        all_spaces!(),
        "]*$"
    );

    /// [`crate::user::Role::parse`]: `client`, `agent`, `admin` in any ASCII case, surrounding
    /// whitespace ignored.
    pub const ROLE: &str = concat!(
        "^[",
        all_spaces!(),
        "]*(?:[Cc][Ll][Ii][Ee][Nn][Tt]|[Aa][Gg][Ee][Nn][Tt]|[Aa][Dd][Mm][Ii][Nn])[",
        all_spaces!(),
        "]*$"
    );
}

/// Whether `c` may appear in text a person gives. Refused: the C0 controls (NUL included)
/// other than tab, line feed and carriage return; DEL and the C1 controls; and the
/// bidirectional embedding, override and isolate controls (U+202A..U+202E, U+2066..U+2069),
/// which make text display in another order than it is written.
pub fn is_allowed(c: char) -> bool {
    !matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Refuses `text` when it holds a character [`is_allowed`] refuses, as
/// [`DomainError::Invalid`] naming `field`, the character and its position (1-based).
pub fn check(field: &'static str, text: &str) -> DomainResult<()> {
    match text.chars().enumerate().find(|(_, c)| !is_allowed(*c)) {
        None => Ok(()),
        Some((at, c)) => Err(DomainError::invalid(
            field,
            format!(
                "must not contain control characters (U+{:04X} at character {})",
                u32::from(c),
                at + 1
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_refused_and_layout_whitespace_kept() {
        for bad in [
            "a\u{0}b",
            "\u{1b}[31m",
            "x\u{7f}",
            "\u{85}",
            "abc\u{202e}fed",
            "\u{2067}",
        ] {
            assert!(check("body", bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "line\nnext\r\n\tindented",
            "héllo 👋",
            "a\u{200b}b",
            "\u{2028}",
        ] {
            assert_eq!(check("body", good), Ok(()), "{good:?} refused");
        }
    }

    #[test]
    fn the_error_names_field_character_and_place() {
        let err = check("q", "ab\u{0}").err();
        assert_eq!(
            err,
            Some(DomainError::invalid(
                "q",
                "must not contain control characters (U+0000 at character 3)"
            ))
        );
    }
}
