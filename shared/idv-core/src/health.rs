//! Readiness: whether this process can take work now — its store accepts writes and its
//! queue workers are running — as opposed to liveness (the process answers at all).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, ErrorCode};
use crate::services::Services;

/// A worker that has not come round its loop for this long is stuck.
pub const STALL: Duration = Duration::from_secs(60);

/// Below this much free space the store would refuse the next large request: one request
/// body at its limit.
pub const MIN_FREE: u64 = crate::limits::MAX_BODY as u64;

/// `GET /ready` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// `ok`, or why a probe write to the records failed (an error code).
    pub records: String,
    /// `ok`, or why a probe write to the blob store failed (`STORAGE_FULL` also when less
    /// than one request's worth of space is left).
    pub blobs: String,
    /// Free bytes where blobs are written (local disk only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    /// Seconds since each queue worker of this process last came round (none on AWS, where
    /// the queues trigger functions).
    pub workers: BTreeMap<&'static str, u64>,
}

impl Readiness {
    /// Whether every part is ready.
    pub fn ok(&self) -> bool {
        self.status == "ready"
    }
}

/// Probes the parts: ready when a probe record and a probe blob can be written, at least one
/// request's worth of disk is free, and every queue worker came round within [`STALL`].
pub async fn readiness(state: &Services) -> Readiness {
    let records = match probe_records(state).await {
        Ok(()) => "ok".to_string(),
        Err(e) => Error::from(e).code.to_string(),
    };
    let free_bytes = state.blobs.free_bytes();
    let blobs = match probe_blobs(state).await {
        Ok(()) if free_bytes.is_some_and(|f| f < MIN_FREE) => ErrorCode::StorageFull.to_string(),
        Ok(()) => "ok".to_string(),
        Err(e) => Error::from(e).code.to_string(),
    };
    let workers = state.beats.ages();
    let ok = records == "ok" && blobs == "ok" && workers.values().all(|&s| s < STALL.as_secs());
    Readiness {
        status: if ok { "ready" } else { "not_ready" },
        records,
        blobs,
        free_bytes,
        workers,
    }
}

/// Rewrites the probe record (a conditional write: a real transaction).
async fn probe_records(state: &Services) -> idv_store::Result<()> {
    let (table, key) = ("probe", "ready");
    let current = state.records.get(table, key).await?.map(|r| r.version);
    let value = serde_json::Value::from(idv_store::now_ms());
    match state.records.write(table, key, current, value).await {
        Err(e) if e.is_conflict() => Ok(()), // another probe wrote first: writes work
        r => r,
    }
}

/// Writes a small probe blob.
async fn probe_blobs(state: &Services) -> idv_store::Result<()> {
    let key = idv_store::BlobKey::temporary("probe/ready")?;
    state
        .blobs
        .put(&key, b"ready".to_vec(), "application/octet-stream")
        .await
}
