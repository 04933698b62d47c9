//! The one-call dialect: `POST /v1/verify-identity` and the single-purpose endpoints, with
//! `x-api-key`, scores on 0–100, images as multipart, base64 or upload keys.

pub mod forms;
mod lifecycle;
pub mod records;
pub mod wire;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use idv_image::Limits;

use crate::dialects::onecall::records::{ONECALL, OneCallRecord};
use crate::error::ApiError;
use crate::extract::{ApiKey, Form};
use idv_core::ErrorCode;
use idv_core::Services;
use idv_core::credentials::Tenant;
use idv_core::images::{self, Fields};
use idv_core::records::InputDigest;
use idv_core::services::{self, OwnedInputs};

/// One-call's statuses where they differ from idv's: an unsupported format and an image over
/// 15 MB are 400 (with their codes), as its seed says.
pub async fn statuses(mut res: Response) -> Response {
    let bad_image = [
        ErrorCode::ImageTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::UnsupportedContentType,
    ];
    if res
        .extensions()
        .get::<ApiError>()
        .is_some_and(|e| bad_image.contains(&e.code))
    {
        *res.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    res
}

/// A one-call request: its body, then its `x-api-key`.
pub type OneCallForm = Form<ApiKey, crate::extract::Verifications>;

const DOCUMENT_TYPES: [&str; 4] = ["passport", "drivers_license", "national_id", "auto"];

/// The caller's `documentType` as an engine hint.
fn hint(fields: &Fields) -> idv_document::Hint {
    match fields.text("documentType").as_deref() {
        Some("passport") => idv_document::Hint::Passport,
        Some("drivers_license") => idv_document::Hint::DriversLicense,
        Some("national_id") => idv_document::Hint::NationalId,
        _ => idv_document::Hint::Auto,
    }
}

fn check_document_type(fields: &Fields) -> Result<(), ApiError> {
    match fields.text("documentType") {
        Some(t) if !t.is_empty() && !DOCUMENT_TYPES.contains(&t.as_str()) => Err(ApiError::new(
            ErrorCode::InvalidDocumentType,
            "documentType must be passport, drivers_license, national_id or auto",
        )),
        _ => Ok(()),
    }
}

/// Reads `documentImage` (required) and `documentBackImage` into `job`.
async fn document_images(
    state: &Services,
    tenant: &Tenant,
    fields: &mut Fields,
    job: &mut OwnedInputs,
) -> Result<(), ApiError> {
    let limits = Limits::DOCUMENT;
    job.document = images::image(
        state.blobs.as_ref(),
        tenant,
        fields,
        "documentImage",
        limits,
        true,
    )
    .await?;
    job.document_back = images::image(
        state.blobs.as_ref(),
        tenant,
        fields,
        "documentBackImage",
        limits,
        false,
    )
    .await?;
    Ok(())
}

/// `POST /v1/verify-identity`.
#[utoipa::path(post, path = "/v1/verify-identity", tag = "One-call", security(("x_api_key" = [])), request_body(content = forms::VerifyForm, content_type = "multipart/form-data", description = "Multipart; or the same names as a JSON object (`VerifyJson`), images as base64 or upload keys"), responses((status = 200, description = "Document scan, face detection and face match; a part that failed says why in its block", body = wire::VerifyIdentity)))]
pub async fn verify_identity(
    State(state): State<Services>,
    OneCallForm {
        tenant,
        mut fields,
        place,
        ..
    }: OneCallForm,
) -> Result<Response, ApiError> {
    check_document_type(&fields)?;
    let callback = fields.text("callbackUrl").filter(|u| !u.trim().is_empty());
    idv_core::callbacks::check_requested(state.config.allow_private_callbacks, callback.as_deref())
        .await?;
    let profile = services::profile(fields.text("profile").as_deref())?;
    let threshold = profile.face_match.review_below;
    let mut job = OwnedInputs::new(profile);
    job.document_hint = hint(&fields);
    if let Some(chip) = idv_core::chip::read_fields(&fields, |p| format!("chip.{p}"))? {
        job.chip = Some(idv_core::chip::prepare(state.records.as_ref(), &tenant.0, chip).await?);
    }
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    let names = ["documentImage", "documentBackImage", "faceImage"];
    let uploads: Vec<String> = names
        .iter()
        .filter_map(|n| images::upload_key(&fields, n))
        .collect();
    let mut inputs = Vec::new();
    for (name, limits, required) in [
        (names[0], Limits::DOCUMENT, true),
        (names[1], Limits::DOCUMENT, false),
        (names[2], Limits::SELFIE, true),
    ] {
        let image = images::image_digested(
            state.blobs.as_ref(),
            &tenant,
            &mut fields,
            name,
            limits,
            required,
        )
        .await?
        .map(|(image, sha256)| {
            inputs.push(InputDigest {
                name: name.to_string(),
                sha256,
            });
            image
        });
        match name {
            "documentImage" => job.document = image,
            "documentBackImage" => job.document_back = image,
            _ => job.selfie = image,
        }
    }
    if let Some(c) = &job.chip {
        inputs.push(InputDigest {
            name: "chip.sod".to_string(),
            sha256: idv_core::digest::sha256_hex(&c.chip.sod),
        });
    }
    let v = state.verify_in(&slot, job).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let record = OneCallRecord {
        received_at: idv_core::clock::timestamp(),
        outcome: idv_core::records::outcome_label(&v),
        codes: v.decision.details.iter().map(|d| d.code.clone()).collect(),
        inputs,
        uploads,
    };
    ONECALL
        .insert(
            state.records.as_ref(),
            &format!("{}/{id}", tenant.0),
            &record,
        )
        .await?;
    let receipt = idv_core::receipts::issue(
        state.receipts.as_deref(),
        state.records.as_ref(),
        state.models_used(),
        &tenant.0,
        &id,
        "onecall",
        &record.received_at,
        &v,
        record.inputs.clone(),
        None,
    )
    .await?;
    let result = wire::verify_identity(&v, threshold, id);
    let mut res = match callback {
        None => Json(&result).into_response(),
        Some(url) => {
            let event = idv_core::callbacks::new_event_id();
            idv_core::callbacks::enqueue(
                state.records.as_ref(),
                state.queue.as_ref(),
                &tenant.0,
                &event,
                &url,
                &result,
            )
            .await?;
            ([(idv_core::callbacks::EVENT_HEADER, event)], Json(&result)).into_response()
        }
    };
    crate::routes::receipts::attach(&mut res, receipt.as_deref());
    Ok(res)
}

/// `POST /v1/document/scan`: `documentImage` (+ `documentBackImage`).
#[utoipa::path(post, path = "/v1/document/scan", tag = "One-call", security(("x_api_key" = [])), request_body(content = forms::ScanForm, content_type = "multipart/form-data"), responses((status = 200, description = "The document's fields", body = wire::DocumentScan)))]
pub async fn document_scan(
    State(state): State<Services>,
    OneCallForm {
        tenant,
        mut fields,
        place,
        ..
    }: OneCallForm,
) -> Result<Response, ApiError> {
    check_document_type(&fields)?;
    let mut job = OwnedInputs::new(services::profile(fields.text("profile").as_deref())?);
    job.document_hint = hint(&fields);
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    document_images(&state, &tenant, &mut fields, &mut job).await?;
    let v = state.verify_in(&slot, job).await?;
    Ok(Json(wire::document(&v.document).0).into_response())
}

/// `POST /v1/face/detect`: faces of `image` (or `faceImage`).
#[utoipa::path(post, path = "/v1/face/detect", tag = "One-call", security(("x_api_key" = [])), request_body(content = forms::DetectForm, content_type = "multipart/form-data"), responses((status = 200, description = "Faces of the image", body = wire::FaceDetection)))]
pub async fn face_detect(
    State(state): State<Services>,
    OneCallForm {
        tenant,
        mut fields,
        place,
        ..
    }: OneCallForm,
) -> Result<Json<Option<wire::FaceDetection>>, ApiError> {
    let name = if fields.has("image") {
        "image"
    } else {
        "faceImage"
    };
    let mut job = OwnedInputs::new(services::profile(None)?);
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    job.selfie = images::image(
        state.blobs.as_ref(),
        &tenant,
        &mut fields,
        name,
        Limits::SELFIE,
        true,
    )
    .await?;
    let v = state.verify_in(&slot, job).await?;
    let (mut b, _) = wire::detection(&v);
    if let Some(b) = b.as_mut() {
        b.faces = wire::faces(&v);
    }
    Ok(Json(b))
}

/// `POST /v1/face/compare`: `sourceImage` (or `documentImage`) vs `targetImage` (or `faceImage`).
#[utoipa::path(post, path = "/v1/face/compare", tag = "One-call", security(("x_api_key" = [])), request_body(content = forms::CompareForm, content_type = "multipart/form-data"), responses((status = 200, description = "Whether the two faces match", body = wire::FaceMatch)))]
pub async fn face_compare(
    State(state): State<Services>,
    OneCallForm {
        tenant,
        mut fields,
        place,
        ..
    }: OneCallForm,
) -> Result<Json<Option<wire::FaceMatch>>, ApiError> {
    let pick = |a: &'static str, b: &'static str| if fields.has(a) { a } else { b };
    let profile = services::profile(fields.text("profile").as_deref())?;
    let threshold = profile.face_match.review_below;
    let mut job = OwnedInputs::new(profile);
    let source = pick("sourceImage", "documentImage");
    let target = pick("targetImage", "faceImage");
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    job.reference = images::image(
        state.blobs.as_ref(),
        &tenant,
        &mut fields,
        source,
        Limits::ANY,
        true,
    )
    .await?;
    job.selfie = images::image(
        state.blobs.as_ref(),
        &tenant,
        &mut fields,
        target,
        Limits::ANY,
        true,
    )
    .await?;
    let v = state.verify_in(&slot, job).await?;
    Ok(Json(wire::face_match(&v, threshold).0))
}

/// The one-call routes, with its statuses.
fn routes() -> utoipa_axum::router::OpenApiRouter<Services> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(verify_identity))
        .routes(utoipa_axum::routes!(document_scan))
        .routes(utoipa_axum::routes!(face_detect))
        .routes(utoipa_axum::routes!(face_compare))
        .route_layer(axum::middleware::map_response(statuses))
}

/// The one-call API: its routes (with its statuses) and its lifecycle.
pub fn api() -> super::Api {
    super::Api {
        dialect: std::sync::Arc::new(lifecycle::OneCall),
        routes,
        jobs: Vec::new(),
    }
}
