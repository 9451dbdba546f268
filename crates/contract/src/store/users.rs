use std::collections::HashMap;
use std::sync::Arc;

use chat_domain::ports::Store;
use chat_domain::user::{Role, User};
use chat_domain::{DomainError, UserId};

use crate::fixtures::{client, minutes, new_user, some_hash, user, T0};

fn assert_conflict<T: std::fmt::Debug>(result: Result<T, DomainError>) {
    match result {
        Err(DomainError::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// A second user with a taken username is refused with Conflict.
pub fn usernames_are_unique(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    assert_conflict(store.insert_user(new_user("ann", Role::Client)));
    let found = store.user_by_username("ann").unwrap().unwrap();
    assert_eq!(found.id, ann.id);
}

/// Usernames are unique without regard to the case of ASCII letters (`maria_new` takes
/// `Maria_New`), while a look-up by username stays exact; other letters are compared as they are.
pub fn usernames_are_unique_without_regard_to_case(store: Arc<dyn Store>) {
    let maria = client(&store, "maria_new");
    assert_conflict(store.insert_user(new_user("Maria_New", Role::Client)));
    assert_conflict(store.insert_user(new_user("MARIA_NEW", Role::Agent)));
    assert!(store.user_by_username("Maria_New").unwrap().is_none());
    assert_eq!(
        store.user_by_username("maria_new").unwrap().map(|u| u.id),
        Some(maria.id)
    );
    let deleted = client(&store, "Gone");
    assert!(store.soft_delete_user(deleted.id, minutes(1)).unwrap());
    assert_conflict(store.insert_user(new_user("gone", Role::Client)));
    // Only ASCII letters fold: every store agrees on these being two names.
    client(&store, "émile");
    client(&store, "Émile");
}

/// A deleted user's username stays taken.
pub fn usernames_are_unique_even_after_deletion(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    assert!(store.soft_delete_user(ann.id, minutes(1)).unwrap());
    assert_conflict(store.insert_user(new_user("ann", Role::Agent)));
    let found = store.user_by_username("ann").unwrap().unwrap();
    assert_eq!(found.id, ann.id);
    assert_eq!(found.role, Role::Client);
}

/// A refused insert stores nothing: the first user is untouched and no other user appears.
pub fn a_refused_user_is_not_stored(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    assert_conflict(store.insert_user(new_user("ann", Role::Admin)));
    assert_eq!(store.count_active_with_role(Role::Admin).unwrap(), 0);
    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 1);
    assert_eq!(store.user_by_username("ann").unwrap(), Some(ann.clone()));
    // the store still accepts other users afterwards
    let bob = client(&store, "bob");
    assert_ne!(bob.id, ann.id);
}

/// Users are found by id and by exact username, with what was stored; unknown ones are None.
pub fn users_are_found_by_id_and_by_exact_username(store: Arc<dyn Store>) {
    let ann = user(&store, "ann.b+c@example", Role::Agent);
    assert_eq!(ann.username.as_str(), "ann.b+c@example");
    assert_eq!(ann.role, Role::Agent);
    assert_eq!(ann.created_at, T0);
    assert_eq!(ann.deleted_at, None);
    assert_eq!(ann.password_hash, some_hash());
    assert_eq!(store.user_by_id(ann.id).unwrap(), Some(ann.clone()));
    assert_eq!(
        store.user_by_username("ann.b+c@example").unwrap(),
        Some(ann.clone())
    );
    assert_eq!(store.user_by_username("ann.b").unwrap(), None);
    assert_eq!(store.user_by_username("nobody").unwrap(), None);
    assert_eq!(store.user_by_id(UserId(ann.id.0 + 1000)).unwrap(), None);
}

/// Soft delete marks the user deleted and keeps its data; a second delete (or an unknown id)
/// answers false and changes nothing.
pub fn soft_delete_keeps_the_user_and_answers_false_the_second_time(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    assert!(store.soft_delete_user(ann.id, minutes(5)).unwrap());
    let deleted = store.user_by_id(ann.id).unwrap().unwrap();
    assert_eq!(deleted.deleted_at, Some(minutes(5)));
    assert!(deleted.is_deleted());
    assert_eq!(deleted.username, ann.username);
    assert_eq!(deleted.password_hash, ann.password_hash);
    assert_eq!(deleted.role, ann.role);
    assert_eq!(deleted.created_at, ann.created_at);
    assert_eq!(
        store.user_by_username("ann").unwrap().map(|u| u.id),
        Some(ann.id)
    );

    assert!(!store.soft_delete_user(ann.id, minutes(9)).unwrap());
    let again = store.user_by_id(ann.id).unwrap().unwrap();
    assert_eq!(
        again.deleted_at,
        Some(minutes(5)),
        "the first deletion time stays"
    );
    assert!(!store
        .soft_delete_user(UserId(ann.id.0 + 1000), minutes(9))
        .unwrap());
}

/// count_active_with_role counts only active users of that role.
pub fn count_active_with_role_excludes_deleted_users_and_other_roles(store: Arc<dyn Store>) {
    assert_eq!(store.count_active_with_role(Role::Admin).unwrap(), 0);
    let a1 = user(&store, "admin1", Role::Admin);
    user(&store, "admin2", Role::Admin);
    user(&store, "agent1", Role::Agent);
    client(&store, "client1");
    client(&store, "client2");
    client(&store, "client3");
    assert_eq!(store.count_active_with_role(Role::Admin).unwrap(), 2);
    assert_eq!(store.count_active_with_role(Role::Agent).unwrap(), 1);
    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 3);
    assert!(store.soft_delete_user(a1.id, minutes(1)).unwrap());
    assert_eq!(store.count_active_with_role(Role::Admin).unwrap(), 1);
    assert_eq!(store.count_active_with_role(Role::Client).unwrap(), 3);
}

/// usernames maps every known id (deleted users included) to its username, once per id, and
/// leaves unknown ids out.
pub fn usernames_maps_known_ids_and_leaves_unknown_ones_out(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bob = user(&store, "bob", Role::Agent);
    let gone = client(&store, "gone");
    assert!(store.soft_delete_user(gone.id, minutes(1)).unwrap());
    let unknown = UserId(gone.id.0 + 1000);
    let names = store
        .usernames(&[ann.id, bob.id, gone.id, unknown, ann.id])
        .unwrap();
    let want: HashMap<UserId, String> = [
        (ann.id, "ann".to_owned()),
        (bob.id, "bob".to_owned()),
        (gone.id, "gone".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(names, want);
    assert!(store.usernames(&[]).unwrap().is_empty());
    assert!(store.usernames(&[unknown]).unwrap().is_empty());
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

/// search_clients finds active clients whose username contains the text, ignoring ASCII case:
/// prefix matches first, then the others, each by id; staff and deleted clients never.
pub fn search_clients_finds_active_clients_prefix_matches_first(store: Arc<dyn Store>) {
    client(&store, "maryann");
    client(&store, "Annabel");
    user(&store, "annie-agent", Role::Agent);
    user(&store, "anna-admin", Role::Admin);
    let gone = client(&store, "ann-gone");
    assert!(store.soft_delete_user(gone.id, minutes(1)).unwrap());
    client(&store, "joANNe");
    client(&store, "ann");
    client(&store, "bob");
    assert_eq!(
        names(&store.search_clients("ann", 10).unwrap()),
        ["Annabel", "ann", "maryann", "joANNe"]
    );
    assert_eq!(
        names(&store.search_clients("ANN", 10).unwrap()),
        ["Annabel", "ann", "maryann", "joANNe"]
    );
    assert_eq!(
        names(&store.search_clients("ann", 2).unwrap()),
        ["Annabel", "ann"]
    );
    assert_eq!(names(&store.search_clients("bob", 10).unwrap()), ["bob"]);
    assert!(store.search_clients("zed", 10).unwrap().is_empty());
    let found = store.search_clients("bob", 10).unwrap();
    assert_eq!(found[0], store.user_by_username("bob").unwrap().unwrap());
}

/// In search_clients, `%`, `_` and `\` are plain characters, not wildcards.
pub fn search_clients_treats_like_wildcards_as_plain_characters(store: Arc<dyn Store>) {
    client(&store, "a_b");
    client(&store, "axb");
    client(&store, "percent");
    assert_eq!(names(&store.search_clients("a_b", 10).unwrap()), ["a_b"]);
    assert_eq!(names(&store.search_clients("_", 10).unwrap()), ["a_b"]);
    assert!(store.search_clients("%", 10).unwrap().is_empty());
    assert!(store.search_clients("\\", 10).unwrap().is_empty());
}
