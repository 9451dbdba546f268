//! Ratings: `RatingStore`.

use std::sync::Arc;

use chat_domain::ports::Store;
use chat_domain::rating::NewRating;
use chat_domain::thread::{ThreadStatus, ThreadType};
use chat_domain::{Conflict, DomainError, ThreadId};

use crate::fixtures::{agent, client, minutes, note_at, say_at, thread, wait_in_queue};

/// A rating names the resolution it rates by the thread's resolution count: a second rating of
/// it is `AlreadyRated` and stores nothing, a note or a message changes nothing, each new
/// resolution (after a reopening by a message or by a status change alone) allows a new one;
/// ratings keep the agent, score, comment and time.
pub fn a_rating_is_stored_once_per_resolution(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let bo = agent(&store, "bo");
    let t = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, t.id, &ann, "help", minutes(1));
    say_at(&store, t.id, &bo, "done", minutes(2));
    let resolve = |status: ThreadStatus, at: i64| store.set_status(t.id, status, minutes(at));
    let rate = |score: i32, comment: Option<&str>, at: i64| {
        store.insert_rating(NewRating {
            thread_id: t.id,
            client_id: ann.id,
            agent_id: Some(bo.id),
            score,
            comment: comment.map(str::to_owned),
            created_at: minutes(at),
        })
    };
    assert_eq!(resolve(ThreadStatus::Resolved, 2).unwrap().resolutions, 1);
    let first = rate(5, Some("quick, thanks"), 3).unwrap();
    assert_eq!(first.thread_id, t.id);
    assert_eq!(first.client_id, ann.id);
    assert_eq!(first.agent_id, Some(bo.id));
    assert_eq!(first.score, 5);
    assert_eq!(first.comment.as_deref(), Some("quick, thanks"));
    assert_eq!(first.resolution_seq, 1);
    assert_eq!(first.created_at, minutes(3));
    assert_eq!(
        rate(1, None, 4),
        Err(DomainError::Conflict(Conflict::AlreadyRated))
    );
    note_at(&store, t.id, &bo, "she was happy", minutes(5));
    assert_eq!(
        resolve(ThreadStatus::Resolved, 5).unwrap().resolutions,
        1,
        "resolving a resolved thread is not a new resolution"
    );
    assert_eq!(
        rate(1, None, 6),
        Err(DomainError::Conflict(Conflict::AlreadyRated))
    );
    // Reopened by a status change alone, with no message, then resolved again.
    resolve(ThreadStatus::Open, 7).unwrap();
    assert_eq!(resolve(ThreadStatus::Resolved, 8).unwrap().resolutions, 2);
    let second = rate(2, None, 8).unwrap();
    assert_eq!(second.resolution_seq, 2);
    assert_eq!(second.comment, None);
    // Reopened by the client's message, then resolved again.
    let reopened = wait_in_queue(&store, t.id, &ann, minutes(9), 0).thread;
    assert_eq!(reopened.status, ThreadStatus::Open);
    assert_eq!(reopened.resolutions, 2, "a reopening does not count");
    resolve(ThreadStatus::Resolved, 10).unwrap();
    let third = rate(4, None, 10).unwrap();
    assert_eq!(third.resolution_seq, 3);
    assert_eq!(
        store.ratings_of_thread(t.id).unwrap(),
        vec![first, second, third]
    );
    assert_eq!(
        store.insert_rating(NewRating {
            thread_id: ThreadId(t.id.0 + 1000),
            client_id: ann.id,
            agent_id: None,
            score: 3,
            comment: None,
            created_at: minutes(11),
        }),
        Err(DomainError::NotFound("thread"))
    );
}

/// Of concurrent ratings of one resolution exactly one is stored.
pub fn concurrent_ratings_of_one_resolution_store_one(store: Arc<dyn Store>) {
    let ann = client(&store, "ann");
    let t = thread(&store, &ann, ThreadType::Loan);
    say_at(&store, t.id, &ann, "help", minutes(1));
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let client_id = ann.id;
                scope.spawn(move || {
                    store.insert_rating(NewRating {
                        thread_id: t.id,
                        client_id,
                        agent_id: None,
                        score: 1 + (i % 5),
                        comment: None,
                        created_at: minutes(2),
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || *r == Err(DomainError::Conflict(Conflict::AlreadyRated))));
    assert_eq!(store.ratings_of_thread(t.id).unwrap().len(), 1);
}
