//! Sign-up, log-in, log-out, users, and their refusals.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    a_client_signs_up_logs_in_and_sees_itself,
    wrong_password_and_unknown_user_both_answer_401,
    log_out_invalidates_the_token,
    only_an_admin_creates_agents,
    a_taken_username_is_a_conflict,
    clients_see_only_themselves_and_staff_see_anyone,
    a_user_deletes_itself_but_not_someone_else,
);

async fn a_client_signs_up_logs_in_and_sees_itself(app: TestApp) {
    let resp = app.sign_up_as("ann", "client", None).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["username"], "ann");
    assert_eq!(user["role"], "client");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let resp = app.log_in("ann", "password-123").await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let session: Value = resp.json().await.unwrap();
    assert_eq!(session["user"]["id"], user["id"]);
    assert!(session["expires_at"].is_string());
    let token = session["token"].as_str().unwrap();

    let me: Value = app
        .get("/api/v1/users/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], user["id"]);
}

async fn wrong_password_and_unknown_user_both_answer_401(app: TestApp) {
    app.client("ann").await;
    assert_error(
        app.log_in("ann", "wrong-password").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.log_in("nobody", "password-123").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/v1/users/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/v1/users/me", Some("not-a-token")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

async fn log_out_invalidates_the_token(app: TestApp) {
    let ann = app.client("ann").await;
    let resp = app
        .delete("/api/v1/sessions/current", Some(&ann.token))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/api/v1/users/me", Some(&ann.token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

async fn only_an_admin_creates_agents(app: TestApp) {
    assert_error(
        app.sign_up_as("a1", "agent", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let ann = app.client("ann").await;
    assert_error(
        app.sign_up_as("a2", "agent", Some(&ann)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let agent = app.agent("bo").await;
    assert_error(
        app.sign_up_as("a3", "admin", Some(&agent)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.admin("root").await;
    let resp = app.sign_up_as("a4", "agent", Some(&admin)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Nothing was created by the refused attempts.
    for name in ["a1", "a2", "a3"] {
        assert_error(
            app.log_in(name, "password-123").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
    }
}

async fn a_taken_username_is_a_conflict(app: TestApp) {
    app.client("ann").await;
    assert_error(
        app.sign_up_as("ann", "client", None).await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
}

async fn clients_see_only_themselves_and_staff_see_anyone(app: TestApp) {
    let ann = app.client("ann").await;
    let bob = app.client("bob").await;
    assert_error(
        app.get(&format!("/api/v1/users/{}", bob.id), Some(&ann.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let resp = app
        .get(&format!("/api/v1/users/{}", ann.id), Some(&ann.token))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let agent = app.agent("bo").await;
    let resp = app
        .get(&format!("/api/v1/users/{}", bob.id), Some(&agent.token))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_error(
        app.get("/api/v1/users/999999", Some(&agent.token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn a_user_deletes_itself_but_not_someone_else(app: TestApp) {
    let ann = app.client("ann").await;
    let bob = app.client("bob").await;
    assert_error(
        app.delete(&format!("/api/v1/users/{}", bob.id), Some(&ann.token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Bob still works.
    assert_eq!(
        app.get("/api/v1/users/me", Some(&bob.token)).await.status(),
        StatusCode::OK
    );

    let resp = app
        .delete(&format!("/api/v1/users/{}", ann.id), Some(&ann.token))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/api/v1/users/me", Some(&ann.token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.log_in("ann", "password-123").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    let admin = app.admin("root").await;
    let resp = app
        .delete(&format!("/api/v1/users/{}", bob.id), Some(&admin.token))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // Gone from the API, as deleting it again says...
    assert_error(
        app.get(&format!("/api/v1/users/{}", bob.id), Some(&admin.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/users/{}", bob.id), Some(&admin.token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // ...but a soft delete: staff still see the client's history.
    let context: Value = app
        .get(
            &format!("/api/v1/clients/{}/context", bob.id),
            Some(&admin.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(context["username"], json!("bob"));
}
