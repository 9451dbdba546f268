//! Text: what the domain's parse step lets through, every store keeps exactly and can search;
//! what it refuses (control characters, bidirectional overrides) never reaches a store, so no
//! store can disagree about it.

use std::sync::Arc;

use chat_domain::canned::NewCannedReply;
use chat_domain::message::{Audience, MessageBody};
use chat_domain::ports::Store;
use chat_domain::search::{SearchQuery, SearchScope};
use chat_domain::thread::ThreadType;
use chat_domain::user::Username;
use chat_domain::DomainError;

use crate::fixtures::{agent, client, say, thread, T0};

/// Texts every store must keep byte for byte: layout whitespace, astral-plane characters,
/// combining marks, zero-width and line-separator characters, SQL and FTS syntax, and the
/// longest body, multi-byte.
pub fn accepted_texts() -> Vec<String> {
    vec![
        "tab\there\r\nCRLF and\nLF".to_owned(),
        "emoji 👋🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, e\u{301} combining".to_owned(),
        "zero\u{200b}width \u{feff}bom \u{2028}line \u{2029}para \u{200f}rlm".to_owned(),
        "'; DROP TABLE messages; -- \"quoted\" 100% _under_ back\\slash".to_owned(),
        "NEAR(a b) OR c* AND -d ^e \"f g\" {h}:i".to_owned(),
        "é".repeat(MessageBody::MAX_CHARS),
    ]
}

/// Texts the domain refuses (each with one character the rule forbids).
pub fn refused_texts() -> Vec<String> {
    [
        "\u{0}", "\u{1}", "\u{8}", "\u{b}", "\u{c}", "\u{1b}", "\u{1f}", "\u{7f}", "\u{80}",
        "\u{85}", "\u{9f}", "\u{202a}", "\u{202e}", "\u{2066}", "\u{2069}",
    ]
    .iter()
    .map(|c| format!("ab{c}cd"))
    .collect()
}

/// Every body the domain accepts is stored and read back exactly, in both directions of the
/// append (the answer and a later read).
pub fn accepted_text_is_stored_and_read_back_exactly(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let loan = thread(&store, &ann, ThreadType::Loan);
    let texts = accepted_texts();
    for text in &texts {
        assert_eq!(&say(&store, loan.id, &ann, text).message.body, text);
    }
    let read: Vec<String> = store
        .messages_after(loan.id, 0, 100, Audience::Staff)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(read, texts);
    let reply = store
        .insert_canned(
            NewCannedReply::new("Ünïcode 👋", &texts[0], agent(&store, "ag").id, T0).unwrap(),
        )
        .unwrap();
    assert_eq!(
        store.canned_by_id(reply.id).unwrap().unwrap().body,
        texts[0]
    );
}

/// Usernames of any script are kept and found, exactly and by part.
pub fn usernames_of_any_script_are_kept_and_found(store: Arc<dyn Store>) {
    let name = "ännä.日本_ß+1@x";
    let stored = client(&store, name);
    assert_eq!(stored.username, Username::parse(name).unwrap());
    let found = store.user_by_username(name).unwrap().unwrap();
    assert_eq!(found.id, stored.id);
    let hits = store.search_clients("日本", 10).unwrap();
    assert_eq!(
        hits.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![stored.id]
    );
    // LIKE's wildcards are plain characters: `_` matches only an underscore.
    let literal = store.search_clients("_ß", 10).unwrap();
    assert_eq!(
        literal.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![stored.id]
    );
    client(&store, "plain");
    for pattern in ["%", "a_n", "\\", "'"] {
        assert!(
            store.search_clients(pattern, 10).unwrap().is_empty(),
            "{pattern}"
        );
    }
}

/// Any query the domain accepts is answered, never an error: SQL and full-text syntax are
/// words to look for, not operators.
pub fn search_answers_any_query_the_domain_accepts(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let loan = thread(&store, &ann, ThreadType::Loan);
    for text in accepted_texts() {
        say(&store, loan.id, &ann, &text);
    }
    // Every accepted text is a query every store answers (tokenisers differ on exotic
    // letters, so only an answer is required here) ...
    for text in accepted_texts().iter().filter(|t| t.chars().count() <= 200) {
        let query = SearchQuery::new(text, SearchScope::All, 10).unwrap();
        store.search(&query).unwrap();
    }
    // ... and words next to SQL and full-text operators are found, the operators ignored.
    for text in [
        "'; DROP TABLE",
        "NEAR(a b) OR c*",
        "\"quoted\" 100%",
        "back\\slash",
    ] {
        let query = SearchQuery::new(text, SearchScope::All, 10).unwrap();
        assert!(
            !store.search(&query).unwrap().is_empty(),
            "{text:?} found nothing"
        );
    }
}

/// Every refused text is refused by each parse step with Invalid naming the field, so no store
/// sees it; the store still holds nothing.
pub fn refused_text_never_reaches_a_store(store: Arc<dyn Store>) {
    let invalid = |result: Result<(), DomainError>, field: &str, text: &str| match result {
        Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field, "{text:?}"),
        other => panic!("{text:?} was not refused: {other:?}"),
    };
    for text in refused_texts() {
        invalid(MessageBody::parse(&text).map(drop), "message_body", &text);
        invalid(Username::parse(&text).map(drop), "username", &text);
        invalid(
            SearchQuery::new(&text, SearchScope::All, 10).map(drop),
            "q",
            &text,
        );
        invalid(
            NewCannedReply::new(&text, "body", chat_domain::UserId(1), T0).map(drop),
            "title",
            &text,
        );
        invalid(
            NewCannedReply::new("title", &text, chat_domain::UserId(1), T0).map(drop),
            "message_body",
            &text,
        );
    }
    assert_eq!(
        store
            .count_active_with_role(chat_domain::user::Role::Client)
            .unwrap(),
        0
    );
}
