//! The verified-credential cache of the seed's username + password requests changes speed, not
//! answers: a wrong password, a changed password (a new stored hash), a deleted user and a
//! lock-out answer exactly as with a bcrypt check on every request. Each scenario runs with the
//! cache (the default) and without it, on each store.

use chat_domain::ports::PasswordHasher;
use chat_domain::user::Password;
use reqwest::{Method, StatusCode};

use crate::helpers::{execute_behind_the_apps_back, spawn_app_with, Backend, TestApp};

/// With the cache (the default settings, and a test clock that stands still).
mod cached {
    use super::*;
    on_every_store!(
        with crate::helpers::spawn_app_with_clock;
        wrong_changed_and_deleted_credentials_answer_as_without_the_cache,
        a_locked_out_username_stays_locked_even_with_a_remembered_password,
        a_user_deleted_elsewhere_is_refused_with_a_remembered_password,
    );
}

/// Without it: the same scenarios, a bcrypt check on every request.
mod uncached {
    use super::*;
    on_every_store!(
        with crate::credential_cache::spawn_without_the_cache;
        wrong_changed_and_deleted_credentials_answer_as_without_the_cache,
        a_locked_out_username_stays_locked_even_with_a_remembered_password,
        a_user_deleted_elsewhere_is_refused_with_a_remembered_password,
    );
}

async fn spawn_without_the_cache(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.auth.seed_credential_cache_seconds = 0).await
}

/// `POST /chat-app/send-message/` with username + password in the form.
async fn seed_send(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.form(
        Method::POST,
        "/chat-app/send-message/",
        &[
            ("username", username),
            ("password", password),
            ("message_body", "hello"),
            ("thread_type", "1"),
        ],
    )
    .await
    .status()
}

/// Gives the user a new password behind the app's back, as a password change would: a new hash.
fn set_password(database_url: &str, user_id: i64, password: &str) {
    let hasher = chat_memory::BcryptHasher::new(4).unwrap();
    let hash = hasher.hash(&Password::parse(password).unwrap()).unwrap().0;
    let sql = format!("UPDATE users SET password_hash = '{hash}' WHERE id = {user_id}");
    execute_behind_the_apps_back(database_url, &sql);
}

async fn wrong_changed_and_deleted_credentials_answer_as_without_the_cache(app: TestApp) {
    let ann = app.client("ann").await;
    assert_eq!(seed_send(&app, "ann", "password-123").await, StatusCode::OK);
    assert_eq!(seed_send(&app, "ann", "password-123").await, StatusCode::OK);
    // A wrong password is checked, not remembered.
    assert_eq!(
        seed_send(&app, "ann", "password-124").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(seed_send(&app, "ann", "").await, StatusCode::UNAUTHORIZED);

    // A changed password: the old one no longer works, the new one does.
    let (url, id) = (app.database_url.clone(), ann.id);
    actix_web::web::block(move || set_password(&url, id, "new-password-456"))
        .await
        .unwrap();
    assert_eq!(
        seed_send(&app, "ann", "password-123").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        seed_send(&app, "ann", "new-password-456").await,
        StatusCode::OK
    );
    assert_eq!(
        seed_send(&app, "ann", "new-password-456").await,
        StatusCode::OK
    );

    // A deleted user: refused, remembered password or not.
    let resp = app
        .request(
            Method::DELETE,
            &format!("/api/v1/users/{}", ann.id),
            Some(&ann.token),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        seed_send(&app, "ann", "new-password-456").await,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_locked_out_username_stays_locked_even_with_a_remembered_password(app: TestApp) {
    app.client("bob").await;
    assert_eq!(seed_send(&app, "bob", "password-123").await, StatusCode::OK);
    // Failures still count, with the right password remembered.
    for _ in 0..10 {
        assert_eq!(
            seed_send(&app, "bob", "wrong-password").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        seed_send(&app, "bob", "password-123").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A deletion this instance did not make (another instance's, whose notice was lost): the
/// send's own transaction finds the user deleted, and the answer is the same 401.
async fn a_user_deleted_elsewhere_is_refused_with_a_remembered_password(app: TestApp) {
    let cy = app.client("cy").await;
    assert_eq!(seed_send(&app, "cy", "password-123").await, StatusCode::OK);
    assert_eq!(seed_send(&app, "cy", "password-123").await, StatusCode::OK);
    let (url, id) = (app.database_url.clone(), cy.id);
    actix_web::web::block(move || {
        let sql = format!("UPDATE users SET deleted_at_ms = 1 WHERE id = {id}");
        execute_behind_the_apps_back(&url, &sql);
    })
    .await
    .unwrap();
    assert_eq!(
        seed_send(&app, "cy", "password-123").await,
        StatusCode::UNAUTHORIZED
    );
}
