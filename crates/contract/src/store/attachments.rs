//! Attachments: `AttachmentStore`, and `append_message` tying them to a message.

use std::sync::Arc;

use chat_domain::attachment::{Attachment, AttachmentId, FileName, FileType};
use chat_domain::ports::Store;
use chat_domain::thread::ThreadType;
use chat_domain::user::User;
use chat_domain::{DomainError, ThreadId};

use crate::fixtures::{agent, client, keep, minutes, new_message, thread};

fn upload(store: &Arc<dyn Store>, thread: ThreadId, by: &User, minute: i64) -> Attachment {
    let attachment = Attachment {
        id: AttachmentId::random(),
        thread_id: thread,
        uploader_id: by.id,
        file_type: FileType::Png,
        size: 1234,
        name: FileName::parse(Some("shot.png")).unwrap(),
        created_at: minutes(minute),
        message_id: None,
    };
    store.insert_attachment(&attachment).unwrap();
    attachment
}

fn unusable(err: &DomainError) -> bool {
    matches!(
        err,
        DomainError::Invalid {
            field: "attachment_ids",
            ..
        }
    )
}

/// An attachment is stored and read back exactly; an upload to an unknown thread is NotFound.
pub fn attachments_are_stored_and_read_back(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let a = upload(&store, t.id, &ann, 1);
    assert_eq!(store.attachment(&a.id).unwrap(), Some(a.clone()));
    assert_eq!(store.attachment(&AttachmentId::random()).unwrap(), None);
    let mut lost = a.clone();
    lost.id = AttachmentId::random();
    lost.thread_id = ThreadId(t.id.0 + 1000);
    assert_eq!(
        store.insert_attachment(&lost),
        Err(DomainError::NotFound("thread"))
    );
    assert_eq!(store.attachment(&lost.id).unwrap(), None);
}

/// The append ties its sender's unused uploads of its thread to the message; another thread's,
/// another user's or an already used attachment is Invalid and nothing is stored (neither the
/// message nor any tie); `message_attachments` answers per message, oldest upload first.
pub fn an_append_ties_attachments_once_in_their_thread_by_their_uploader(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let cy = client(&store, "cy");
    let bo = agent(&store, "bo");
    let t = thread(&store, &ann, ThreadType::Loan);
    let other = thread(&store, &cy, ThreadType::Loan);
    let first = upload(&store, t.id, &ann, 1);
    let second = upload(&store, t.id, &ann, 2);
    let bos = upload(&store, t.id, &bo, 3);
    let cys = upload(&store, other.id, &cy, 4);
    let ok = |th: &chat_domain::thread::Thread| Ok(keep(th));
    let with = |ids: &[&Attachment], body: &str| {
        let mut m = new_message(t.id, &ann, body, minutes(5));
        m.attachments = ids.iter().map(|a| a.id.clone()).collect();
        m
    };
    for refused in [vec![&bos], vec![&cys], vec![&first, &cys]] {
        let err = store.append_message(with(&refused, "no"), &ok).unwrap_err();
        assert!(unusable(&err), "{err:?}");
    }
    assert_eq!(store.thread_by_id(t.id).unwrap().unwrap().last_seq, 0);
    assert_eq!(
        store.attachment(&first.id).unwrap().unwrap().message_id,
        None
    );

    let sent = store
        .append_message(with(&[&second, &first], "two files"), &ok)
        .unwrap();
    assert_eq!(sent.message.seq, 1);
    let err = store
        .append_message(with(&[&first], "again"), &ok)
        .unwrap_err();
    assert!(unusable(&err), "{err:?}");
    assert_eq!(store.thread_by_id(t.id).unwrap().unwrap().last_seq, 1);

    let map = store
        .message_attachments(&[sent.message.id, chat_domain::MessageId(999_999)])
        .unwrap();
    assert_eq!(map.len(), 1);
    let tied = &map[&sent.message.id];
    assert_eq!(
        tied.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![first.id.clone(), second.id.clone()]
    );
    assert!(tied.iter().all(|a| a.message_id == Some(sent.message.id)));
    assert_eq!(store.attachment(&bos.id).unwrap().unwrap().message_id, None);
}

/// Of many concurrent appends naming one attachment, exactly one stores its message.
pub fn concurrent_appends_naming_one_attachment_tie_it_once(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let a = upload(&store, t.id, &ann, 1);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let ann = ann.clone();
            let id = a.id.clone();
            std::thread::spawn(move || {
                let mut m = new_message(t.id, &ann, &format!("try {i}"), minutes(2));
                m.attachments = vec![id];
                store.append_message(m, &|th| Ok(keep(th)))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(unusable));
    assert_eq!(store.thread_by_id(t.id).unwrap().unwrap().last_seq, 1);
}

/// Uploads tied to no message are listed oldest first, before an instant and up to a limit; the
/// removal is conditional: an unattached one goes once, an attached one never.
pub fn unattached_uploads_are_listed_by_age_and_removed_only_while_unattached(
    store: Arc<dyn Store>,
) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    let old = upload(&store, t.id, &ann, 1);
    let sent = upload(&store, t.id, &ann, 2);
    let older = upload(&store, t.id, &ann, 0);
    let fresh = upload(&store, t.id, &ann, 10);
    let mut message = new_message(t.id, &ann, "the file", minutes(3));
    message.attachments = vec![sent.id.clone()];
    store.append_message(message, &|t| Ok(keep(t))).unwrap();
    let ids = |list: Vec<Attachment>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.unattached_before(minutes(5), 10).unwrap()),
        vec![older.id.clone(), old.id.clone()]
    );
    assert_eq!(
        ids(store.unattached_before(minutes(5), 1).unwrap()),
        vec![older.id.clone()]
    );
    assert!(store.unattached_before(minutes(0), 10).unwrap().is_empty());
    assert!(store.remove_unattached(&old.id).unwrap());
    assert!(!store.remove_unattached(&old.id).unwrap(), "removed once");
    assert!(
        !store.remove_unattached(&sent.id).unwrap(),
        "attached: kept"
    );
    assert_eq!(store.attachment(&old.id).unwrap(), None);
    assert!(store.attachment(&sent.id).unwrap().is_some());
    assert_eq!(
        ids(store.unattached_before(minutes(11), 10).unwrap()),
        vec![older.id, fresh.id]
    );
}
