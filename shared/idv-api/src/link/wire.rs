//! LINK's shapes: the `/identity/verify` answer with its `idVerification` fields, tokens,
//! ping, certificates, and errors as `{id, code, message}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use idv_document::{DocumentData, Field};
use idv_pipeline::Verification;
use idv_pipeline::decision::Outcome;
use serde::Serialize;

use crate::error::ApiError;
use crate::records::Progress;

/// An error in LINK's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkError {
    #[serde(skip)]
    pub status: StatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `001` server error, `003` validation, `004` duplicate id, or one of idv's codes.
    pub code: &'static str,
    pub message: String,
}

impl LinkError {
    /// A `003` validation error (400) of request `id`.
    pub fn validation(id: Option<&str>, message: &str) -> LinkError {
        LinkError {
            status: StatusCode::BAD_REQUEST,
            id: id.map(str::to_string),
            code: "003",
            message: format!("Validation Error: {message}"),
        }
    }

    /// This error, about request `id`.
    pub fn about(mut self, id: &str) -> LinkError {
        self.id = Some(id.to_string());
        self
    }
}

impl From<ApiError> for LinkError {
    fn from(e: ApiError) -> LinkError {
        LinkError {
            status: e.status(),
            id: None,
            code: if e.status().is_server_error() {
                "001"
            } else {
                e.code.as_str()
            },
            message: e.message,
        }
    }
}

impl From<idv_store::StoreError> for LinkError {
    fn from(e: idv_store::StoreError) -> LinkError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for LinkError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

/// `POST /auth/token` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub token: String,
    pub scopes: [&'static str; 5],
    /// Seconds.
    pub expires_in: u64,
    #[serde(rename = "token_type")]
    pub token_type: &'static str,
}

/// `/ping` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ping {
    pub service: &'static str,
    pub status: &'static str,
    /// `YYYY-MM-DD HH:MM:SS +00:00`.
    pub date: String,
}

/// `GET /certificate/{id}` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateFile {
    pub id: String,
    /// The signed PDF, base64.
    pub content: String,
}

/// One `idVerification` field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkField {
    /// `Normal` (read) or `Validation` (a test: `OK` or `FAIL`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'static str,
    pub value: String,
    pub description: &'static str,
}

/// `idVerification`: the automatic result, or a manual review under way.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdVerification {
    /// `Completed`, or `Processing` while a manual review runs.
    pub status: &'static str,
    /// `Automatic` or `Manual`.
    pub process: &'static str,
    /// `Ok`, `Warning`, `NotCorrect` or `NotProcessed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// Comma-separated decision codes behind a `Warning` or `NotCorrect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<LinkField>>,
}

impl IdVerification {
    /// A manual review under way.
    pub fn manual() -> IdVerification {
        IdVerification {
            status: "Processing",
            process: "Manual",
            result: None,
            warning: None,
            fields: None,
        }
    }
}

/// `certification` of the `/identity/verify` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificationStatus {
    pub status: Progress,
}

/// `POST /identity/verify` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyAnswer {
    pub id: String,
    pub id_verification: IdVerification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification: Option<CertificationStatus>,
}

fn field(kind: &'static str, code: &'static str, value: impl Into<String>) -> LinkField {
    LinkField {
        kind,
        code,
        value: value.into(),
        description: code,
    }
}

/// The document's fields by LINK code, in LINK's order.
fn data_fields(d: &DocumentData) -> Vec<(&'static str, String)> {
    let text = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
    [
        ("DOCUMENT_NUMBER", text(&d.document_number)),
        ("NAME", text(&d.first_name)),
        ("SURNAME", text(&d.last_name)),
        ("BIRTH_DATE", text(&d.dob)),
        ("EXPIRY_DATE", text(&d.expiry)),
        ("SEX", text(&d.sex)),
        ("NATIONALITY", text(&d.nationality_full)),
        ("ISSUING_STATE", text(&d.country_iso3)),
        ("PERSONAL_NUMBER", text(&d.personal_number)),
        ("MIDDLE_NAME", text(&d.middle_name)),
        ("ISSUE_DATE", text(&d.issued)),
        ("ADDRESS", text(&d.address)),
        ("PLACE_OF_BIRTH", text(&d.place_of_birth)),
        ("ISSUING_AUTHORITY", text(&d.issuing_authority)),
        ("VEHICLE_CLASS", text(&d.vehicle_class)),
    ]
    .into_iter()
    .filter_map(|(code, v)| v.map(|v| (code, v)))
    .collect()
}

/// LINK's `idVerification` block of an automatic verification of `sides` images.
pub fn id_verification(v: &Verification, sides: usize) -> IdVerification {
    let Some(d) = v.document_report().filter(|d| d.document_type.is_some()) else {
        return IdVerification {
            status: "Completed",
            process: "Automatic",
            result: Some("NotProcessed"),
            warning: Some("DOCUMENT_NOT_RECOGNIZED".into()),
            fields: Some(Vec::new()),
        };
    };
    let kind = match d.document_type {
        Some("passport") | Some("travel_document") => "PASSPORT",
        Some("visa") => "VISA",
        Some("drivers_license") => "DRIVING_LICENSE",
        _ => "IDENTITY",
    };
    let mut fields = vec![
        field("Normal", "TYPE", kind),
        field("Normal", "SIDE", sides.to_string()),
    ];
    for (code, value) in data_fields(&d.data) {
        fields.push(field("Normal", code, value));
    }
    if let Some(z) = &d.mrz {
        fields.push(field("Normal", "MRZ", z.lines.join("\n")));
    }
    let has = |c: &str| v.decision.has(c);
    let test = |ok: bool| if ok { "OK" } else { "FAIL" };
    fields.push(field(
        "Validation",
        "TEST_EXPIRY_DATE",
        test(!has("DOCUMENT_EXPIRED")),
    ));
    if d.mrz.is_some() {
        fields.push(field(
            "Validation",
            "TEST_MRZ_CHECKSUMS",
            test(!has("MRZ_CHECKSUM_FAILED")),
        ));
    }
    fields.push(field("Validation", "TEST_SPECIMEN", test(!has("FAKE_ID"))));
    fields.push(field(
        "Validation",
        "TEST_SIDE_CORRESPONDENCE",
        test(!has("FRONT_BACK_MISMATCH") && !has("VIZ_MRZ_MISMATCH")),
    ));
    fields.push(field(
        "Validation",
        "TEST_MINIMUM_AGE",
        test(!has("UNDERAGE")),
    ));
    if let Some(m) = &v.face_match {
        fields.push(field(
            "Validation",
            "TEST_FACE_MATCH",
            test(m.is_ok() && !has("FAILED_FACE_MATCH")),
        ));
    }
    if let Some(selfie) = v.selfie_report() {
        let live =
            selfie.liveness.is_some() && selfie.capture.is_none() && !has("FAILED_SELFIE_LIVENESS");
        fields.push(field("Validation", "TEST_LIVENESS", test(live)));
    }
    fields.push(field(
        "Normal",
        "QUALITY_IMAGE_BLURRING",
        format!("SHARPNESS {:.0}", d.quality.sharpness),
    ));
    let outcome = v.decision.outcome();
    fields.push(field(
        "Validation",
        "TEST_GLOBAL_AUTHENTICITY_VALUE",
        test(outcome != Outcome::Rejected),
    ));
    let codes = |reject_only: bool| {
        v.decision
            .details
            .iter()
            .filter(|d| !reject_only || d.decision == idv_pipeline::Decision::Reject)
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (result, warning) = match outcome {
        Outcome::Approved => ("Ok", String::new()),
        Outcome::Review => ("Warning", codes(false)),
        Outcome::Rejected => ("NotCorrect", codes(true)),
    };
    IdVerification {
        status: "Completed",
        process: "Automatic",
        result: Some(result),
        warning: Some(warning),
        fields: Some(fields),
    }
}
