//! Labels: names with a colour that admins define and staff put on threads, to sort and find
//! conversations.

use serde::{Deserialize, Serialize};

use crate::{DomainError, DomainResult, LabelId};

/// The longest label name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

/// A stored label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Its identifier.
    pub id: LabelId,
    /// Its name (unique without regard to the case of ASCII letters).
    pub name: String,
    /// Its colour, `#rrggbb` in lowercase.
    pub color: String,
}

/// A label about to be stored, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLabel {
    /// The name, trimmed, 1 to [`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// The name with ASCII letters lowercased: what uniqueness compares.
    pub folded: String,
    /// `#rrggbb`, lowercase.
    pub color: String,
}

impl NewLabel {
    /// Validates a name (the hostile-text rule, then 1 to 40 characters once trimmed; field
    /// `name`) and a colour (`#rrggbb`, hex digits of either case, stored lowercase; field
    /// `color`).
    pub fn parse(name: &str, color: &str) -> DomainResult<Self> {
        crate::text::check("name", name)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(DomainError::invalid("name", "must be 1 to 40 characters"));
        }
        let color = parse_color(color)?;
        Ok(NewLabel {
            name: name.to_owned(),
            folded: name.to_ascii_lowercase(),
            color,
        })
    }
}

fn parse_color(color: &str) -> DomainResult<String> {
    let bytes = color.as_bytes();
    if bytes.len() == 7 && bytes[0] == b'#' && bytes[1..].iter().all(u8::is_ascii_hexdigit) {
        Ok(color.to_ascii_lowercase())
    } else {
        Err(DomainError::invalid("color", "must be #rrggbb"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_trimmed_folded_and_its_colour_lowercased() {
        let l = NewLabel::parse("  VIP Client ", "#A0b1C2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.name, "VIP Client");
        assert_eq!(l.folded, "vip client");
        assert_eq!(l.color, "#a0b1c2");
    }

    #[test]
    fn bad_names_and_colours_are_refused() {
        for (name, color) in [
            ("", "#000000"),
            ("   ", "#000000"),
            ("a\u{0}b", "#000000"),
            ("a\u{202e}b", "#000000"),
            (&"x".repeat(41), "#000000"),
            ("ok", "000000"),
            ("ok", "#00000"),
            ("ok", "#0000000"),
            ("ok", "#00000g"),
            ("ok", "red"),
        ] {
            assert!(NewLabel::parse(name, color).is_err(), "{name:?} {color:?}");
        }
    }
}
