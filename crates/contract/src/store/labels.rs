//! Labels: `LabelStore`.

use std::sync::Arc;

use chat_domain::label::NewLabel;
use chat_domain::ports::Store;
use chat_domain::thread::ThreadType;
use chat_domain::{Conflict, DomainError, LabelId, ThreadId};

use crate::fixtures::{client, thread};

fn new_label(name: &str, color: &str) -> NewLabel {
    NewLabel::parse(name, color).unwrap()
}

/// Labels are stored as given, listed by name, found by id; a name differing only in the case
/// of ASCII letters is `LabelTaken` and stores nothing.
pub fn labels_are_unique_ignoring_case_and_listed_by_name(store: Arc<dyn Store>) {
    assert!(store.list_labels().unwrap().is_empty());
    let vip = store.insert_label(new_label("VIP", "#FF0000")).unwrap();
    let billing = store.insert_label(new_label("billing", "#00aa00")).unwrap();
    assert_ne!(vip.id, billing.id);
    assert_eq!(vip.name, "VIP");
    assert_eq!(vip.color, "#ff0000");
    assert_eq!(
        store.insert_label(new_label("vip", "#000000")),
        Err(DomainError::Conflict(Conflict::LabelTaken))
    );
    assert_eq!(
        store.insert_label(new_label("Vip", "#000000")),
        Err(DomainError::Conflict(Conflict::LabelTaken))
    );
    let accented = store.insert_label(new_label("Été", "#123456")).unwrap();
    assert_eq!(
        store.list_labels().unwrap(),
        vec![vip.clone(), billing.clone(), accented]
    );
    assert_eq!(store.label_by_id(billing.id).unwrap(), Some(billing));
    assert_eq!(store.label_by_id(LabelId(vip.id.0 + 1000)).unwrap(), None);
}

/// A label goes on a thread once (a second time answers false), comes off once, and
/// `thread_labels` answers every thread's labels by name in one call; unknown threads and
/// labels are NotFound.
pub fn thread_labels_are_added_once_removed_and_read_for_many_threads(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t1 = thread(&store, &ann, ThreadType::Loan);
    let t2 = thread(&store, &ann, ThreadType::Payment);
    let t3 = thread(&store, &ann, ThreadType::Other);
    let vip = store.insert_label(new_label("vip", "#ff0000")).unwrap();
    let angry = store.insert_label(new_label("angry", "#ff00ff")).unwrap();
    assert!(store.add_thread_label(t1.id, vip.id).unwrap());
    assert!(!store.add_thread_label(t1.id, vip.id).unwrap());
    assert!(store.add_thread_label(t1.id, angry.id).unwrap());
    assert!(store.add_thread_label(t2.id, vip.id).unwrap());
    assert_eq!(
        store.add_thread_label(ThreadId(t3.id.0 + 1000), vip.id),
        Err(DomainError::NotFound("thread"))
    );
    assert_eq!(
        store.add_thread_label(t3.id, LabelId(vip.id.0 + angry.id.0 + 1000)),
        Err(DomainError::NotFound("label"))
    );
    let all = store
        .thread_labels(&[t1.id, t2.id, t3.id, ThreadId(t3.id.0 + 1000)])
        .unwrap();
    assert_eq!(all.get(&t1.id), Some(&vec![angry.clone(), vip.clone()]));
    assert_eq!(all.get(&t2.id), Some(&vec![vip.clone()]));
    assert_eq!(all.len(), 2);
    assert!(store.remove_thread_label(t1.id, vip.id).unwrap());
    assert!(!store.remove_thread_label(t1.id, vip.id).unwrap());
    assert!(!store.remove_thread_label(t3.id, vip.id).unwrap());
    let all = store.thread_labels(&[t1.id, t2.id]).unwrap();
    assert_eq!(all.get(&t1.id), Some(&vec![angry]));
    assert!(store.thread_labels(&[]).unwrap().is_empty());
}
