//! Attachments (`POST /api/v1/threads/{id}/attachments`, `attachment_ids` on a send,
//! `GET /api/v1/attachments/{id}`), on each store, over the filesystem blob adapter (the S3
//! adapter keeps the same contract: `crates/blobs/tests`).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, next_of, spawn_app_with, Actor, Backend, TestApp};

on_every_store!(with crate::attachments::spawn_with_blob_dir;
    a_file_goes_from_a_client_to_the_agent_and_to_nobody_else,
    disguised_and_oversized_files_are_refused_and_nothing_is_stored,
);

/// The sweep's test, on an app of its own kind (`spawn_sweeping`).
mod sweeping {
    use super::uploads_never_sent_are_removed_after_their_time_and_sent_ones_kept;

    on_every_store!(with crate::attachments::spawn_sweeping;
        uploads_never_sent_are_removed_after_their_time_and_sent_ones_kept,
    );
}

/// A 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x60, 0x60, 0xf8,
    0x0f, 0x00, 0x01, 0x04, 0x01, 0x00, 0x5f, 0xe5, 0xc3, 0x4b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The largest upload of these tests (a 413 needs only a little more).
const MAX_BYTES: u64 = 2048;

thread_local! {
    static BLOB_DIR: std::cell::RefCell<Option<tempfile::TempDir>> = const { std::cell::RefCell::new(None) };
}

/// The app with its attachments in a fresh directory of its own (kept in `BLOB_DIR` for the
/// test to look into) and `attachments.max_bytes` = 2048.
async fn spawn_with_blob_dir(backend: Backend) -> TestApp {
    spawn_with_blob_dir_and(backend, |s| s.attachments.max_bytes = MAX_BYTES).await
}

/// As [`spawn_with_blob_dir`], with unattached uploads kept one hour and the sweeps every second.
async fn spawn_sweeping(backend: Backend) -> TestApp {
    spawn_with_blob_dir_and(backend, |s| {
        s.attachments.unattached_ttl_hours = 1;
        s.claims.sweep_interval_seconds = 1;
    })
    .await
}

/// The app with its attachments in a fresh directory of its own (in `BLOB_DIR`), and `tweak`.
async fn spawn_with_blob_dir_and(
    backend: Backend,
    tweak: impl FnOnce(&mut chat_server::Settings),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    BLOB_DIR.with(|d| *d.borrow_mut() = Some(dir));
    spawn_app_with(backend, |s| {
        s.attachments.dir = path;
        tweak(s);
    })
    .await
}

/// How many files are under the test's blob directory.
fn stored_files() -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let p = e.path();
                        if p.is_dir() {
                            count(&p)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    BLOB_DIR.with(|d| count(d.borrow().as_ref().unwrap().path()))
}

/// A multipart body with one field, as browsers send it.
pub fn multipart(field: &str, file_name: &str, declared: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----chat-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {declared}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(
    app: &TestApp,
    thread: i64,
    who: &Actor,
    file_name: &str,
    declared: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let (content_type, body) = multipart("file", file_name, declared, bytes);
    app.http
        .post(app.url(&format!("/api/v1/threads/{thread}/attachments")))
        .bearer_auth(&who.token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn send(
    app: &TestApp,
    thread: i64,
    who: &Actor,
    body: &str,
    ids: &[&str],
) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/threads/{thread}/messages"),
        json!({"body": body, "attachment_ids": ids}),
        Some(&who.token),
    )
    .await
}

async fn download(app: &TestApp, url: &str, who: Option<&Actor>) -> reqwest::Response {
    app.get(url, who.map(|w| w.token.as_str())).await
}

async fn a_file_goes_from_a_client_to_the_agent_and_to_nobody_else(app: TestApp) {
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    let bo = app.agent("bo").await;
    let thread = app.write(&ann, json!(1), "my card was declined").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let cys_thread = app.write(&cy, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread, &bo).await;
    let (mut agent_ws, _) = tokio_tungstenite::connect_async(format!(
        "{}/ws/threads/{thread}?token={}",
        app.address.replacen("http", "ws", 1),
        bo.token
    ))
    .await
    .unwrap();
    next_of(&mut agent_ws, "ready").await;

    // Another client may not upload to ann's thread: refused before the body is read.
    assert_error(
        upload(&app, thread, &cy, "x.png", "image/png", PNG).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(stored_files(), 0);

    let resp = upload(
        &app,
        thread,
        &ann,
        "payment é.png",
        "application/octet-stream",
        PNG,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let uploaded: Value = resp.json().await.unwrap();
    let id = uploaded["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(uploaded["url"], format!("/api/v1/attachments/{id}"));
    assert_eq!(uploaded["content_type"], "image/png");
    assert_eq!(uploaded["size"], PNG.len());
    assert_eq!(uploaded["name"], "payment é.png");
    let url = uploaded["url"].as_str().unwrap().to_owned();

    // Only its uploader attaches it, only in its thread, only once.
    assert_error(
        send(&app, cys_thread, &cy, "mine now", &[&id]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        send(&app, thread, &bo, "mine now", &[&id]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let resp = send(&app, thread, &ann, "here is the screenshot", &[&id]).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sent: Value = resp.json().await.unwrap();
    assert_eq!(sent["attachments"][0]["id"], id);
    assert_eq!(sent["attachments"][0]["name"], "payment é.png");
    assert_error(
        send(&app, thread, &ann, "again", &[&id]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;

    // The agent sees it live and in the list, with its url, type, size and name.
    let live = next_of(&mut agent_ws, "message.created").await;
    let attachment = &live["message"]["attachments"][0];
    assert_eq!(attachment["id"], id, "{live}");
    assert_eq!(attachment["url"], url);
    assert_eq!(attachment["content_type"], "image/png");
    assert_eq!(attachment["size"], PNG.len());
    assert_eq!(attachment["name"], "payment é.png");
    let list: Value = app.messages(thread, &bo).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items[0]["attachments"], json!([]));
    assert_eq!(items[1]["attachments"][0]["url"], url);

    // Downloads: the client and staff get the bytes with safe headers; nobody else does.
    for who in [&ann, &bo] {
        let resp = download(&app, &url, Some(who)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let h = resp.headers();
        assert_eq!(h["content-type"], "image/png");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
        let disposition = h["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("inline"), "{disposition}");
        assert!(
            disposition.contains("filename*=UTF-8''payment%20%C3%A9.png"),
            "{disposition}"
        );
        assert_eq!(resp.bytes().await.unwrap().as_ref(), PNG);
    }
    assert_error(
        download(&app, &url, Some(&cy)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        download(&app, &url, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for other in [
        format!("/api/v1/attachments/{}", "0".repeat(32)),
        "/api/v1/attachments/..%2F..%2Fchat.db".to_owned(),
        format!("/api/v1/attachments/{}", id.to_uppercase()),
    ] {
        assert_error(
            download(&app, &other, Some(&cy)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    // A text file downloads as an attachment, never inline.
    let resp = upload(
        &app,
        thread,
        &bo,
        "notes.html",
        "text/html",
        b"steps to retry:\n1. ...\n",
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let text: Value = resp.json().await.unwrap();
    assert_eq!(text["content_type"], "text/plain; charset=utf-8");
    let resp = download(&app, text["url"].as_str().unwrap(), Some(&ann)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
}

async fn disguised_and_oversized_files_are_refused_and_nothing_is_stored(app: TestApp) {
    let ann = app.client("ann").await;
    let thread = app.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let disguised: [(&str, &str, &[u8]); 5] = [
        (
            "shot.png",
            "image/png",
            b"<!DOCTYPE html><html><script>alert(document.cookie)</script>",
        ),
        (
            "shot.png",
            "image/png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        ),
        (
            "invoice.pdf",
            "application/pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        ),
        (
            "notes.txt",
            "text/plain",
            b"\x7fELF\x02\x01\x01\x00\x00\x00",
        ),
        ("notes.txt", "text/plain", b"bell \x07 in text"),
    ];
    for (name, declared, bytes) in disguised {
        let resp = upload(&app, thread, &ann, name, declared, bytes).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    }
    let mut big = PNG.to_vec();
    big.resize(MAX_BYTES as usize + 1, 0);
    assert_error(
        upload(&app, thread, &ann, "big.png", "image/png", &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    assert_error(
        upload(&app, thread, &ann, "empty.png", "image/png", b"").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let resp = app
        .http
        .post(app.url(&format!("/api/v1/threads/{thread}/attachments")))
        .bearer_auth(&ann.token)
        .json(&json!({"file": "not multipart"}))
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_body").await;
    assert_eq!(stored_files(), 0);

    let mut exactly = PNG.to_vec();
    exactly.resize(MAX_BYTES as usize, 0);
    let resp = upload(&app, thread, &ann, "fits.png", "image/png", &exactly).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(stored_files(), 1);
}

async fn uploads_never_sent_are_removed_after_their_time_and_sent_ones_kept(app: TestApp) {
    let ann = app.client("ann").await;
    let thread = app.write(&ann, json!(1), "hello").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let mut urls = Vec::new();
    for name in ["sent.png", "forgotten.png"] {
        let resp = upload(&app, thread, &ann, name, "image/png", PNG).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.unwrap();
        urls.push((
            body["id"].as_str().unwrap().to_owned(),
            body["url"].as_str().unwrap().to_owned(),
        ));
    }
    let (sent_id, sent_url) = &urls[0];
    let (_, forgotten_url) = &urls[1];
    let resp = send(&app, thread, &ann, "the file", &[sent_id.as_str()]).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Within the hour nothing goes (the sweep runs every second meanwhile).
    app.advance_secs(59 * 60);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(stored_files(), 2);
    assert_eq!(
        download(&app, forgotten_url, Some(&ann)).await.status(),
        StatusCode::OK
    );
    app.advance_secs(2 * 60);
    // The sweep runs every second of real time: wait for it (bounded), not for a time.
    let mut removed = false;
    for _ in 0..100 {
        if download(&app, forgotten_url, Some(&ann)).await.status() == StatusCode::NOT_FOUND {
            removed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(removed, "the forgotten upload was not removed");
    assert_eq!(
        stored_files(),
        1,
        "its bytes went with it; the sent file's stayed"
    );
    let resp = download(&app, sent_url, Some(&ann)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PNG);
}

/// The same round trip with `attachments.backend = "s3"`, against a real S3-compatible server
/// (moto, started by the test): the bytes are in the bucket, not on disk.
#[actix_web::test]
async fn a_file_round_trips_through_an_s3_bucket() {
    let moto = chat_blobs::testing::Moto::start().unwrap();
    moto.create_bucket("chat-api-attachments").unwrap();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.attachments.backend = "s3".to_owned();
        s.attachments.s3.bucket = "chat-api-attachments".to_owned();
        s.attachments.s3.endpoint = moto.endpoint.clone();
        s.attachments.s3.access_key_id = "test".to_owned();
        s.attachments.s3.secret_access_key = chat_server::settings::Secret::new("test");
        s.attachments.s3.allow_http = true;
    })
    .await;
    let ann = app.client("ann").await;
    let cy = app.client("cy").await;
    let thread = app.write(&ann, json!(2), "receipt attached").await["thread"]["id"]
        .as_i64()
        .unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let resp = upload(&app, thread, &ann, "receipt.pdf", "application/pdf", pdf).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let uploaded: Value = resp.json().await.unwrap();
    assert_eq!(uploaded["content_type"], "application/pdf");
    let id = uploaded["id"].as_str().unwrap();
    let resp = send(&app, thread, &ann, "the receipt", &[id]).await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    let bucket = chat_blobs::ObjectBlobStore::s3(&moto.config("chat-api-attachments")).unwrap();
    let key = format!("attachments/{id}");
    let in_bucket =
        tokio::task::spawn_blocking(move || chat_domain::ports::BlobStore::get_blob(&bucket, &key))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(in_bucket.as_deref(), Some(&pdf[..]));

    let url = uploaded["url"].as_str().unwrap();
    let resp = download(&app, url, Some(&ann)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), pdf);
    assert_error(
        download(&app, url, Some(&cy)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
