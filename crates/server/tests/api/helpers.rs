//! The harness: `spawn_app` starts the real server, `TestApp` has one helper per endpoint.

use std::sync::Arc;

use chat_domain::{Chat, Clock, SystemClock, Timestamp};
use chat_memory::ManualClock;
use chat_server::settings::Secret;
use chat_server::{Application, Settings};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

/// A store to run a scenario on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Generates, for each named `async fn(TestApp)` of the module, one test per store:
/// `postgres::<name>` and `sqlite::<name>`. `on_every_store!(with spawner; names..)` starts the
/// apps with another `async fn(Backend) -> TestApp` of the module (e.g. one with a test clock).
macro_rules! on_every_store {
    (with $spawner:path; $($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($spawner(crate::helpers::Backend::Postgres).await).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($spawner(crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        on_every_store!(with crate::helpers::spawn_app; $($name),*);
    };
}

/// A user of a test, with its credentials.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub token: String,
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub chat: Chat,
    pub clock: Option<Arc<ManualClock>>,
    pub database_url: String,
    _dir: Option<StoreGuard>,
}

/// Settings for tests: any free port, cheap bcrypt, the given store.
pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.server.port = 0;
    settings.server.workers = 2;
    settings.auth.bcrypt_cost = 4;
    settings.auth.allow_insecure_cost = true;
    settings.database.url = Secret::new(database_url);
    settings.database.pool_size = 8;
    settings
}

/// What keeps a test's store alive, and removes it when the test ends: the SQLite file's
/// directory, or the Postgres schema.
#[derive(Debug)]
pub enum StoreGuard {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema(#[allow(dead_code)] chat_postgres::testing::FreshSchema),
}

/// A fresh, empty store of the given kind: its URL, and the guard to keep alive.
pub fn fresh_store(backend: Backend) -> (String, Option<StoreGuard>) {
    match backend {
        Backend::Postgres => {
            let schema = chat_postgres::testing::FreshSchema::create()
                .expect("Postgres must be running for the tests");
            (schema.url().to_owned(), Some(StoreGuard::Schema(schema)))
        }
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("chat.db").display());
            (url, Some(StoreGuard::Dir(dir)))
        }
    }
}

/// Starts the real app on a fresh store.
pub async fn spawn_app(backend: Backend) -> TestApp {
    let (url, dir) = fresh_store(backend);
    spawn_app_on(&url, dir, None).await
}

/// Starts the real app on a fresh store with a clock the test moves.
pub async fn spawn_app_with_clock(backend: Backend) -> TestApp {
    let (url, dir) = fresh_store(backend);
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    spawn_app_on(&url, dir, Some(clock)).await
}

/// Starts the real app on a fresh store with a test clock and settings changed by `tweak`.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, dir) = fresh_store(backend);
    let clock = Arc::new(ManualClock::new(Timestamp(1_800_000_000_000)));
    let mut settings = test_settings(&url);
    tweak(&mut settings);
    spawn_app_with_settings(settings, dir, Some(clock)).await
}

/// Starts another instance of the app on an existing store.
pub async fn spawn_app_on(
    database_url: &str,
    dir: Option<StoreGuard>,
    clock: Option<Arc<ManualClock>>,
) -> TestApp {
    spawn_app_with_settings(test_settings(database_url), dir, clock).await
}

/// Starts the app with these settings.
pub async fn spawn_app_with_settings(
    settings: Settings,
    dir: Option<StoreGuard>,
    clock: Option<Arc<ManualClock>>,
) -> TestApp {
    let database_url = settings.database.url.expose().to_owned();
    let clock_port: Arc<dyn Clock> = match &clock {
        Some(c) => c.clone(),
        None => Arc::new(SystemClock),
    };
    let app = Application::build_with_clock(settings, clock_port)
        .await
        .expect("the app must start");
    let address = format!("http://{}", app.address());
    let chat = app.chat().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        http: reqwest::Client::new(),
        chat,
        clock,
        database_url,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: Value, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_json(&self, path: &str, body: Value, token: Option<&str>) -> Response {
        self.request(Method::PUT, path, token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::POST, path, token)
            .send()
            .await
            .unwrap()
    }

    /// A form body, as the seed's clients send.
    pub async fn form(&self, method: Method, path: &str, fields: &[(&str, &str)]) -> Response {
        self.request(method, path, None)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Moves the test clock (apps spawned with a clock only).
    pub fn advance_secs(&self, secs: i64) {
        self.clock
            .as_ref()
            .expect("spawn_app_with_clock")
            .advance_millis(secs * 1000);
    }

    // ---- accounts

    pub async fn sign_up_as(&self, username: &str, role: &str, admin: Option<&Actor>) -> Response {
        self.post_json(
            "/api/v1/users",
            json!({"username": username, "password": "password-123", "role": role}),
            admin.map(|a| a.token.as_str()),
        )
        .await
    }

    pub async fn log_in(&self, username: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/sessions",
            json!({"username": username, "password": password}),
            None,
        )
        .await
    }

    async fn actor(&self, id: i64, username: &str) -> Actor {
        let resp = self.log_in(username, "password-123").await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.unwrap();
        Actor {
            id,
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// A logged-in client.
    pub async fn client(&self, username: &str) -> Actor {
        let resp = self.sign_up_as(username, "client", None).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let user: Value = resp.json().await.unwrap();
        self.actor(user["id"].as_i64().unwrap(), username).await
    }

    /// A logged-in admin (created as `chat-server create-admin` does).
    pub async fn admin(&self, username: &str) -> Actor {
        let chat = self.chat.clone();
        let name = username.to_owned();
        let user = actix_web::web::block(move || chat.create_admin(&name, "password-123"))
            .await
            .unwrap()
            .unwrap();
        self.actor(user.id.0, username).await
    }

    /// A logged-in agent, created by a fresh admin.
    pub async fn agent(&self, username: &str) -> Actor {
        let admin = self.admin(&format!("{username}-boss")).await;
        let resp = self.sign_up_as(username, "agent", Some(&admin)).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let user: Value = resp.json().await.unwrap();
        self.actor(user["id"].as_i64().unwrap(), username).await
    }

    // ---- threads

    /// A client writes about a topic; returns {"thread", "message"}.
    pub async fn write(&self, client: &Actor, thread_type: Value, body: &str) -> Value {
        let resp = self
            .post_json(
                "/api/v1/threads",
                json!({"thread_type": thread_type, "body": body}),
                Some(&client.token),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        resp.json().await.unwrap()
    }

    pub async fn messages(&self, thread_id: i64, who: &Actor) -> Response {
        self.get(
            &format!("/api/v1/threads/{thread_id}/messages"),
            Some(&who.token),
        )
        .await
    }

    pub async fn reply(&self, thread_id: i64, who: &Actor, body: &str) -> Response {
        self.post_json(
            &format!("/api/v1/threads/{thread_id}/messages"),
            json!({"body": body}),
            Some(&who.token),
        )
        .await
    }

    pub async fn claim(&self, thread_id: i64, who: &Actor) -> Response {
        self.post_empty(
            &format!("/api/v1/threads/{thread_id}/claim"),
            Some(&who.token),
        )
        .await
    }

    pub async fn queue(&self, who: &Actor) -> Response {
        self.get("/api/v1/queue", Some(&who.token)).await
    }

    /// The thread ids in the queue, in order.
    pub async fn queue_ids(&self, who: &Actor) -> Vec<i64> {
        let resp = self.queue(who).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body: Value = resp.json().await.unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["thread"]["id"].as_i64().unwrap())
            .collect()
    }
}

/// Runs SQL on the app's store behind its back (blocking: call it from `web::block`). On SQLite
/// it waits for the write lock as the app's own connections do: the app's background tasks
/// (router sweep, SLA clocks) may hold it for a moment.
pub fn execute_behind_the_apps_back(database_url: &str, sql: &str) {
    use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let mut conn = SqliteConnection::establish(path).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 5000")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    } else {
        let mut conn = PgConnection::establish(database_url).unwrap();
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
}

/// The error code of an error answer (and checks its shape).
pub async fn error_code(resp: Response) -> String {
    let body: Value = resp.json().await.expect("errors are JSON");
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned()
}

/// Asserts a status and an error code.
pub async fn assert_error(resp: Response, status: StatusCode, code: &str) {
    assert_eq!(resp.status(), status);
    assert_eq!(error_code(resp).await, code);
}

// Socket frames (shared by the API tests that open sockets).

/// Sends a `ping` and reads up to its `pong`, asserting that no frame of type `kind` came
/// before it (everything published before the ping has reached the socket by then).
pub async fn assert_none_before_pong<S>(ws: &mut S, kind: &str)
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + futures_util::Sink<tokio_tungstenite::tungstenite::Message>
        + Unpin,
    <S as futures_util::Sink<tokio_tungstenite::tungstenite::Message>>::Error: std::fmt::Debug,
{
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        serde_json::json!({"type": "ping"}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let frame = next_frame(ws).await;
        assert_ne!(frame["type"], kind, "{frame}");
        if frame["type"] == "pong" {
            return;
        }
    }
}

/// The next text frame of type `kind`, skipping others.
pub async fn next_of<S>(ws: &mut S, kind: &str) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let frame = next_frame(ws).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// The next text frame.
pub async fn next_frame<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let frame = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            futures_util::StreamExt::next(ws),
        )
        .await
        .expect("a frame within 10 s")
        .unwrap()
        .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
