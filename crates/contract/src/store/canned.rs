use std::sync::Arc;

use chat_domain::canned::NewCannedReply;
use chat_domain::ports::Store;
use chat_domain::user::Role;
use chat_domain::CannedReplyId;

use crate::fixtures::{minutes, user};

/// Canned replies are stored as given, listed by title, found by id and deleted once.
pub fn canned_replies_are_stored_listed_by_title_and_deleted(store: Arc<dyn Store>) {
    let admin = user(&store, "admin", Role::Admin);
    assert!(store.list_canned().unwrap().is_empty());
    let zeta = store
        .insert_canned(
            NewCannedReply::new("Zeta", "Bye {client_name}", admin.id, minutes(1)).unwrap(),
        )
        .unwrap();
    let alpha = store
        .insert_canned(
            NewCannedReply::new("Alpha", "Hello {client_name}!", admin.id, minutes(2)).unwrap(),
        )
        .unwrap();
    assert_ne!(zeta.id, alpha.id);
    assert_eq!(alpha.title, "Alpha");
    assert_eq!(alpha.body, "Hello {client_name}!");
    assert_eq!(alpha.created_by, admin.id);
    assert_eq!(alpha.created_at, minutes(2));

    assert_eq!(
        store.list_canned().unwrap(),
        vec![alpha.clone(), zeta.clone()]
    );
    assert_eq!(store.canned_by_id(zeta.id).unwrap(), Some(zeta.clone()));
    assert_eq!(
        store
            .canned_by_id(CannedReplyId(zeta.id.0 + alpha.id.0 + 1000))
            .unwrap(),
        None
    );

    assert!(store.delete_canned(zeta.id).unwrap());
    assert!(!store.delete_canned(zeta.id).unwrap());
    assert_eq!(store.canned_by_id(zeta.id).unwrap(), None);
    assert_eq!(store.list_canned().unwrap(), vec![alpha]);
}
