//! The seed app's endpoints: same paths, fields and keys, any of its encodings.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp};

on_every_store!(
    seed_user_create_and_delete_keep_the_seeds_keys,
    seed_send_message_creates_the_thread_and_lists_unread,
    seed_sends_with_a_password_go_to_the_open_thread_until_it_is_resolved,
    seed_agent_message_list_is_the_queue_most_urgent_first,
    seed_thread_list_is_for_that_agent_that_client_or_an_admin,
    seed_inputs_come_as_form_json_query_or_multipart,
    seed_refusals,
);

async fn seed_user_create_and_delete_keep_the_seeds_keys(app: TestApp) {
    let resp = app
        .form(
            Method::POST,
            "/chat-app/user/",
            &[
                ("username", "ann"),
                ("password", "password-123"),
                ("role", "client"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(user["username"], "ann");
    assert_eq!(user["role"], "client");
    assert!(user["id"].is_i64() && user["created_at"].is_string());
    assert!(user.get("password").is_none());
    let id = user["id"].as_i64().unwrap();

    // Without the trailing slash, authenticated by the seed's fields.
    let resp = app
        .form(
            Method::DELETE,
            &format!("/chat-app/user/{id}"),
            &[("username", "ann"), ("password", "password-123")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"deleted": "User is deleted successfully", "id": id})
    );
    assert_error(
        app.log_in("ann", "password-123").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

async fn seed_send_message_creates_the_thread_and_lists_unread(app: TestApp) {
    app.client("ann").await;
    let creds = [("username", "ann"), ("password", "password-123")];
    let list = |tt: &'static str| {
        let mut f = creds.to_vec();
        f.push(("thread_type", tt));
        f
    };
    let resp = app
        .form(Method::POST, "/chat-app/message-list/", &list("1"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["chats_sent"], json!([]));
    assert!(body["warning"].is_string());

    let mut send = creds.to_vec();
    send.extend([("message_body", "loan disbursement?"), ("thread_type", "1")]);
    let resp = app
        .form(Method::POST, "/chat-app/send-message/", &send)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let sent: Value = resp.json().await.unwrap();
    assert_eq!(sent["chat_sent_successfully"], "loan disbursement?");
    assert!(sent["thread_id"].is_i64() && sent["message_id"].is_i64());
    assert_eq!(sent["seq"], 1);

    // GET with a form body, as the seed's clients do.
    let resp = app
        .form(Method::GET, "/chat-app/message-list", &list("1"))
        .await;
    let body: Value = resp.json().await.unwrap();
    let items = body["chats_sent"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["message"], "loan disbursement?");
    assert_eq!(items[0]["is_read"], false);
    assert!(items[0]["timestamp"].is_string());
    assert_eq!(items[0]["message_id"], sent["message_id"]);
    assert_eq!(items[0]["thread_id"], sent["thread_id"]);
    assert!(body.get("warning").is_none());
    // Another topic has nothing.
    let body: Value = app
        .form(Method::POST, "/chat-app/message-list/", &list("2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["chats_sent"], json!([]));
}

/// `send-message` with username + password: every send of a topic goes to the client's open
/// thread of that topic (seq 1, 2, ...), another topic opens its own, a resolved thread is
/// left alone and the next send opens a new one; a refused body stores nothing.
async fn seed_sends_with_a_password_go_to_the_open_thread_until_it_is_resolved(app: TestApp) {
    app.client("ann").await;
    let admin = app.admin("root").await;
    let send = |body: &'static str, tt: &'static str| {
        let app = &app;
        async move {
            let fields = [
                ("username", "ann"),
                ("password", "password-123"),
                ("message_body", body),
                ("thread_type", tt),
            ];
            app.form(Method::POST, "/chat-app/send-message/", &fields)
                .await
        }
    };
    let sent = |resp: reqwest::Response| async move {
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        (
            body["thread_id"].as_i64().unwrap(),
            body["seq"].as_i64().unwrap(),
        )
    };
    let (loan, seq) = sent(send("first", "1").await).await;
    assert_eq!(seq, 1);
    assert_eq!(sent(send("second", "1").await).await, (loan, 2));
    let (payment, seq) = sent(send("other topic", "2").await).await;
    assert_ne!(payment, loan);
    assert_eq!(seq, 1);
    assert_error(
        send("bad \u{7} bell", "1").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(sent(send("third", "1").await).await, (loan, 3));

    let resolve = app
        .put_json(
            &format!("/api/v1/threads/{loan}/status"),
            json!({"status": "resolved"}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(resolve.status(), StatusCode::OK);
    let (again, seq) = sent(send("after resolve", "1").await).await;
    assert_ne!(again, loan);
    assert_ne!(again, payment);
    assert_eq!(seq, 1);
    assert_eq!(sent(send("next", "1").await).await, (again, 2));
    let old: Value = app.messages(loan, &admin).await.json().await.unwrap();
    assert_eq!(old["items"].as_array().map(Vec::len), Some(3));
}

async fn seed_agent_message_list_is_the_queue_most_urgent_first(app: TestApp) {
    let ann = app.client("ann").await;
    let bob = app.client("bob").await;
    app.write(&ann, json!(3), "please update my address").await;
    let urgent = app
        .write(&bob, json!(1), "my loan disbursement is blocked")
        .await;
    app.agent("bo").await;
    let resp = app
        .form(
            Method::GET,
            "/chat-app/message-list/",
            &[("username", "bo"), ("password", "password-123")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let items = body["chats_recieved"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["message"], "my loan disbursement is blocked");
    assert_eq!(items[0]["client_id"], bob.id);
    assert_eq!(items[0]["thread_id"], urgent["thread"]["id"]);
    assert!(
        items[0]["urgency"]["score"].as_i64().unwrap()
            > items[1]["urgency"]["score"].as_i64().unwrap()
    );
    for item in items {
        for key in [
            "message",
            "client_id",
            "timestamp",
            "is_read",
            "message_id",
            "thread_id",
            "urgency",
        ] {
            assert!(item.get(key).is_some(), "missing {key}");
        }
    }
}

async fn seed_thread_list_is_for_that_agent_that_client_or_an_admin(app: TestApp) {
    let ann = app.client("ann").await;
    app.client("eve").await;
    let bo = app.agent("bo").await;
    let thread_id = app.write(&ann, json!(2), "payment failed").await["thread"]["id"]
        .as_i64()
        .unwrap();
    app.claim(thread_id, &bo).await;
    app.reply(thread_id, &bo, "retry please").await;
    let (agent_id, client_id) = (bo.id.to_string(), ann.id.to_string());
    let fields = |user: &'static str| {
        vec![
            ("username", user),
            ("password", "password-123"),
            ("agent_id", agent_id.as_str()),
            ("client_id", client_id.as_str()),
        ]
    };
    for user in ["ann", "bo"] {
        let resp = app
            .form(Method::POST, "/chat-app/thread-list/", &fields(user))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        let items = body["all_conversations"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["message"], "payment failed");
        assert_eq!(items[1]["sender_id"], bo.id);
        for key in [
            "message",
            "timestamp",
            "is_read",
            "message_id",
            "thread_id",
            "sender_id",
        ] {
            assert!(items[0].get(key).is_some(), "missing {key}");
        }
    }
    assert_error(
        app.form(Method::GET, "/chat-app/thread-list", &fields("eve"))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

async fn seed_inputs_come_as_form_json_query_or_multipart(app: TestApp) {
    // JSON body.
    let resp = app
        .request(Method::POST, "/chat-app/user", None)
        .json(&json!({"username": "ann", "password": "password-123", "role": "client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    // Query string, thread type as a number in JSON.
    let resp = app
        .request(
            Method::POST,
            "/chat-app/send-message/?username=ann&password=password-123",
            None,
        )
        .json(&json!({"message_body": "first", "thread_type": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Multipart form data, with the README's capitalised names.
    let boundary = "XyZ123";
    let mut body = String::new();
    for (k, v) in [
        ("Username", "ann"),
        ("Password", "password-123"),
        ("Message_body", "second"),
        ("Thread_type", "2"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let resp = app
        .request(Method::POST, "/chat-app/send-message/", None)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Bearer instead of the seed's fields, query-string list.
    let ann = app
        .log_in("ann", "password-123")
        .await
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body: Value = app
        .get("/chat-app/message-list/?thread_type=payment", Some(&ann))
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = body["chats_sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["first", "second"]);
}

async fn seed_refusals(app: TestApp) {
    let ann = app.client("ann").await;
    let bob = app.client("bob").await;
    app.agent("bo").await;
    // Deleting someone else.
    let resp = app
        .form(
            Method::DELETE,
            &format!("/chat-app/user/{}/", bob.id),
            &[("username", "ann"), ("password", "password-123")],
        )
        .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // No credentials, wrong password.
    assert_error(
        app.form(Method::DELETE, &format!("/chat-app/user/{}/", ann.id), &[])
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let resp = app
        .form(
            Method::POST,
            "/chat-app/send-message/",
            &[
                ("username", "ann"),
                ("password", "nope-nope"),
                ("message_body", "x"),
                ("thread_type", "1"),
            ],
        )
        .await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Agents do not send through send-message.
    let resp = app
        .form(
            Method::POST,
            "/chat-app/send-message/",
            &[
                ("username", "bo"),
                ("password", "password-123"),
                ("message_body", "x"),
                ("thread_type", "1"),
            ],
        )
        .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    // Creating an agent without an admin.
    let resp = app
        .form(
            Method::POST,
            "/chat-app/user/",
            &[
                ("username", "sneaky"),
                ("password", "password-123"),
                ("role", "AGENT"),
            ],
        )
        .await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Missing thread_type for a client's list; unknown thread type.
    let resp = app
        .form(
            Method::GET,
            "/chat-app/message-list/",
            &[("username", "ann"), ("password", "password-123")],
        )
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "missing_field").await;
    let resp = app
        .form(
            Method::POST,
            "/chat-app/send-message/",
            &[
                ("username", "ann"),
                ("password", "password-123"),
                ("message_body", "x"),
                ("thread_type", "9"),
            ],
        )
        .await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
    // Missing ids on thread-list.
    let resp = app
        .form(
            Method::POST,
            "/chat-app/thread-list/",
            &[("username", "ann"), ("password", "password-123")],
        )
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "missing_field").await;
    // Nothing was sent, nobody deleted.
    let list: Value = app
        .get("/api/v1/threads", Some(&ann.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        app.get("/api/v1/users/me", Some(&bob.token)).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.log_in("sneaky", "password-123").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}
