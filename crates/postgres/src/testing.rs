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

/// A schema of one test's own, dropped with everything in it when the guard goes (so a test
/// run leaves no schemas behind). Schemas left by test processes that died before dropping
/// theirs are swept the first time a process creates one.
#[derive(Debug)]
pub struct FreshSchema {
    name: String,
    url: String,
}

impl FreshSchema {
    /// Creates an empty schema with a unique name, whose URL is [`base_url`] with connections
    /// using it (`options=-csearch_path=<schema>`). Fails if Postgres is not running.
    pub fn create() -> Result<Self, PostgresError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static SWEEP: std::sync::Once = std::sync::Once::new();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!(
            "{PREFIX}{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let base = base_url();
        let mut conn = PgConnection::establish(&base)?;
        SWEEP.call_once(|| sweep_orphans(&mut conn));
        diesel::sql_query(format!("CREATE SCHEMA {name}")).execute(&mut conn)?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        Ok(FreshSchema { name, url })
    }

    /// The URL whose connections use this schema.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        // Best effort: a connection still inside a transaction on the schema must not hang the
        // test, so the drop gives up after a few seconds (the next sweep takes the schema).
        if let Ok(mut conn) = PgConnection::establish(&base_url()) {
            let _ = diesel::sql_query("SET lock_timeout = '5s'").execute(&mut conn);
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .execute(&mut conn);
        }
    }
}

/// Every test schema's name starts with this, then the creating process's id.
const PREFIX: &str = "t_";

/// Drops the test schemas whose creating process no longer runs on this machine.
fn sweep_orphans(conn: &mut PgConnection) {
    if !std::path::Path::new("/proc/self").exists() {
        return; // no way to tell a live process from a dead one here
    }
    #[derive(diesel::QueryableByName)]
    struct Schema {
        #[diesel(sql_type = diesel::sql_types::Text)]
        nspname: String,
    }
    let Ok(schemas) = diesel::sql_query(
        "SELECT nspname::text AS nspname FROM pg_namespace WHERE nspname LIKE 't\\_%'",
    )
    .load::<Schema>(conn) else {
        return;
    };
    for schema in schemas {
        let pid = schema.nspname[PREFIX.len()..]
            .split('_')
            .next()
            .unwrap_or("");
        let alive = !pid.is_empty() && std::path::Path::new("/proc").join(pid).exists();
        if !alive && pid.chars().all(|c| c.is_ascii_digit()) {
            let _ = diesel::sql_query("SET lock_timeout = '2s'").execute(conn);
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.nspname))
                .execute(conn);
        }
    }
}
