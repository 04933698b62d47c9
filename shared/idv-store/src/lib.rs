//! Where idv keeps things: blobs (images, certificates), records (tenants, jobs, results) and
//! job queues, as traits with an embedded implementation here (files + redb, for `idv serve`)
//! and an AWS one (S3, DynamoDB, SQS) elsewhere. Nothing above this crate knows which runs.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

pub mod conformance;
mod embedded;
mod files;

pub use embedded::{CheckReport, EmbeddedQueue, EmbeddedRecords, TableReport, check_database};
pub use files::{FileBlobs, UploadGrant, UploadRefused, private_dir, restrict_tree};

/// A storage failure. Backends map their own errors here.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid key {0:?}")]
    InvalidKey(String),
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage backend: {0}")]
    Backend(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A conditional write found the record in another state than expected: someone else
    /// wrote first. The caller decides what that means (reload and retry, or refuse).
    #[error("conflicting write to {table}/{key}")]
    Conflict { table: String, key: String },
    /// The store cannot write now (its file is being reopened after an I/O error); retry.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The embedded database file is open in another process (one process per file).
    #[error("the database file is open in another process")]
    InUse,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A URL a client can upload one object to, with the headers it must send.
#[derive(Debug, Clone, Serialize)]
pub struct PresignedPut {
    pub url: String,
    pub method: &'static str,
    pub headers: BTreeMap<String, String>,
    /// Unix seconds after which the URL is refused.
    pub expires_at: u64,
}

/// How long a blob is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Evidence (images, thumbnails): deleted after the deployment's retention period.
    Temporary,
    /// Kept until deleted (certificates).
    Kept,
}

/// A checked blob key (see [`check_key`]) and the retention class of what it holds, so that
/// no backend decides retention from the key's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobKey {
    key: String,
    retention: Retention,
}

impl BlobKey {
    /// A key for evidence that expires.
    pub fn temporary(key: impl Into<String>) -> Result<BlobKey> {
        Self::new(key.into(), Retention::Temporary)
    }

    /// A key for a blob that is kept.
    pub fn kept(key: impl Into<String>) -> Result<BlobKey> {
        Self::new(key.into(), Retention::Kept)
    }

    fn new(key: String, retention: Retention) -> Result<BlobKey> {
        check_key(&key)?;
        Ok(BlobKey { key, retention })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }
}

/// Records store the key's text; retention matters only when the blob is written.
impl Serialize for BlobKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.key)
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}

/// Object storage for images and certificates.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` at `key`, kept as the key's [`Retention`] says.
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<()>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// Deletes every blob whose key starts with `prefix` (a key followed by `/`, e.g. a
    /// tenant's `t_…/`), every stored version included; returns how many keys went.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize>;
    /// A URL accepting one PUT of at most `max_bytes` bytes of `content_type` to `key`
    /// (uploads are evidence: [`Retention::Temporary`]).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedPut>;
    /// Bytes still free where the blobs are written; `None` where that is not bounded by one
    /// disk (S3).
    fn free_bytes(&self) -> Option<u64> {
        None
    }
}

/// One stored record and its version (bumped on every write).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub version: u64,
    pub value: serde_json::Value,
}

/// Versioned JSON records in named tables, with conditional writes.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Record>>;
    /// Writes `value` if the record's version is `expected` (`None`: the record must not
    /// exist), else fails with [`StoreError::Conflict`], writing nothing. Callers use
    /// [`insert`](Self::insert) and [`replace`](Self::replace).
    async fn write(
        &self,
        table: &str,
        key: &str,
        expected: Option<u64>,
        value: serde_json::Value,
    ) -> Result<()>;
    /// Records of `table` whose key starts with `prefix`, in key order.
    async fn list(&self, table: &str, prefix: &str) -> Result<Vec<(String, Record)>>;

    /// Removes the record at `key`, whatever its version; removing a missing record is fine.
    async fn remove(&self, table: &str, key: &str) -> Result<()>;

    /// Makes sure values replaced so far leave no bytes in storage (after an erasure of
    /// personal data). The embedded store rewrites its file; DynamoDB keeps no old item
    /// versions, so by default there is nothing to do.
    async fn scrub(&self) -> Result<()> {
        Ok(())
    }

    /// Creates a record; [`StoreError::Conflict`] if one exists.
    async fn insert(&self, table: &str, key: &str, value: serde_json::Value) -> Result<()> {
        self.write(table, key, None, value).await
    }

    /// Replaces the record read at `version`; [`StoreError::Conflict`] if it changed since.
    async fn replace(
        &self,
        table: &str,
        key: &str,
        version: u64,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write(table, key, Some(version), value).await
    }
}

impl StoreError {
    /// Whether this is a lost conditional write ([`StoreError::Conflict`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// A write failed for lack of space (disk full, file-size limit, quota): nothing was
    /// written, and the same write can succeed once there is room.
    pub fn is_full(&self) -> bool {
        use std::io::ErrorKind;
        matches!(self, StoreError::Io(e) if matches!(
            e.kind(),
            ErrorKind::StorageFull | ErrorKind::FileTooLarge | ErrorKind::QuotaExceeded
        ))
    }
}

/// The conflict error of a conditional write to `table`/`key`.
pub fn conflict(table: &str, key: &str) -> StoreError {
    StoreError::Conflict {
        table: table.to_owned(),
        key: key.to_owned(),
    }
}

/// A received queue message. It stays invisible to other receivers until its visibility
/// timeout passes; `delete` with its receipt acknowledges it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub receipt: String,
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// At-least-once job queues with visibility timeouts and dead-letter queues.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues `body`; returns the message id.
    async fn send(&self, queue: &str, body: &str) -> Result<String>;
    /// Up to `max` visible messages, waiting up to `wait` for one to arrive.
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>>;
    /// Acknowledges a received message.
    async fn delete(&self, queue: &str, receipt: &str) -> Result<()>;
    /// Makes a received message visible again after `delay` (a retry later; SQS's
    /// ChangeMessageVisibility, so at most 12 hours).
    async fn retry_after(&self, queue: &str, receipt: &str, delay: Duration) -> Result<()>;
    /// Returns a received message unprocessed, visible again after `delay` (a consumer that
    /// is busy). The embedded queue does not count that receive towards dead-lettering; SQS
    /// cannot tell, so it is [`JobQueue::retry_after`] there.
    async fn release(&self, queue: &str, receipt: &str, delay: Duration) -> Result<()> {
        self.retry_after(queue, receipt, delay).await
    }
    /// Messages in `queue`, visible or received and not yet deleted (SQS: approximate).
    async fn depth(&self, queue: &str) -> Result<u64>;
}

/// Checks a key used as a storage path: ASCII letters, digits, `-_.=/`, no empty or dot segments.
pub fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=/".contains(&b))
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.chars().take(80).collect()))
    }
}

/// Checks a blob key prefix: a valid key followed by `/`.
pub fn check_prefix(prefix: &str) -> Result<()> {
    match prefix.strip_suffix('/') {
        Some(key) => check_key(key),
        None => Err(StoreError::InvalidKey(prefix.chars().take(80).collect())),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn embedded_backends_conform() {
        let dir = tempfile::tempdir().unwrap();
        let records = EmbeddedRecords::open(&dir.path().join("db")).unwrap();
        let blobs = FileBlobs::open(&dir.path().join("blobs"), "http://127.0.0.1:1", b"k").unwrap();
        conformance::blobs(&blobs, "t").await;
        conformance::records(&records, "jobs").await;
        conformance::queue(&records.queue(5), "jobs").await;
    }

    #[test]
    fn keys_cannot_escape_the_store() {
        assert!(check_key("t1/uploads/abc.jpg").is_ok());
        for bad in ["", "../etc/passwd", "a//b", "/abs", "a/./b", "a b", "é"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }
}
