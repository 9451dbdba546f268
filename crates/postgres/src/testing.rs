//! Test support: every test gets a schema of its own in the real Postgres, so tests run in
//! parallel without seeing each other's rows. Used by this crate's tests and the server's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::PostgresError;

/// The server tests run against: `DATABASE_URL`, or the local default.
pub fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty schema with a unique name and returns a URL of [`base_url`] whose
/// connections use it (`options=-csearch_path=<schema>`). Fails if Postgres is not running.
pub fn fresh_schema_url() -> Result<String, PostgresError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let base = base_url();
    let mut conn = PgConnection::establish(&base)?;
    diesel::sql_query(format!("CREATE SCHEMA {schema}")).execute(&mut conn)?;
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{separator}options=-csearch_path%3D{schema}"))
}
