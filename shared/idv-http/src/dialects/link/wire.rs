//! LINK's shapes: the `/identity/verify` answer with its `idVerification` fields, tokens,
//! ping, certificates, and errors as `{id, code, message}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idv_document::{DocumentData, Field};
use idv_pipeline::Verification;
use idv_pipeline::decision::Outcome;
use serde::Serialize;

use crate::dialects::link::records::Progress;
use crate::error::ApiError;

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
    /// LINK's statuses: 401 and 404 as they are (bodiless), a disabled tenant, conflicts,
    /// oversized bodies and rate limits with idv's code, server errors as `001`, every other client error as 400
    /// `003` (the seed's validation error).
    fn from(e: ApiError) -> LinkError {
        let status = e.status();
        let kept = [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::CONFLICT,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::TOO_MANY_REQUESTS,
        ];
        if status.is_server_error() {
            LinkError {
                status,
                id: None,
                code: "001",
                message: format!("Unknown Error: {}", e.message),
            }
        } else if kept.contains(&status) {
            LinkError {
                status,
                id: None,
                code: e.code.as_str(),
                message: e.0.message,
            }
        } else {
            LinkError::validation(None, &e.message)
        }
    }
}

impl From<idv_core::Error> for LinkError {
    fn from(e: idv_core::Error) -> LinkError {
        ApiError(e).into()
    }
}

impl From<idv_store::StoreError> for LinkError {
    fn from(e: idv_store::StoreError) -> LinkError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for LinkError {
    /// The seed's 401 and 404 have no body; the others are `{id, code, message}`.
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED || self.status == StatusCode::NOT_FOUND {
            let mut res = self.status.into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            return res;
        }
        (self.status, Json(self)).into_response()
    }
}

/// LINK answers JSON as `application/json; charset=utf-8`, as its seed shows.
pub async fn charset(mut res: Response) -> Response {
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if json {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    res
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

/// `GET /identity/verify/{id}` answer (beyond the seed): where a request is now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationState {
    pub id: String,
    /// `processing` while it runs, `failed` (the id may be used again), `done`.
    pub state: crate::dialects::link::records::LinkState,
    /// The answer as `POST /identity/verify` sent it.
    #[schema(value_type = Option<VerifyAnswer>)]
    pub answer: Option<Box<serde_json::value::RawValue>>,
    /// The certificate's progress, when one was asked for.
    pub certification: Option<Progress>,
    /// The reviewer's decision as the `ManualIDVerification` callback's `data`, once made.
    pub manual_verification: Option<idv_core::review::ManualData>,
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
    /// The chip's verdict, when `nfc` was sent (beyond the seed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfc: Option<idv_pipeline::chip::ChipReport>,
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
        // ICAO alpha-3, like ISSUING_STATE.
        ("NATIONALITY", text(&d.nationality_iso3)),
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

/// Whether the country the client says issued the document (`expeditorCountry`, alpha-2 or
/// alpha-3) is the one it names; `None` when either is unknown.
pub(crate) fn expeditor_agrees(expeditor: Option<&str>, d: &DocumentData) -> Option<bool> {
    let said = expeditor
        .map(str::trim)
        .filter(|c| !c.is_empty())?
        .to_ascii_uppercase();
    let read = d.country_iso3.as_ref()?.value.as_str();
    Some(match said.len() {
        2 => idv_document::data::alpha2(read) == Some(said.as_str()),
        _ => read == said,
    })
}

/// `IQ_GOOD n%` / `IQ_BAD n%`: the blur of the document photo against the profile's
/// sharpness threshold `limit`: 50 % at the limit, less for sharper photos, at most 100 %.
fn image_quality(sharpness: f32, limit: f32) -> String {
    let blur = (100.0 * limit / (2.0 * sharpness.max(1e-3))).min(100.0);
    let verdict = if sharpness >= limit {
        "IQ_GOOD"
    } else {
        "IQ_BAD"
    };
    format!("{verdict} {blur:.0}%")
}

/// Codes that make a LINK `Warning` rather than `NotCorrect`: sides that do not correspond
/// (the seed's own example of a warning).
const WARNING_ONLY: [&str; 2] = ["FRONT_BACK_MISMATCH", "VIZ_MRZ_MISMATCH"];

/// LINK's `idVerification` block of an automatic verification of `sides` images;
/// `expeditor` is the request's `expeditorCountry`.
pub fn id_verification(v: &Verification, sides: usize, expeditor: Option<&str>) -> IdVerification {
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
    let expeditor = expeditor_agrees(expeditor, &d.data);
    if let Some(agrees) = expeditor {
        fields.push(field("Validation", "TEST_EXPEDITOR_COUNTRY", test(agrees)));
    }
    // NotCorrect when a reject finding other than side correspondence stands; Warning for
    // review findings, sides that do not correspond, or another expeditor country.
    let rejects: Vec<_> = v
        .decision
        .details
        .iter()
        .filter(|d| d.decision == idv_pipeline::Decision::Reject)
        .filter(|d| !WARNING_ONLY.contains(&d.code.as_str()))
        .collect();
    fields.push(field(
        "Validation",
        "TEST_GLOBAL_AUTHENTICITY_VALUE",
        test(rejects.is_empty()),
    ));
    // The seed ends with the photo's quality and the document model.
    let limit = idv_pipeline::profile::find(&v.profile).map_or(40.0, |p| p.blur_threshold);
    fields.push(field(
        "Normal",
        "QUALITY_IMAGE_BLURRING",
        image_quality(d.quality.sharpness, limit),
    ));
    if let Some(code) = d.model_code() {
        fields.push(field("Normal", "ICAR_RESULT_DOCUMENT_ID", code));
    }
    let message = |details: Vec<&idv_pipeline::decision::Detail>| {
        details
            .iter()
            .map(|d| d.description.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let (result, mut warning) = if !rejects.is_empty() {
        ("NotCorrect", message(rejects))
    } else if v.decision.outcome() != Outcome::Approved {
        ("Warning", message(v.decision.details.iter().collect()))
    } else {
        ("Ok", String::new())
    };
    let result = if expeditor == Some(false) {
        let note = "The document's issuing country is not the expeditorCountry";
        warning = [warning.as_str(), note]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        if result == "Ok" { "Warning" } else { result }
    } else {
        result
    };
    IdVerification {
        status: "Completed",
        process: "Automatic",
        result: Some(result),
        warning: Some(warning),
        fields: Some(fields),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's 500 example (`{id, code: "001", message: "Unknown Error: …"}`), which no
    /// request can provoke from outside, and its 401/404 without a body.
    #[tokio::test]
    async fn errors_have_the_seeds_shapes() {
        let body = |res: Response| async move {
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let e = LinkError::from(ApiError::internal("disk on fire")).about("b2820098");
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let sent: serde_json::Value = serde_json::from_str(&body(e.into_response()).await).unwrap();
        assert_eq!(sent["id"], "b2820098");
        assert_eq!(sent["code"], "001");
        assert!(
            sent["message"]
                .as_str()
                .unwrap()
                .starts_with("Unknown Error: ")
        );
        for e in [ApiError::unauthorized(), ApiError::not_found("request")] {
            let res = LinkError::from(e).into_response();
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/json; charset=utf-8"
            );
            assert_eq!(body(res).await, "");
        }
    }
}
