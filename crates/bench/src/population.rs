//! Creating the users and threads a scenario needs, concurrently.

use anyhow::{bail, Result};
use futures_util::{stream, StreamExt};

use crate::api::{Api, Session};

/// A client with a thread of its own.
#[derive(Debug, Clone)]
pub struct Client {
    /// The logged-in client.
    pub session: Session,
    /// Its thread.
    pub thread: i64,
    /// Index of the instance it talks to.
    pub home: usize,
}

const TYPES: [&str; 3] = ["loan", "payment", "other"];

/// Signs up, logs in and opens one thread for each of `n` clients named `{prefix}-c{i}`,
/// spread over the instances, `concurrency` at a time.
pub async fn clients(
    api: &Api,
    bases: &[String],
    prefix: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<Client>> {
    let results: Vec<Result<Client>> = stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let home = i % bases.len().max(1);
            let base = bases.get(home).cloned().unwrap_or_default();
            let username = format!("{prefix}-c{i}");
            async move {
                let session = api.new_user(&base, &username, "client", None).await?;
                let kind = TYPES[i % TYPES.len()];
                let thread = api
                    .open_thread(
                        &base,
                        &session.token,
                        kind,
                        &format!("hello from {username}"),
                    )
                    .await?;
                Ok(Client {
                    session,
                    thread,
                    home,
                })
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    all_ok(results, "clients")
}

/// Creates and logs in `n` agents named `{prefix}-a{i}` (an admin's token is required).
pub async fn agents(
    api: &Api,
    bases: &[String],
    admin_token: &str,
    prefix: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<Session>> {
    let results: Vec<Result<Session>> = stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            let base = bases
                .get(i % bases.len().max(1))
                .cloned()
                .unwrap_or_default();
            let username = format!("{prefix}-a{i}");
            let admin = admin_token.to_owned();
            async move { api.new_user(&base, &username, "agent", Some(&admin)).await }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    all_ok(results, "agents")
}

fn all_ok<T>(results: Vec<Result<T>>, what: &str) -> Result<Vec<T>> {
    let total = results.len();
    let mut ok = Vec::with_capacity(total);
    let mut first_error = None;
    let mut failed = 0;
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        bail!("creating {what}: {failed} of {total} failed; first: {e:#}");
    }
    Ok(ok)
}
