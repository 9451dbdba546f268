//! Blobs in memory: the reference [`BlobStore`] (tests, and services embedding the domain).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chat_domain::ports::BlobStore;
use chat_domain::DomainResult;

/// Blobs in a map behind a lock.
#[derive(Debug, Default)]
pub struct MemoryBlobs {
    blobs: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryBlobs {
    /// An empty blob store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl BlobStore for MemoryBlobs {
    fn put_blob(&self, key: &str, bytes: Vec<u8>) -> DomainResult<()> {
        let mut blobs = self.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        blobs.insert(key.to_owned(), bytes);
        Ok(())
    }

    fn get_blob(&self, key: &str) -> DomainResult<Option<Vec<u8>>> {
        let blobs = self.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(blobs.get(key).cloned())
    }

    fn delete_blob(&self, key: &str) -> DomainResult<()> {
        let mut blobs = self.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        blobs.remove(key);
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
