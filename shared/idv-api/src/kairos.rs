//! The Kairos dialect: async full-id-verification and document-verification with polling,
//! synchronous biometric- and liveness-verification. Headers `app_id`/`app_key`.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use idv_image::Limits;
use idv_pipeline::{FacesReport, Part, Verification};
use idv_vision::FacePrediction;
use serde_json::{Value, json};

use crate::auth::{self, Tenant};
use crate::error::{ApiError, ErrorCode};
use crate::input::{self, Fields};
use crate::state::{self, AppState, JOBS_QUEUE, OwnedInputs};
use idv_store::BlobKey;

/// Table of async jobs, keyed by id.
pub const JOBS: &str = "jobs";

/// `YYYY-MM-DD HH:MM:SS` in UTC, as the Kairos examples print times.
pub fn timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

fn faces_json(p: &FacesReport) -> Value {
    json!({
        "faces_predicted": p.faces.iter().map(FacePrediction::from).collect::<Vec<_>>(),
        "img": {"height": p.size.height, "width": p.size.width},
    })
}

fn part_json<T>(p: &Option<Part<T>>, f: impl Fn(&T) -> Value) -> Value {
    match p {
        Some(Ok(v)) => f(v),
        Some(Err(e)) => json!({"error": {"code": e.code, "message": e.message}}),
        None => Value::Null,
    }
}

/// The `biometric` block; `reference` names the block of the compared image.
pub fn biometric(v: &Verification, reference: &str) -> Value {
    let mut b = serde_json::Map::new();
    b.insert(reference.into(), part_json(&v.reference_faces, faces_json));
    b.insert(
        "selfie".into(),
        part_json(&v.selfie, |s| {
            let mut j = faces_json(&s.faces);
            j["faces_liveness"] = json!(s.liveness.map(idv_vision::round4));
            j
        }),
    );
    b.insert(
        "face_match_confidence".into(),
        match &v.face_match {
            Some(Ok(m)) => json!(idv_vision::round4(m.confidence)),
            _ => Value::Null,
        },
    );
    Value::Object(b)
}

/// The `document` block.
pub fn document(v: &Verification) -> Value {
    part_json(&v.document, |d| {
        json!({
            "document_type": d.document_type,
            "data": d.data,
            "mrz": d.mrz.as_ref().map(|z| json!({
                "format": z.format, "lines": z.lines, "valid": z.valid, "side": d.mrz_side,
            })),
            "barcode": d.barcode,
            "licence_line": d.licence_line.as_ref().map(|l| json!({"line": l.line, "issuing_state": l.issuing_state})),
            "quality": d.quality,
        })
    })
}

/// `response_data` of a full verification.
pub fn full_response(v: &Verification) -> Value {
    json!({
        "biometric": biometric(v, "document"),
        "decision": v.decision,
        "document": document(v),
        "profile": v.profile,
    })
}

fn envelope(id: &str, requested_at: &str, data: Value) -> Value {
    json!({
        "api_req_uid": id,
        "processed_at": timestamp(),
        "requested_at": requested_at,
        "response_code": 1,
        "response_data": data,
    })
}

/// Reads the body, then checks `app_id`/`app_key`: read first, so that a refused client still
/// gets its status instead of a connection closed while it sends.
async fn request(
    state: &AppState,
    headers: &HeaderMap,
    req: Request,
) -> Result<(Fields, Tenant), ApiError> {
    let fields = input::read_fields(req).await?;
    Ok((fields, auth::kairos(state, headers).await?))
}

/// What an async job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    FullId,
    Document,
}

async fn submit(
    state: &AppState,
    headers: &HeaderMap,
    req: Request,
    kind: JobKind,
) -> Result<(String, Tenant), ApiError> {
    let (fields, tenant) = request(state, headers, req).await?;
    let profile = state::profile(fields.text("profile").as_deref())?;
    let callback = fields.text("callback_url").filter(|u| !u.trim().is_empty());
    crate::callbacks::check_requested(state, callback.as_deref()).await?;
    let mut inputs = vec![(
        "document",
        input::image(state, &tenant, &fields, "document", Limits::DOCUMENT, true).await?,
    )];
    inputs.push((
        "document_back",
        input::image(
            state,
            &tenant,
            &fields,
            "document_back",
            Limits::DOCUMENT,
            false,
        )
        .await?,
    ));
    if kind == JobKind::FullId {
        inputs.push((
            "selfie",
            input::image(state, &tenant, &fields, "selfie", Limits::SELFIE, true).await?,
        ));
    }
    // Every input decoded under its limits: the job cannot fail on bad input later.
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = Vec::new();
    for (name, img) in inputs {
        if let Some((bytes, _)) = img {
            let key = BlobKey::temporary(format!("{}/jobs/{id}/{name}", tenant.0))?;
            state
                .blobs
                .put(&key, bytes, "application/octet-stream")
                .await?;
            stored.push(json!({"name": name, "key": key}));
        }
    }
    let job = json!({
        "tenant": tenant.0, "kind": kind, "state": "queued", "profile": profile.name,
        "requested_at": timestamp(), "inputs": stored, "callback_url": callback,
    });
    state.records.insert(JOBS, &id, job).await?;
    state
        .queue
        .send(
            JOBS_QUEUE,
            &crate::messages::encode(&crate::messages::Job { job: id.clone() }),
        )
        .await?;
    tracing::info!(job = %id, kind = ?kind, "job accepted");
    Ok((id, tenant))
}

/// `POST /v0.2/full-id-verification` → `{"api_req_uid"}`.
pub async fn full_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (id, _) = submit(&state, &headers, req, JobKind::FullId).await?;
    Ok(Json(json!({"api_req_uid": id})))
}

/// `POST /v0.1/document-verification` → `{"api_req_uuid"}`.
pub async fn document_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (id, _) = submit(&state, &headers, req, JobKind::Document).await?;
    Ok(Json(json!({"api_req_uuid": id})))
}

async fn poll(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    kind: JobKind,
) -> Result<Json<Value>, ApiError> {
    let tenant = auth::kairos(state, headers).await?;
    let job = state
        .records
        .get(JOBS, id)
        .await?
        .filter(|r| r.value["tenant"] == tenant.0.as_str())
        .filter(|r| serde_json::from_value::<JobKind>(r.value["kind"].clone()).ok() == Some(kind))
        .ok_or_else(|| ApiError::not_found("verification"))?;
    let v = &job.value;
    if v["state"] == "done" {
        Ok(Json(v["response"].clone()))
    } else {
        Ok(Json(json!({
            "api_req_uid": id, "processed_at": null, "requested_at": v["requested_at"],
            "response_code": null, "response_data": null,
        })))
    }
}

/// `GET /v0.2/full-id-verification/{uuid}`.
pub async fn full_poll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    poll(&state, &headers, &id, JobKind::FullId).await
}

/// `GET /v0.1/document-verification/{uuid}`.
pub async fn document_poll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    poll(&state, &headers, &id, JobKind::Document).await
}

/// `POST /v0.2/biometric-verification`: selfie vs image, synchronously.
pub async fn biometric_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    let requested_at = timestamp();
    let mut job = OwnedInputs::new(state::profile(fields.text("profile").as_deref())?);
    job.selfie = selfie(&state, &tenant, &fields).await?;
    job.reference = input::image(&state, &tenant, &fields, "image", Limits::SELFIE, true)
        .await?
        .map(|x| x.1);
    job.multiface = fields.flag("image_multiface")?;
    let v = state.verify(job).await?;
    let id = uuid::Uuid::new_v4().to_string();
    Ok(Json(envelope(
        &id,
        &requested_at,
        json!({"biometric": biometric(&v, "image"), "decision": v.decision}),
    )))
}

async fn selfie(
    state: &AppState,
    tenant: &Tenant,
    fields: &Fields,
) -> Result<Option<image::RgbImage>, ApiError> {
    Ok(
        input::image(state, tenant, fields, "selfie", Limits::SELFIE, true)
            .await?
            .map(|x| x.1),
    )
}

/// `POST /v0.2/liveness-verification`: liveness of the selfie, with an optional `threshold`.
pub async fn liveness_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (fields, tenant) = request(&state, &headers, req).await?;
    let requested_at = timestamp();
    let mut profile = state::profile(fields.text("profile").as_deref())?;
    if let Some(t) = fields.text("threshold").filter(|t| !t.trim().is_empty()) {
        let t: f64 = t
            .trim()
            .parse()
            .ok()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidField, "threshold must be in 0–1"))?;
        profile.liveness.reject_below = t;
        profile.liveness.review_below = t;
    }
    let mut job = OwnedInputs::new(profile);
    job.selfie = selfie(&state, &tenant, &fields).await?;
    let v = state.verify(job).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let mut data = part_json(&v.selfie, |s| {
        let mut j = faces_json(&s.faces);
        j["faces_liveness"] = json!(s.liveness.map(idv_vision::round4));
        j
    });
    data["decision"] = json!(v.decision);
    Ok(Json(envelope(&id, &requested_at, data)))
}

/// Processes one queued job message; returns once the message may be deleted.
pub async fn run_job(state: &AppState, body: &str, attempt: u32) -> Result<(), ApiError> {
    let Some(msg) = crate::messages::decode::<crate::messages::Job>(JOBS_QUEUE, body) else {
        return Ok(());
    };
    let id = msg.job.as_str();
    let result = process_job(state, id).await;
    if let Err(e) = &result {
        // Keep the reason with the job: after the queue's last attempt the message is in the
        // dead-letter queue and this is where an operator reads why.
        let noted = state::update(state.records.as_ref(), JOBS, id, |v| {
            v["state"] != "done" && {
                v["last_error"] = json!({"code": e.code, "message": e.message, "attempt": attempt});
                true
            }
        })
        .await;
        if let Err(e) = noted {
            tracing::warn!(job = %id, code = %e.code, "could not record the job's error");
        }
    }
    result
}

async fn process_job(state: &AppState, id: &str) -> Result<(), ApiError> {
    let Some(rec) = state.records.get(JOBS, id).await? else {
        tracing::warn!(job = %id, "dropping a message for an unknown job");
        return Ok(());
    };
    if rec.value["state"] == "done" {
        // A redelivered message: the job was finished by an earlier delivery.
        return Ok(());
    }
    let job = rec.value.clone();
    let kind: JobKind = serde_json::from_value(job["kind"].clone()).map_err(ApiError::internal)?;
    let profile = state::profile(job["profile"].as_str())?;
    let mut inputs = OwnedInputs::new(profile);
    for i in job["inputs"].as_array().into_iter().flatten() {
        let (Some(name), Some(key)) = (i["name"].as_str(), i["key"].as_str()) else {
            continue;
        };
        let bytes = state.blobs.get(key).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InputMissing,
                format!("the job's {name} image is missing from the blob store"),
            )
        })?;
        let (_, img) = input::decode(name, bytes, Limits::ANY).await?;
        match name {
            "document" => inputs.document = Some(img),
            "document_back" => inputs.document_back = Some(img),
            "selfie" => inputs.selfie = Some(img),
            _ => {}
        }
    }
    let v = state.verify(inputs).await?;
    let requested_at = job["requested_at"].as_str().unwrap_or_default();
    let data = match kind {
        JobKind::FullId => full_response(&v),
        JobKind::Document => json!({"decision": v.decision, "document": document(&v)}),
    };
    let mut response = envelope(id, requested_at, data);
    if kind == JobKind::Document {
        response["api_req_uuid"] = json!(id);
    }
    // Re-read on a conflict: if another delivery finished first, keep its result.
    state::update(state.records.as_ref(), JOBS, id, |job| {
        job["state"] != "done" && {
            job["state"] = json!("done");
            job["response"] = response.clone();
            true
        }
    })
    .await?;
    tracing::info!(job = %id, ms = v.elapsed_ms, outcome = ?v.decision.outcome(), "job done");
    Ok(())
}
