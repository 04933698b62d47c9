//! The one-call dialect: `POST /v1/verify-identity` and the single-purpose endpoints, with
//! `x-api-key`, scores on 0–100, images as multipart, base64 or upload keys.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use idv_document::DocumentReport;
use idv_image::Limits;
use idv_pipeline::{Part, Verification};
use serde_json::{Value, json};

use crate::auth;
use crate::error::{ApiError, ErrorCode};
use crate::input;
use crate::state::{self, AppState, OwnedInputs};

const DOCUMENT_TYPES: [&str; 4] = ["passport", "drivers_license", "national_id", "auto"];

fn pct(v: f64) -> f64 {
    (v * 10_000.0).round() / 100.0
}

/// The one-call `documentType`: passport, drivers_license or national_id (a US/Canadian
/// state ID card counts as a national ID; a visa keeps its own name).
fn document_type(kind: &str) -> &str {
    match kind {
        "travel_document" => "passport",
        "id_card" => "national_id",
        k => k,
    }
}

/// The caller's `documentType` as an engine hint.
fn hint(fields: &input::Fields) -> idv_document::Hint {
    match fields.text("documentType").as_deref() {
        Some("passport") => idv_document::Hint::Passport,
        Some("drivers_license") => idv_document::Hint::DriversLicense,
        Some("national_id") => idv_document::Hint::NationalId,
        _ => idv_document::Hint::Auto,
    }
}

/// Average confidence of the extracted fields, 0–1.
fn document_confidence(d: &DocumentReport) -> f64 {
    let j = serde_json::to_value(&d.data).unwrap_or_default();
    let c: Vec<f64> = j
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, f)| f["confidence"].as_f64())
        .collect();
    if c.is_empty() || d.document_type.is_none() {
        0.0
    } else {
        c.iter().sum::<f64>() / c.len() as f64
    }
}

fn document_block(p: &Option<Part<DocumentReport>>) -> (Value, f64) {
    match p {
        Some(Ok(d)) => {
            let f = |name: &str| {
                serde_json::to_value(&d.data).unwrap_or_default()[name]["value"].clone()
            };
            let conf = document_confidence(d);
            (
                json!({
                    "documentType": d.document_type.map(document_type),
                    "fullName": f("full_name"), "firstName": f("first_name"), "lastName": f("last_name"),
                    "dateOfBirth": f("dob"), "gender": f("sex"), "nationality": f("nationality_full"),
                    "documentNumber": f("document_number"), "expirationDate": f("expiry"),
                    "issuingCountry": f("country_iso3"), "address": f("address"),
                    "confidence": pct(conf),
                    "checks": d.checks,
                }),
                conf,
            )
        }
        Some(Err(e)) => (
            json!({"error": {"code": e.code, "message": e.message}, "confidence": 0.0}),
            0.0,
        ),
        None => (Value::Null, 0.0),
    }
}

/// `faceDetection` block and its confidence (0–1).
fn detection_block(v: &Verification) -> (Value, f64) {
    match &v.selfie {
        Some(Ok(s)) => {
            let top = s
                .faces
                .faces
                .first()
                .map_or(0.0, |f| f64::from(f.confidence));
            // `liveness` (0–100, beyond the seed): the selfie's passive liveness score; null when
            // no face was found. A capture problem (e.g. SELFIE_TOO_CLOSE) is in the decision.
            let mut b = json!({"faceDetected": !s.faces.faces.is_empty(), "confidence": pct(top),
                "faceCount": s.faces.faces.len(),
                "liveness": s.liveness.map(|l| pct(f64::from(l)))});
            if s.faces.faces.is_empty() {
                b["error"] = json!({"code": "NO_FACE_DETECTED", "message": "no face was found in the selfie"});
            }
            (b, top)
        }
        Some(Err(e)) => (
            json!({"faceDetected": false, "confidence": 0.0, "error": {"code": e.code, "message": e.message}}),
            0.0,
        ),
        None => (Value::Null, 0.0),
    }
}

/// `faceMatch` block and its confidence (0–1).
fn match_block(v: &Verification, threshold: f64) -> (Value, f64, bool) {
    match &v.face_match {
        Some(Ok(m)) => {
            let c = f64::from(m.confidence);
            (
                json!({"isMatch": c >= threshold, "confidence": pct(c), "threshold": pct(threshold)}),
                c,
                c >= threshold,
            )
        }
        Some(Err(e)) => (
            json!({"isMatch": false, "confidence": 0.0, "threshold": pct(threshold),
                "error": {"code": e.code, "message": e.message}}),
            0.0,
            false,
        ),
        None => (Value::Null, 0.0, false),
    }
}

fn check_document_type(fields: &input::Fields) -> Result<(), ApiError> {
    match fields.text("documentType") {
        Some(t) if !t.is_empty() && !DOCUMENT_TYPES.contains(&t.as_str()) => Err(ApiError::new(
            ErrorCode::InvalidDocumentType,
            "documentType must be passport, drivers_license, national_id or auto",
        )),
        _ => Ok(()),
    }
}

/// Reads the body, then checks the `x-api-key`: read first, so that a refused client still
/// gets its status instead of a connection closed while it sends.
async fn request(
    state: &AppState,
    headers: &HeaderMap,
    req: Request,
) -> Result<(input::Fields, auth::Tenant), ApiError> {
    let fields = input::read_fields(req).await?;
    Ok((fields, auth::api_key(state, headers).await?))
}

/// Reads `documentImage` (required) and `documentBackImage` into `job`.
async fn document_images(
    state: &AppState,
    tenant: &auth::Tenant,
    fields: &input::Fields,
    job: &mut OwnedInputs,
) -> Result<(), ApiError> {
    let image =
        |name, required| input::image(state, tenant, fields, name, Limits::DOCUMENT, required);
    job.document = image("documentImage", true).await?.map(|x| x.1);
    job.document_back = image("documentBackImage", false).await?.map(|x| x.1);
    Ok(())
}

/// `POST /v1/verify-identity`.
pub async fn verify_identity(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    check_document_type(&fields)?;
    let callback = fields.text("callbackUrl").filter(|u| !u.trim().is_empty());
    crate::callbacks::check_requested(&state, callback.as_deref()).await?;
    let profile = state::profile(fields.text("profile").as_deref())?;
    let threshold = profile.face_match.review_below;
    let mut job = OwnedInputs::new(profile);
    job.document_hint = hint(&fields);
    document_images(&state, &tenant, &fields, &mut job).await?;
    job.selfie = input::image(&state, &tenant, &fields, "faceImage", Limits::SELFIE, true)
        .await?
        .map(|x| x.1);
    let v = state.verify(job).await?;
    let (document, doc_conf) = document_block(&v.document);
    let (detection, det_conf) = detection_block(&v);
    let (face_match, match_conf, is_match) = match_block(&v, threshold);
    let overall = 0.4 * doc_conf + 0.2 * det_conf + 0.4 * match_conf;
    let verified = is_match
        && det_conf > 0.0
        && v.decision.outcome() == idv_pipeline::decision::Outcome::Approved;
    let result = json!({
        "verified": verified,
        "document": document,
        "faceDetection": detection,
        "faceMatch": face_match,
        "overallConfidence": pct(overall),
        "decision": v.decision,
    });
    if let Some(url) = callback {
        crate::callbacks::enqueue(&state, &tenant.0, &url, &result).await?;
    }
    Ok(Json(result))
}

/// `POST /v1/document/scan`: `documentImage` (+ `documentBackImage`).
pub async fn document_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    check_document_type(&fields)?;
    let mut job = OwnedInputs::new(state::profile(fields.text("profile").as_deref())?);
    job.document_hint = hint(&fields);
    document_images(&state, &tenant, &fields, &mut job).await?;
    let v = state.verify(job).await?;
    Ok(Json(document_block(&v.document).0))
}

/// `POST /v1/face/detect`: faces of `image` (or `faceImage`).
pub async fn face_detect(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    let name = if fields.has("image") {
        "image"
    } else {
        "faceImage"
    };
    let mut job = OwnedInputs::new(state::profile(None)?);
    job.selfie = input::image(&state, &tenant, &fields, name, Limits::SELFIE, true)
        .await?
        .map(|x| x.1);
    let v = state.verify(job).await?;
    let (mut b, _) = detection_block(&v);
    if let Some(Ok(s)) = &v.selfie {
        b["faces"] = json!(
            s.faces
                .faces
                .iter()
                .map(|f| json!({
                    "confidence": pct(f64::from(f.confidence)),
                    "boundingBox": {"x": f.x, "y": f.y, "width": f.width, "height": f.height},
                }))
                .collect::<Vec<_>>()
        );
    }
    Ok(Json(b))
}

/// `POST /v1/face/compare`: `sourceImage` (or `documentImage`) vs `targetImage` (or `faceImage`).
pub async fn face_compare(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    let pick = |a: &'static str, b: &'static str| if fields.has(a) { a } else { b };
    let profile = state::profile(fields.text("profile").as_deref())?;
    let threshold = profile.face_match.review_below;
    let mut job = OwnedInputs::new(profile);
    let source = pick("sourceImage", "documentImage");
    let target = pick("targetImage", "faceImage");
    job.reference = input::image(&state, &tenant, &fields, source, Limits::ANY, true)
        .await?
        .map(|x| x.1);
    job.selfie = input::image(&state, &tenant, &fields, target, Limits::ANY, true)
        .await?
        .map(|x| x.1);
    let v = state.verify(job).await?;
    Ok(Json(match_block(&v, threshold).0))
}
