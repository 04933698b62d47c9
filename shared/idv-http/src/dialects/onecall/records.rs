//! What the one-call dialect keeps: no result, only what deletion and retention need.

use idv_core::records::{InputDigest, Table};
use serde::{Deserialize, Serialize};

/// One-call verifications (`POST /v1/verify-identity`), keyed `TENANT/ID`: one-call answers
/// at once and keeps no result; this is what deletion and retention need.
pub const ONECALL: Table<OneCallRecord> = Table::new("onecall");

/// What is kept of a one-call verification: no image, no field read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneCallRecord {
    pub received_at: String,
    /// `APPROVED`, `REVIEW` or `REJECTED`.
    pub outcome: String,
    /// The decision's detail codes.
    pub codes: Vec<String>,
    /// SHA-256 of each input image as received.
    pub inputs: Vec<InputDigest>,
    /// Keys of the presigned uploads the images came from (the tenant's blobs).
    #[serde(default)]
    pub uploads: Vec<String>,
}
