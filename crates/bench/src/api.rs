//! A thin client for the REST endpoints the scenarios drive (see API.md).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// A shared HTTP client (connection pools per instance).
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Its id.
    pub user_id: i64,
    /// Its username.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Its bearer token.
    pub token: String,
}

/// What a claim attempt answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// 200: the caller holds it.
    Won,
    /// 409 claimed: another agent holds it.
    Held {
        /// The holder named in the answer.
        holder: Option<i64>,
    },
    /// Anything else.
    Other(u16),
}

#[derive(Deserialize)]
struct IdOnly {
    id: i64,
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    user: IdOnly,
}

#[derive(Deserialize)]
struct OpenedThread {
    thread: IdOnly,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    /// A client with generous pools, idle connections retired before the servers close them, and
    /// a 30 s request timeout.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            // The servers close a keep-alive connection idle for 5 s (actix-web's default);
            // reusing one just as it closes fails with a reset. Retire idle ones sooner.
            .pool_idle_timeout(Duration::from_secs(3))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Api { http }
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Signs a user up; agents and admins need an admin's token.
    pub async fn sign_up(
        &self,
        base: &str,
        username: &str,
        password: &str,
        role: &str,
        admin_token: Option<&str>,
    ) -> Result<i64> {
        let mut req = self
            .http
            .post(format!("{base}/api/v1/users"))
            .json(&json!({"username": username, "password": password, "role": role}));
        if let Some(token) = admin_token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let user: IdOnly = expect(resp, StatusCode::CREATED, "sign-up").await?;
        Ok(user.id)
    }

    /// Logs in and returns the session.
    pub async fn log_in(&self, base: &str, username: &str, password: &str) -> Result<Session> {
        let resp = self
            .http
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await?;
        let answer: LoginAnswer = expect(resp, StatusCode::CREATED, "log-in").await?;
        Ok(Session {
            user_id: answer.user.id,
            username: username.to_owned(),
            password: password.to_owned(),
            token: answer.token,
        })
    }

    /// Signs up and logs in.
    pub async fn new_user(
        &self,
        base: &str,
        username: &str,
        role: &str,
        admin_token: Option<&str>,
    ) -> Result<Session> {
        let password = format!("bench-pw-{username}");
        self.sign_up(base, username, &password, role, admin_token)
            .await?;
        self.log_in(base, username, &password).await
    }

    /// A client opens a thread with a first message; returns the thread id.
    pub async fn open_thread(
        &self,
        base: &str,
        token: &str,
        thread_type: &str,
        body: &str,
    ) -> Result<i64> {
        let resp = self
            .http
            .post(format!("{base}/api/v1/threads"))
            .bearer_auth(token)
            .json(&json!({"thread_type": thread_type, "body": body}))
            .send()
            .await?;
        let opened: OpenedThread = expect(resp, StatusCode::CREATED, "open thread").await?;
        Ok(opened.thread.id)
    }

    /// Posts a message with a token; returns the status.
    pub async fn send(
        &self,
        base: &str,
        token: &str,
        thread: i64,
        body: &str,
    ) -> Result<StatusCode> {
        let resp = self
            .http
            .post(format!("{base}/api/v1/threads/{thread}/messages"))
            .bearer_auth(token)
            .json(&json!({"body": body}))
            .send()
            .await?;
        let status = resp.status();
        // Read the body so the connection goes back to the pool.
        let _ = resp.bytes().await;
        Ok(status)
    }

    /// Sends through the seed endpoint with username + password (a bcrypt per request).
    pub async fn seed_send(
        &self,
        base: &str,
        s: &Session,
        thread_type: i64,
        body: &str,
    ) -> Result<StatusCode> {
        let resp = self
            .http
            .post(format!("{base}/chat-app/send-message/"))
            .json(&json!({
                "username": s.username,
                "password": s.password,
                "message_body": body,
                "thread_type": thread_type,
            }))
            .send()
            .await?;
        let status = resp.status();
        let _ = resp.bytes().await;
        Ok(status)
    }

    /// An agent tries to claim a thread.
    pub async fn claim(&self, base: &str, token: &str, thread: i64) -> Result<ClaimOutcome> {
        let resp = self
            .http
            .post(format!("{base}/api/v1/threads/{thread}/claim"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        Ok(match status {
            StatusCode::OK => ClaimOutcome::Won,
            StatusCode::CONFLICT => ClaimOutcome::Held {
                holder: body["error"]["holder_id"].as_i64(),
            },
            other => ClaimOutcome::Other(other.as_u16()),
        })
    }

    /// The holder releases a claim.
    pub async fn release(&self, base: &str, token: &str, thread: i64) -> Result<()> {
        let resp = self
            .http
            .delete(format!("{base}/api/v1/threads/{thread}/claim"))
            .bearer_auth(token)
            .send()
            .await?;
        if resp.status() != StatusCode::NO_CONTENT {
            bail!("release answered {}", resp.status());
        }
        Ok(())
    }

    /// A GET with a bearer token; the status and the body's text.
    pub async fn get_text(&self, url: &str, token: &str) -> Result<(StatusCode, String)> {
        let resp = self.http.get(url).bearer_auth(token).send().await?;
        let status = resp.status();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// The agents' queue; returns the status and how many entries it listed.
    pub async fn queue(&self, base: &str, token: &str, limit: u32) -> Result<(StatusCode, usize)> {
        let resp = self
            .http
            .get(format!("{base}/api/v1/queue?limit={limit}"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let n = body["items"].as_array().map(Vec::len).unwrap_or(0);
        Ok((status, n))
    }
}

async fn expect<T: for<'de> Deserialize<'de>>(
    resp: reqwest::Response,
    want: StatusCode,
    what: &str,
) -> Result<T> {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if status != want {
        bail!("{what} answered {status}: {}", truncate(&text, 300));
    }
    serde_json::from_str(&text)
        .with_context(|| format!("{what}: unexpected body {}", truncate(&text, 300)))
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
