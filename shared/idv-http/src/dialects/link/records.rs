//! What the LINK dialect keeps: its verifications, with their certification material and the
//! manual review's outcome.

use idv_core::records::{CertificationMaterial, ReviewOutcome, Table};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// LINK verifications, keyed `TENANT/ID`.
pub const VERIFICATIONS: Table<LinkRecord> = Table::new("link");

/// Where a LINK request is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Holds its id while it runs.
    Processing,
    /// Failed: its id may be used again.
    Failed,
    /// Answered (records of earlier versions say nothing).
    #[default]
    Done,
}

/// Where a certificate or a manual review is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Progress {
    Processing,
    Completed,
    Error,
}

/// A LINK verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkRecord {
    pub id: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub state: LinkState,
    #[serde(default)]
    pub certify: bool,
    pub certify_callback: Option<String>,
    #[serde(default)]
    pub manual_verification: bool,
    pub manual_verification_callback: Option<String>,
    /// What the certificate will show, recorded when the request is answered.
    pub certification: Option<CertificationMaterial>,
    pub certification_progress: Option<Progress>,
    /// The signed PDF's blob key, once issued.
    pub certificate_key: Option<String>,
    /// The reviewer's decision, once made.
    pub manual: Option<ReviewOutcome>,
    /// SHA-256 (hex) of the request body: a replay with the same body gets [`answer`](Self::answer).
    pub request_sha256: Option<String>,
    /// The answer as sent.
    pub answer: Option<Box<RawValue>>,
    /// When the request came (records of earlier versions say nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// When the verification was erased (`DELETE /v1/verifications/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

impl LinkRecord {
    /// The placeholder that holds `id` while its request (body digest `request_sha256`) runs.
    pub fn processing(tenant: &str, id: &str, request_sha256: &str) -> LinkRecord {
        LinkRecord {
            id: id.to_string(),
            tenant: tenant.to_string(),
            state: LinkState::Processing,
            certify: false,
            certify_callback: None,
            manual_verification: false,
            manual_verification_callback: None,
            certification: None,
            certification_progress: None,
            certificate_key: None,
            manual: None,
            request_sha256: Some(request_sha256.to_string()),
            answer: None,
            received_at: Some(idv_core::clock::timestamp()),
            deleted_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_earlier_versions_still_parse() {
        let link: LinkRecord =
            serde_json::from_value(serde_json::json!({"id": "r1", "state": "processing"})).unwrap();
        assert_eq!(link.state, LinkState::Processing);
    }
}
