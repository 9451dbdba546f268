//! Security headers on every response, `Cache-Control: no-store` on the API's.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

on_every_store!(every_answer_carries_the_security_headers_and_api_answers_are_not_stored);

fn assert_security_headers(resp: &Response, what: &str) {
    let h = resp.headers();
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(get("cache-control"), "no-store", "{what}");
}

async fn every_answer_carries_the_security_headers_and_api_answers_are_not_stored(app: TestApp) {
    let ann = app.client("ann").await;
    let answers = [
        (
            "GET /api/v1/users/me",
            app.get("/api/v1/users/me", Some(&ann.token)).await,
        ),
        ("401", app.get("/api/v1/users/me", None).await),
        ("log-in", app.log_in("ann", "password-123").await),
        (
            "bad JSON",
            app.request(Method::POST, "/api/v1/sessions", None)
                .body("{")
                .send()
                .await
                .unwrap(),
        ),
        ("no route", app.get("/api/v1/nothing-here", None).await),
        ("openapi", app.get("/api/v1/openapi.json", None).await),
        (
            "seed",
            app.form(
                Method::POST,
                "/chat-app/send-message/",
                &[
                    ("username", "ann"),
                    ("password", "password-123"),
                    ("message_body", "hi"),
                    ("thread_type", "1"),
                ],
            )
            .await,
        ),
        ("healthz", app.get("/healthz", None).await),
        ("readyz", app.get("/readyz", None).await),
        (
            "missing field",
            app.post_json("/api/v1/sessions", json!({}), None).await,
        ),
    ];
    for (what, resp) in &answers {
        assert_security_headers(resp, what);
    }
    assert_eq!(answers[0].1.status(), StatusCode::OK);
    // A JSON answer may not be loaded as anything by a page.
    let csp = answers[0].1.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");

    let resp = app
        .delete("/api/v1/sessions/current", Some(&ann.token))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_security_headers(&resp, "204 log-out");
}
