//! /healthz, and the OpenAPI document against the routes the server really serves.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

on_every_store!(
    healthz_names_the_adapters,
    the_openapi_document_matches_the_routes
);

async fn healthz_names_the_adapters(app: TestApp) {
    let resp = app.get("/healthz", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(
        ["postgres", "sqlite"].contains(&body["store"].as_str().unwrap()),
        "{body}"
    );
    assert_eq!(body["bus"], "in-process");
}

/// Every /api/v1 route of API.md.
const V1_ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"),
    ("post", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/current"),
    ("post", "/api/v1/threads"),
    ("get", "/api/v1/threads"),
    ("get", "/api/v1/threads/{id}"),
    ("get", "/api/v1/threads/{id}/messages"),
    ("post", "/api/v1/threads/{id}/messages"),
    ("post", "/api/v1/threads/{id}/notes"),
    ("post", "/api/v1/threads/{id}/read"),
    ("post", "/api/v1/threads/{id}/labels"),
    ("post", "/api/v1/threads/{id}/rating"),
    ("delete", "/api/v1/threads/{id}/labels/{label_id}"),
    ("get", "/api/v1/labels"),
    ("post", "/api/v1/labels"),
    ("get", "/api/v1/conversations"),
    ("post", "/api/v1/threads/{id}/claim"),
    ("post", "/api/v1/threads/{id}/claim/renew"),
    ("delete", "/api/v1/threads/{id}/claim"),
    ("post", "/api/v1/threads/{id}/takeover"),
    ("put", "/api/v1/threads/{id}/status"),
    ("get", "/api/v1/queue"),
    ("get", "/api/v1/canned-replies"),
    ("post", "/api/v1/canned-replies"),
    ("delete", "/api/v1/canned-replies/{id}"),
    ("get", "/api/v1/canned-replies/{id}/render"),
    ("get", "/api/v1/search"),
    ("get", "/api/v1/clients"),
    ("get", "/api/v1/clients/{id}/context"),
    ("put", "/api/v1/users/me/availability"),
    ("patch", "/api/v1/users/{id}"),
    ("get", "/api/v1/agents"),
    ("get", "/api/v1/routing"),
    ("put", "/api/v1/routing"),
    ("post", "/api/v1/threads/{id}/transfer"),
    // Prometheus metrics, outside /api/v1 but in the document.
    ("get", "/metrics"),
    ("get", "/api/v1/reports/summary"),
    ("get", "/api/v1/reports/agents"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("patch", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("post", "/api/v1/webhooks/{id}/replay"),
    ("post", "/api/v1/threads/{id}/attachments"),
    ("get", "/api/v1/attachments/{id}"),
];

async fn the_openapi_document_matches_the_routes(app: TestApp) {
    let resp = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let expected: BTreeSet<(String, String)> = V1_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected, "the document and API.md disagree");

    // Every documented route is served: neither 405 nor the router's own 404.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1").replace("{label_id}", "1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = app
            .request(method.clone(), &concrete, None)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["error"]["code"], "route_not_found",
            "{method} {path} is documented but not routed"
        );
    }
    // And a path that is not in the document is not served.
    let resp = app.get("/api/v1/threads/1/nothing", None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route_not_found");
}
