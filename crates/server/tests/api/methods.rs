//! A method a path does not serve answers 405 with `Allow` (in the API's error shape), on every
//! route: the documented /api/v1 ones, the seed's, health, sockets and pages. An unknown path
//! still answers 404 `route_not_found`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

on_every_store!(
    every_documented_path_refuses_other_methods_with_405_and_allow,
    other_routes_refuse_other_methods_with_405_and_allow,
    unknown_paths_still_answer_404
);

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];

/// Sends `method` to `path` and checks the 405: its `Allow` lists exactly `allowed`, and the
/// body is the API's error with code `method_not_allowed`.
async fn assert_405(app: &TestApp, method: &str, path: &str, allowed: &BTreeSet<String>) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let resp = app
        .request(method.clone(), path, None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "{method} {path}"
    );
    let allow: BTreeSet<String> = resp
        .headers()
        .get("allow")
        .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
        .to_str()
        .unwrap()
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    assert_eq!(&allow, allowed, "{method} {path}: Allow");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(method.as_str()) && message.contains(path),
        "{message}"
    );
}

async fn every_documented_path_refuses_other_methods_with_405_and_allow(app: TestApp) {
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut paths: BTreeMap<String, BTreeSet<String>> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.to_uppercase().as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect();
    assert!(paths.len() > 20, "{paths:?}");
    // The document itself is served too, and only with GET.
    paths.insert("/api/v1/openapi.json".into(), ["GET".to_owned()].into());
    for (path, allowed) in &paths {
        let concrete = path.replace("{id}", "1").replace("{label_id}", "1");
        for method in METHODS.iter().filter(|m| !allowed.contains(**m)) {
            assert_405(&app, method, &concrete, allowed).await;
        }
    }
}

async fn other_routes_refuse_other_methods_with_405_and_allow(app: TestApp) {
    let set =
        |methods: &[&str]| -> BTreeSet<String> { methods.iter().map(|m| m.to_string()).collect() };
    let cases: &[(&str, &str, BTreeSet<String>)] = &[
        ("GET", "/chat-app/user/", set(&["POST"])),
        ("PUT", "/chat-app/user", set(&["POST"])),
        ("GET", "/chat-app/user/5/", set(&["DELETE"])),
        ("POST", "/chat-app/user/5", set(&["DELETE"])),
        ("GET", "/chat-app/send-message/", set(&["POST"])),
        ("DELETE", "/chat-app/message-list/", set(&["GET", "POST"])),
        ("PUT", "/chat-app/thread-list", set(&["GET", "POST"])),
        ("POST", "/chat-app/3/4", set(&["GET", "HEAD"])),
        ("POST", "/healthz", set(&["GET"])),
        ("DELETE", "/readyz", set(&["GET"])),
        ("POST", "/ws/queue", set(&["GET"])),
        ("POST", "/ws/threads/1", set(&["GET"])),
        ("POST", "/", set(&["GET", "HEAD"])),
        ("PUT", "/agent", set(&["GET", "HEAD"])),
        ("DELETE", "/static/js/api.js", set(&["GET", "HEAD"])),
    ];
    for (method, path, allowed) in cases {
        assert_405(&app, method, path, allowed).await;
    }
}

async fn unknown_paths_still_answer_404(app: TestApp) {
    for (method, path) in [
        (Method::GET, "/api/v1/nothing"),
        (Method::PATCH, "/api/v1/threads/1/nothing"),
        (Method::POST, "/chat-app/nothing/"),
        (Method::GET, "/nothing"),
    ] {
        let resp = app
            .request(method.clone(), path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "route_not_found", "{method} {path}");
    }
}
