//! `GET /ready`: whether this process can take work now — its store accepts writes and its
//! queue workers are running — as opposed to `/health` (the process answers at all).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::state::AppState;

/// A worker that has not come round its loop for this long is stuck.
pub const STALL: Duration = Duration::from_secs(60);

/// Below this much free space the store would refuse the next large request: one request
/// body at its limit.
pub const MIN_FREE: u64 = crate::input::MAX_BODY as u64;

/// When each queue worker of the process last came round its loop.
#[derive(Default)]
pub struct Beats(Mutex<BTreeMap<&'static str, Instant>>);

impl Beats {
    /// Worker `queue` is alive now.
    pub fn beat(&self, queue: &'static str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue, Instant::now());
    }

    /// Seconds since each worker's last beat.
    fn ages(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(q, t)| (*q, t.elapsed().as_secs()))
            .collect()
    }
}

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

/// `GET /ready`: 200 when a probe record and a probe blob can be written, at least one
/// request's worth of disk is free, and every queue worker came round within a minute; 503
/// otherwise, saying which part fails.
#[utoipa::path(get, path = "/ready", tag = "Service",
    responses((status = 200, description = "Ready: storage writes and workers run", body = Readiness),
        (status = 503, description = "Not ready: the failing part is named", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let records = match probe_records(&state).await {
        Ok(()) => "ok".to_string(),
        Err(e) => crate::error::ApiError::from(e).code.to_string(),
    };
    let free_bytes = state.blobs.free_bytes();
    let blobs = match probe_blobs(&state).await {
        Ok(()) if free_bytes.is_some_and(|f| f < MIN_FREE) => {
            crate::error::ErrorCode::StorageFull.to_string()
        }
        Ok(()) => "ok".to_string(),
        Err(e) => crate::error::ApiError::from(e).code.to_string(),
    };
    let workers = state.beats.ages();
    let ok = records == "ok" && blobs == "ok" && workers.values().all(|&s| s < STALL.as_secs());
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if ok { "ready" } else { "not_ready" },
        records,
        blobs,
        free_bytes,
        workers,
    };
    (status, Json(body)).into_response()
}

/// Rewrites the probe record (a conditional write: a real transaction).
async fn probe_records(state: &AppState) -> idv_store::Result<()> {
    let (table, key) = ("probe", "ready");
    let current = state.records.get(table, key).await?.map(|r| r.version);
    let value = serde_json::Value::from(idv_store::now_ms());
    match state.records.write(table, key, current, value).await {
        Err(e) if e.is_conflict() => Ok(()), // another probe wrote first: writes work
        r => r,
    }
}

/// Writes a small probe blob.
async fn probe_blobs(state: &AppState) -> idv_store::Result<()> {
    let key = idv_store::BlobKey::temporary("probe/ready")?;
    state
        .blobs
        .put(&key, b"ready".to_vec(), "application/octet-stream")
        .await
}
