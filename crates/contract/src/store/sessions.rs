use std::sync::Arc;

use chat_domain::auth::NewSession;
use chat_domain::ports::Store;
use chat_domain::UserId;

use crate::fixtures::{client, minutes, T0};

fn session(token_hash: &str, user: UserId, expires_in_minutes: i64) -> NewSession {
    NewSession {
        token_hash: token_hash.to_owned(),
        user_id: user,
        created_at: T0,
        expires_at: minutes(expires_in_minutes),
    }
}

/// A session finds its user (and tells its expiry) before `expires_at`, and nobody from
/// `expires_at` on; an unknown token finds nobody.
pub fn a_session_finds_its_user_until_it_expires(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    store.insert_session(session("hash-a", ann.id, 60)).unwrap();
    let found = store.session_user("hash-a", T0).unwrap();
    assert_eq!(
        found.map(|s| (s.user.id, s.expires_at)),
        Some((ann.id, minutes(60)))
    );
    let last_ms = minutes(60).plus_millis(-1);
    assert_eq!(
        store
            .session_user("hash-a", last_ms)
            .unwrap()
            .map(|s| s.user.id),
        Some(ann.id)
    );
    assert_eq!(store.session_user("hash-a", minutes(60)).unwrap(), None);
    assert_eq!(store.session_user("hash-a", minutes(61)).unwrap(), None);
    assert_eq!(store.session_user("hash-unknown", T0).unwrap(), None);
}

/// A deleted user's session finds nobody.
pub fn a_session_of_a_deleted_user_finds_nobody(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    store.insert_session(session("hash-a", ann.id, 60)).unwrap();
    assert!(store.soft_delete_user(ann.id, minutes(1)).unwrap());
    assert_eq!(store.session_user("hash-a", minutes(2)).unwrap(), None);
}

/// delete_session ends that session only; deleting an unknown one is no error.
pub fn deleting_a_session_ends_only_that_session(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    store.insert_session(session("hash-1", ann.id, 60)).unwrap();
    store.insert_session(session("hash-2", ann.id, 60)).unwrap();
    store.delete_session("hash-1").unwrap();
    assert_eq!(store.session_user("hash-1", T0).unwrap(), None);
    assert_eq!(
        store.session_user("hash-2", T0).unwrap().map(|s| s.user.id),
        Some(ann.id)
    );
    store.delete_session("hash-1").unwrap();
    store.delete_session("hash-never-existed").unwrap();
}

/// delete_user_sessions ends every session of that user and no one else's.
pub fn deleting_user_sessions_ends_every_session_of_that_user_only(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = client(&store, "bob");
    store.insert_session(session("ann-1", ann.id, 60)).unwrap();
    store.insert_session(session("ann-2", ann.id, 60)).unwrap();
    store.insert_session(session("bob-1", bob.id, 60)).unwrap();
    store.delete_user_sessions(ann.id).unwrap();
    assert_eq!(store.session_user("ann-1", T0).unwrap(), None);
    assert_eq!(store.session_user("ann-2", T0).unwrap(), None);
    assert_eq!(
        store.session_user("bob-1", T0).unwrap().map(|s| s.user.id),
        Some(bob.id)
    );
    store.delete_user_sessions(ann.id).unwrap();
}
