//! Properties of the parse steps, over generated input: they never panic, they accept exactly
//! what their rule says, and what they accept is kept as given. `text::PATTERN` (the rule as the
//! OpenAPI document states it) and `text::is_allowed` agree on every string.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::message::{ClientMessageId, MessageBody};
use chat_domain::search::{SearchQuery, SearchScope};
use chat_domain::text;
use chat_domain::user::{Password, Username};
use chat_domain::DomainError;
use proptest::prelude::*;

/// Strings mixing plain text with the characters rules care about: controls, bidi overrides,
/// whitespace of every kind, astral and combining characters, and the username punctuation.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-zA-Z0-9 ]{0,8}",
        "[@.+_-]{1,2}",
        Just("\u{0}".to_owned()),
        Just("\t".to_owned()),
        Just("\r\n".to_owned()),
        Just("\u{1b}".to_owned()),
        Just("\u{7f}".to_owned()),
        Just("\u{85}".to_owned()),
        Just("\u{9f}".to_owned()),
        Just("\u{a0}".to_owned()),
        Just("\u{200b}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{2067}".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\u{3000}".to_owned()),
        Just("é".to_owned()),
        Just("e\u{301}".to_owned()),
        Just("日本".to_owned()),
        Just("👋🏽".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

fn has_forbidden(text: &str) -> bool {
    !text.chars().all(text::is_allowed)
}

fn invalid_field(err: DomainError) -> &'static str {
    match err {
        DomainError::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_pattern_and_the_rule_agree(text in tricky_text()) {
        let pattern = regex::Regex::new(text::PATTERN).unwrap();
        prop_assert_eq!(pattern.is_match(&text), text.chars().all(text::is_allowed));
        prop_assert_eq!(text::check("f", &text).is_ok(), !has_forbidden(&text));
    }

    #[test]
    fn a_body_is_accepted_exactly_when_clean_not_blank_and_short_enough(text in tricky_text()) {
        let expected = !has_forbidden(&text)
            && !text.trim().is_empty()
            && text.chars().count() <= MessageBody::MAX_CHARS;
        match MessageBody::parse(&text) {
            Ok(body) => {
                prop_assert!(expected);
                prop_assert_eq!(body.as_str(), text.as_str());
            }
            Err(err) => {
                prop_assert!(!expected);
                prop_assert_eq!(invalid_field(err), "message_body");
            }
        }
    }

    #[test]
    fn a_username_is_trimmed_and_only_letters_digits_and_django_punctuation(text in tricky_text()) {
        match Username::parse(&text) {
            Ok(name) => {
                let kept = name.as_str();
                prop_assert!(!has_forbidden(&text));
                prop_assert_eq!(kept, text.trim());
                prop_assert!((1..=Username::MAX_CHARS).contains(&kept.chars().count()));
                prop_assert!(kept.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)));
            }
            Err(err) => prop_assert_eq!(invalid_field(err), "username"),
        }
    }

    #[test]
    fn a_new_password_is_8_characters_to_72_bytes_without_controls(text in tricky_text()) {
        let expected = !has_forbidden(&text) && text.chars().count() >= 8 && text.len() <= 72;
        match Password::parse(&text) {
            Ok(password) => {
                prop_assert!(expected);
                prop_assert_eq!(password.expose(), text.as_str());
            }
            Err(err) => {
                prop_assert!(!expected);
                prop_assert_eq!(invalid_field(err), "password");
            }
        }
    }

    #[test]
    fn a_client_message_id_is_1_to_64_ascii_letters_digits_dash_underscore(
        text in prop_oneof!["[a-zA-Z0-9_-]{0,70}", tricky_text()]
    ) {
        let expected = (1..=64).contains(&text.len())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        match ClientMessageId::parse(&text) {
            Ok(id) => {
                prop_assert!(expected);
                prop_assert_eq!(id.as_str(), text.as_str());
            }
            Err(err) => {
                prop_assert!(!expected);
                prop_assert_eq!(invalid_field(err), "client_message_id");
            }
        }
    }

    #[test]
    fn a_search_query_has_words_and_no_controls(text in tricky_text(), limit in any::<u32>()) {
        match SearchQuery::new(&text, SearchScope::All, limit) {
            Ok(query) => {
                prop_assert!(!has_forbidden(&text));
                prop_assert!((1..=100).contains(&query.limit));
                let terms = query.terms();
                prop_assert!(!terms.is_empty());
                for term in terms {
                    prop_assert!(term.chars().all(char::is_alphanumeric));
                    prop_assert_eq!(term.to_lowercase(), term.clone());
                }
            }
            Err(err) => prop_assert_eq!(invalid_field(err), "q"),
        }
    }
}
