//! The one rule for text people give: no control characters.
//!
//! Every text field a user types (message bodies, usernames, search and look-up queries, canned
//! replies, and any field added later) passes [`check`] in its parse step, so every store, REST
//! route, socket frame and seed endpoint refuses the same input the same way, before anything
//! is stored.

use crate::{DomainError, DomainResult};

/// The rule as an ECMA-262 regular expression, for the OpenAPI document (`pattern`).
pub const PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

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
