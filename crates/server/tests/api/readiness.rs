//! `/readyz`: ready while the store answers, 503 once it does not; `/healthz` stays liveness.

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{execute_behind_the_apps_back, TestApp};

on_every_store!(ready_while_the_store_answers_and_503_once_it_does_not);

/// Breaks the app's store behind its back: drops its Postgres schema, or renames the SQLite
/// users table.
fn break_store(database_url: &str) {
    if database_url.starts_with("sqlite://") {
        execute_behind_the_apps_back(database_url, "ALTER TABLE users RENAME TO users_gone");
    } else {
        let schema = database_url
            .rsplit("search_path%3D")
            .next()
            .unwrap()
            .to_owned();
        let mut conn = PgConnection::establish(&chat_postgres::testing::base_url()).unwrap();
        diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .unwrap();
    }
}

async fn ready_while_the_store_answers_and_503_once_it_does_not(app: TestApp) {
    let resp = app.get("/readyz", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert!(["postgres", "sqlite"].contains(&body["store"].as_str().unwrap()));

    let url = app.database_url.clone();
    actix_web::web::block(move || break_store(&url))
        .await
        .unwrap();

    let resp = app.get("/readyz", None).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    assert!(body["error"]["message"].is_string());
    // Liveness does not depend on the store.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}
