//! Test support: a real S3-compatible server (moto) on a free port, installed from PyPI
//! (pinned) by `tests/s3/moto.sh` into a git-ignored virtualenv on first use, and stopped when
//! the guard goes. Used by this crate's tests and the server's.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::S3Config;

/// A running moto server, killed when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Already gone is fine: nothing else to do with the error.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Installs moto if needed and starts it on a free port; fails (never skips) if it cannot.
    pub fn start() -> Result<Moto, String> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/s3/moto.sh");
        let out = Command::new(&script)
            .arg("install")
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err("installing moto failed (tests/s3/moto.sh install)".to_owned());
        }
        let server = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {server}: {e}"))?;
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("moto did not listen within 30 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(moto)
    }

    /// Creates a bucket with a plain `PUT /<bucket>` (moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        write!(
            conn,
            "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer)
            .map_err(|e| e.to_string())?;
        if answer.starts_with("HTTP/1.1 200") {
            Ok(())
        } else {
            Err(format!("creating bucket {bucket}: {answer}"))
        }
    }

    /// The adapter's settings for a bucket of this server.
    pub fn config(&self, bucket: &str) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            region: "us-east-1".to_owned(),
            endpoint: self.endpoint.clone(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            allow_http: true,
        }
    }
}
