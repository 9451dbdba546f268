//! The blob port ([`chat_domain::ports::BlobStore`]) over Apache Arrow's `object_store`: the local
//! filesystem (the embedded default, under the data directory) and S3-compatible stores (AWS S3,
//! MinIO, Ceph, ...), behind one adapter.
//!
//! `object_store` is async; the port is synchronous like the store ports (the server calls it
//! in `web::block`). Each call runs on a small runtime of the adapter's own and the caller waits
//! on a channel, so it works from any thread, inside another runtime's blocking pool or not.

pub mod testing;

use std::future::Future;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::ports::BlobStore;
use chat_domain::{DomainError, DomainResult};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};

/// Where an S3-compatible store is and how to sign in to it.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The endpoint for S3-compatible servers (`http://127.0.0.1:9000`); empty for AWS.
    pub endpoint: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Allow a plain `http://` endpoint (test servers, a private network).
    pub allow_http: bool,
}

/// A blob store over `object_store`.
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    runtime: Runtime,
    name: &'static str,
}

impl std::fmt::Debug for ObjectBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlobStore")
            .field("backend", &self.name)
            .finish()
    }
}

/// The adapter's runtime, shut down in the background when dropped (so dropping it inside
/// another runtime never panics).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Why a blob store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory could not be created.
    #[error("cannot create the blob directory {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `object_store` refused the configuration.
    #[error("blob store configuration: {0}")]
    Config(#[from] object_store::Error),
    /// The adapter's runtime could not start.
    #[error("blob store runtime: {0}")]
    Runtime(std::io::Error),
}

impl ObjectBlobStore {
    /// Files under `dir` (created if missing).
    pub fn filesystem(dir: &FsPath) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Self::new(Arc::new(store), "filesystem")
    }

    /// Objects in an S3-compatible bucket. Requests time out after 10 s and are retried at
    /// most twice, so an unreachable server answers Unavailable within seconds.
    pub fn s3(config: &S3Config) -> Result<Self, OpenError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.allow_http)
                    .with_timeout(Duration::from_secs(10))
                    .with_connect_timeout(Duration::from_secs(2)),
            )
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            });
        if !config.endpoint.is_empty() {
            builder = builder.with_endpoint(&config.endpoint);
        }
        Self::new(Arc::new(builder.build()?), "s3")
    }

    fn new(store: Arc<dyn ObjectStore>, name: &'static str) -> Result<Self, OpenError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("blobs")
            .enable_all()
            .build()
            .map_err(OpenError::Runtime)?;
        Ok(ObjectBlobStore {
            store,
            runtime: Runtime(Some(runtime)),
            name,
        })
    }

    /// Runs `future` on the adapter's runtime and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> DomainResult<T> {
        let runtime = self
            .runtime
            .0
            .as_ref()
            .ok_or_else(|| DomainError::unavailable("the blob store is shut down"))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            // The caller waits on `rx`; if it went away there is nobody to tell.
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|_| DomainError::unavailable("the blob store task ended"))
    }
}

fn key_path(key: &str) -> DomainResult<Path> {
    Path::parse(key).map_err(|err| DomainError::internal(format!("bad blob key {key:?}: {err}")))
}

fn failure(err: object_store::Error) -> DomainError {
    DomainError::unavailable(format!("blob store: {err}"))
}

impl BlobStore for ObjectBlobStore {
    fn put_blob(&self, key: &str, bytes: Vec<u8>) -> DomainResult<()> {
        let path = key_path(key)?;
        let store = self.store.clone();
        self.run(async move { store.put(&path, PutPayload::from(bytes)).await })?
            .map(|_| ())
            .map_err(failure)
    }

    fn get_blob(&self, key: &str) -> DomainResult<Option<Vec<u8>>> {
        let path = key_path(key)?;
        let store = self.store.clone();
        let answer = self.run(async move {
            match store.get(&path).await {
                Ok(result) => result.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(err) => Err(err),
            }
        })?;
        answer
            .map(|bytes| bytes.map(|b| b.to_vec()))
            .map_err(failure)
    }

    fn delete_blob(&self, key: &str) -> DomainResult<()> {
        let path = key_path(key)?;
        let store = self.store.clone();
        self.run(async move {
            match store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(err) => Err(err),
            }
        })?
        .map_err(failure)
    }

    fn backend_name(&self) -> &'static str {
        self.name
    }
}
