//! The sessions API's shapes (snake_case, as Stripe Identity and Onfido spell theirs) and
//! those of its page.

use idv_core::sessions::{Session, Status};
use idv_pipeline::Verification;
use serde::{Deserialize, Serialize};

/// The document types a session may offer.
pub const DOCUMENT_TYPES: [&str; 3] = ["passport", "id_card", "drivers_license"];
/// The page's languages.
pub const LOCALES: [&str; 2] = ["en", "fr"];

/// `POST /v1/sessions` body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Your own id for it (at most 200 characters), returned with the result.
    pub reference: Option<String>,
    /// Where the page sends the user when done (https).
    pub redirect_url: Option<String>,
    /// Where `session.completed` goes (https); else the tenant's default callback URL.
    pub callback_url: Option<String>,
    /// Among `passport`, `id_card`, `drivers_license` (default: all three).
    pub document_types: Option<Vec<String>>,
    /// `passive` (default: one still selfie) or `active` (the user follows a random challenge
    /// of head turns and screen colours; the page records it).
    pub liveness: Option<String>,
    /// `en` or `fr`; default: the browser's language.
    pub locale: Option<String>,
    /// Seconds the link stays open (1 to 604800; default 86400).
    pub expires_in: Option<u64>,
}

/// A session as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The page's link (only when the session is created: send it to your user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub document_types: Vec<String>,
    pub liveness: String,
    /// The document type the user chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// The verification's result, once it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<SessionResult>)]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The signed receipt of the verification: `GET /v1/verifications/{id}/receipt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
}

impl SessionView {
    /// `s`, stored as `id`, as the API shows it at `now_ms`.
    pub fn new(id: &str, s: &Session, now_ms: u64) -> SessionView {
        let done = s.result.is_some();
        SessionView {
            id: id.to_string(),
            status: s.status_at(now_ms),
            reference: s.reference.clone(),
            url: None,
            created_at: s.created_at.clone(),
            expires_at: idv_core::clock::timestamp_at(s.expires_at_ms),
            document_types: s.document_types.clone(),
            liveness: s.liveness.clone(),
            document_type: s.document_type.clone(),
            result: s.result.clone(),
            completed_at: s.completed_at.clone(),
            receipt_url: done.then(|| format!("/v1/verifications/{id}/receipt")),
        }
    }
}

/// One finding of the verification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// e.g. `DOCUMENT_EXPIRED`, `FAILED_FACE_MATCH`, `FAILED_SELFIE_LIVENESS`.
    pub code: String,
    /// `reject`, `review` or `warning`.
    pub decision: String,
    pub description: String,
}

/// A session's verification result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionResult {
    /// `approved`, `review` or `rejected`.
    pub outcome: String,
    pub findings: Vec<Finding>,
    /// The document's fields as read (`null` when it could not be read).
    #[schema(value_type = Option<Object>)]
    pub document: Option<idv_document::DocumentData>,
    /// Calibrated face-match confidence in [0, 1] (selfie against the document's portrait).
    pub face_match: Option<f32>,
    pub liveness: LivenessResult,
}

/// The liveness part of a result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LivenessResult {
    /// `passive`: one still selfie scored by the presentation-attack model; `active`: a
    /// clip following a challenge (then `active` holds its verdict).
    pub mode: &'static str,
    /// The selfie's passive liveness score in [0, 1].
    pub score: Option<f32>,
    /// The challenge clip's verdict (`verdict`, `findings`, `measures`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub active: Option<serde_json::Value>,
}

impl SessionResult {
    /// The result of verification `v` (with `active`, the challenge clip's verdict).
    pub fn new(v: &Verification, active: Option<serde_json::Value>) -> SessionResult {
        SessionResult {
            outcome: format!("{:?}", v.decision.outcome()).to_lowercase(),
            findings: v
                .decision
                .details
                .iter()
                .map(|d| Finding {
                    code: d.code.clone(),
                    decision: format!("{:?}", d.decision).to_lowercase(),
                    description: d.description.clone(),
                })
                .collect(),
            document: v.document_data().cloned(),
            face_match: v
                .face_match
                .as_ref()
                .and_then(|m| m.as_ref().ok())
                .map(|m| m.confidence),
            liveness: LivenessResult {
                mode: if active.is_some() {
                    "active"
                } else {
                    "passive"
                },
                score: v.selfie_report().and_then(|s| s.liveness),
                active,
            },
        }
    }
}

/// `session.completed`: the callback sent when a session's verification is done.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Completed {
    /// `session.completed`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub session: SessionView,
}

/// `GET /s/{token}/state`: what the page needs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageState {
    pub status: Status,
    /// `passive` (a selfie) or `active` (a challenge to follow).
    pub liveness: String,
    pub document_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// The images already accepted (`document`, `document_back`, `selfie`).
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub expires_at: String,
    /// Where to send the user once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

impl PageState {
    /// Session `s` as its page sees it at `now_ms`; the redirect once the images are in.
    pub fn new(s: Session, now_ms: u64) -> PageState {
        let status = s.status_at(now_ms);
        let finished = matches!(
            status,
            Status::Verified | Status::RequiresReview | Status::Rejected | Status::Processing
        );
        PageState {
            status,
            liveness: s.liveness,
            document_types: s.document_types,
            document_type: s.document_type,
            images: s.images.into_keys().collect(),
            locale: s.locale,
            expires_at: idv_core::clock::timestamp_at(s.expires_at_ms),
            redirect_url: s.redirect_url.filter(|_| finished),
        }
    }
}

/// `POST /s/{token}/uploads` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageUpload {
    /// `document`, `document_back` or `selfie`.
    pub name: String,
    /// `image/jpeg` (default), `image/png` or `image/webp`.
    pub content_type: Option<String>,
    /// The document type the user chose (with the first document image).
    pub document_type: Option<String>,
}

/// `POST /s/{token}/images/{name}` body: the upload that holds the image.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageImage {
    pub key: String,
}

/// The server's look at one shot: accepted, or what to retake and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Shot {
    pub accepted: bool,
    /// Why it was not: `IMAGE_UNREADABLE`, `DOCUMENT_NOT_READ`, `NO_FACE`, `MULTIPLE_FACES`,
    /// `SELFIE_TOO_CLOSE`, `SELFIE_FACE_TOO_SMALL` (the page words each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}
