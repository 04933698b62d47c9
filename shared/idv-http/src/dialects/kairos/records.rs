//! What the Kairos dialect keeps: its async jobs.

use idv_core::records::Table;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Kairos async jobs, keyed by job id.
pub const JOBS: Table<JobRecord> = Table::new("jobs");

/// What an async job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    FullId,
    Document,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Done,
    /// Ended without a result: its stored input cannot be processed (see `last_error`).
    Failed,
    /// Erased by `DELETE /v1/verifications/{id}`: inputs and response gone.
    Deleted,
}

/// One stored input image of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInput {
    /// `document`, `document_back`, `selfie`, or `chip` (the chip's files, JSON).
    pub name: String,
    /// Its blob key.
    pub key: String,
}

/// Why the last attempt at a job failed (for operators: the message may be dead-lettered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
    pub attempt: u32,
}

/// A Kairos async job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    pub tenant: String,
    pub kind: JobKind,
    pub state: JobState,
    pub profile: String,
    pub requested_at: String,
    pub inputs: Vec<JobInput>,
    pub callback_url: Option<String>,
    /// The finished response, as served to every poll.
    pub response: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<JobError>,
}
