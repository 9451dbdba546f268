//! Opening the embedded store: the file and its directory are created, the data survives a
//! reopen, and every pooled connection runs in WAL mode with a busy timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_domain::ports::{MessageStore, ThreadStore, UserStore};
use chat_domain::thread::ThreadType;
use chat_domain::user::{NewUser, PasswordHash, Role, Username};
use chat_domain::Timestamp;
use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;

#[derive(diesel::QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[derive(diesel::QueryableByName)]
struct Timeout {
    #[diesel(sql_type = BigInt)]
    timeout: i64,
}

#[test]
fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/dir/chat.db", dir.path().display());
    let now = Timestamp(1_764_064_800_000);
    let (user, thread) = {
        let store = chat_embedded::open_url(&url, 2).unwrap();
        let user = store
            .insert_user(NewUser {
                username: Username::parse("ann").unwrap(),
                password_hash: PasswordHash("hash".to_owned()),
                role: Role::Client,
                created_at: now,
            })
            .unwrap();
        let thread = store.open_thread(user.id, ThreadType::Loan, now).unwrap();
        (user, thread)
    };
    let store = chat_embedded::open_url(&url, 2).unwrap();
    assert_eq!(store.user_by_username("ann").unwrap(), Some(user.clone()));
    assert_eq!(store.threads_of_client(user.id).unwrap(), vec![thread]);
    assert_eq!(store.count_sent_by(user.id).unwrap(), 0);
}

#[test]
fn pooled_connections_run_in_wal_mode_with_a_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = chat_embedded::open(&dir.path().join("chat.db"), 2).unwrap();
    let mut conn = store
        .pool()
        .expect("an open store has its pool")
        .get()
        .unwrap();
    let mode: JournalMode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut **conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let timeout: Timeout = diesel::sql_query("PRAGMA busy_timeout")
        .get_result(&mut **conn)
        .unwrap();
    assert_eq!(timeout.timeout, 5000);
}
