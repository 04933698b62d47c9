//! The Kairos dialect: async full-id-verification and document-verification with polling,
//! synchronous biometric- and liveness-verification. Headers `app_id`/`app_key`.

pub mod forms;
mod jobs;
mod lifecycle;
pub mod records;
pub mod wire;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use idv_image::Limits;
use idv_store::BlobKey;

pub use jobs::run_job;
pub use wire::full_response;

use crate::dialects::kairos::records::{JOBS, JobInput, JobKind, JobRecord, JobState};
use crate::error::ApiError;
use crate::extract::{Authed, Form, KairosKeys};
use idv_core::ErrorCode;
use idv_core::Services;
use idv_core::credentials::Tenant;
use idv_core::images::{self, Fields};
use idv_core::messages::{self, JOBS_QUEUE};
use idv_core::services::{self, OwnedInputs};
use wire::{DocumentSubmitted, Envelope, Submitted};

/// Kairos's statuses where they differ from idv's: usage limits are 403, as its seed says.
pub async fn statuses(mut res: Response) -> Response {
    if res
        .extensions()
        .get::<ApiError>()
        .is_some_and(|e| e.code == ErrorCode::RateLimited)
    {
        *res.status_mut() = axum::http::StatusCode::FORBIDDEN;
    }
    res
}

/// A Kairos request: its body, then its `app_id`/`app_key`.
pub type KairosForm = Form<KairosKeys, crate::extract::Verifications>;

/// A Kairos asynchronous submission: its place in the intake line, then its body.
pub type KairosSubmitForm = Form<KairosKeys, crate::extract::Intake>;
/// A Kairos request without a body.
pub type KairosAuth = Authed<KairosKeys>;

/// Accepts a job; returns its id and, when it names a `callback_url`, the event id its result
/// callback will carry.
async fn submit(
    state: &Services,
    form: KairosSubmitForm,
    kind: JobKind,
) -> Result<(String, Option<String>), ApiError> {
    let KairosSubmitForm {
        tenant,
        mut fields,
        place,
        ..
    } = form;
    let profile = services::profile(fields.text("profile").as_deref())?;
    let callback = fields.text("callback_url").filter(|u| !u.trim().is_empty());
    idv_core::callbacks::check_requested(state.config.allow_private_callbacks, callback.as_deref())
        .await?;
    let mut names = vec![("document", true), ("document_back", false)];
    if kind == JobKind::FullId {
        names.push(("selfie", true));
    }
    check_backlog(state).await?;
    // The chip's challenge is taken now (single use), before the job is queued.
    let chip = match idv_core::chip::read_fields(&fields, |p| format!("chip_{p}"))? {
        Some(c) if kind == JobKind::FullId => {
            Some(idv_core::chip::prepare(state.records.as_ref(), &tenant.0, c).await?)
        }
        _ => None,
    };
    // Images are checked under a running slot of the intake line: one submission at a time.
    let (_turn, slot) = crate::turn::running(state, place).await?;
    let mut images = Vec::new();
    for (name, required) in names {
        let limits = if name == "selfie" {
            Limits::SELFIE
        } else {
            Limits::DOCUMENT
        };
        let bytes = images::checked_image_bytes(
            state.blobs.as_ref(),
            &tenant,
            &mut fields,
            name,
            limits,
            required,
        )
        .await?;
        images.push((name, bytes));
    }
    drop(slot);
    // Every input decoded under its limits: the job cannot fail on bad input later.
    let id = uuid::Uuid::new_v4().to_string();
    let mut inputs = Vec::new();
    for (name, img) in images {
        if let Some(bytes) = img {
            let key = BlobKey::temporary(format!("{}/jobs/{id}/{name}", tenant.0))?;
            state
                .blobs
                .put(&key, bytes, "application/octet-stream")
                .await?;
            inputs.push(JobInput {
                name: name.to_string(),
                key: key.to_string(),
            });
        }
    }
    if let Some(chip) = chip {
        // Kept like the images: a blob of the job, erased and purged with them.
        let key = BlobKey::temporary(format!("{}/jobs/{id}/chip", tenant.0))?;
        let bytes = serde_json::to_vec(&chip).map_err(ApiError::internal)?;
        state.blobs.put(&key, bytes, "application/json").await?;
        inputs.push(JobInput {
            name: "chip".to_string(),
            key: key.to_string(),
        });
    }
    let job = JobRecord {
        tenant: tenant.0.clone(),
        kind,
        state: JobState::Queued,
        profile: profile.name,
        requested_at: idv_core::clock::timestamp(),
        inputs,
        callback_url: callback,
        response: None,
        last_error: None,
    };
    JOBS.insert(state.records.as_ref(), &id, &job).await?;
    let msg = messages::encode(&messages::Job { job: id.clone() });
    state.queue.send(JOBS_QUEUE, &msg).await?;
    tracing::info!(job = %id, kind = ?kind, "job accepted");
    let event = job
        .callback_url
        .is_some()
        .then(|| idv_core::callbacks::event_id(&job.tenant, &id, "result"));
    Ok((id, event))
}

/// 503 `SERVER_BUSY` when the queue of jobs holds [`crate::Config::job_backlog`] or more:
/// submissions are accepted up to a bounded backlog, not without end.
async fn check_backlog(state: &Services) -> Result<(), ApiError> {
    let depth = state.queue.depth(JOBS_QUEUE).await?;
    if depth >= state.config.job_backlog {
        tracing::warn!(depth, "job backlog full; submission refused");
        return Err(ApiError::new(
            ErrorCode::ServerBusy,
            "the queue of verifications is full; retry shortly",
        ));
    }
    Ok(())
}

/// The [`idv_core::callbacks::EVENT_HEADER`] of an accepted job with a callback.
fn event_header(event: Option<String>) -> axum::http::HeaderMap {
    let mut h = axum::http::HeaderMap::new();
    if let Some(v) = event.and_then(|e| axum::http::HeaderValue::from_str(&e).ok()) {
        h.insert(idv_core::callbacks::EVENT_HEADER, v);
    }
    h
}

/// `POST /v0.2/full-id-verification` → `{"api_req_uid"}`.
#[utoipa::path(post, path = "/v0.2/full-id-verification", tag = "Kairos", security(("app_id" = [], "app_key" = [])), request_body(content = forms::FullIdForm, content_type = "multipart/form-data"), responses((status = 200, description = "Accepted; poll for the result", body = wire::Submitted)))]
pub async fn full_submit(
    State(state): State<Services>,
    form: KairosSubmitForm,
) -> Result<(axum::http::HeaderMap, Json<Submitted>), ApiError> {
    let (api_req_uid, event) = submit(&state, form, JobKind::FullId).await?;
    Ok((event_header(event), Json(Submitted { api_req_uid })))
}

/// `POST /v0.1/full-id-verification`, the quick start's URL: as v0.2, answering the id under
/// both of the seeds' spellings.
#[utoipa::path(post, path = "/v0.1/full-id-verification", tag = "Kairos", security(("app_id" = [], "app_key" = [])), request_body(content = forms::FullIdForm, content_type = "multipart/form-data"), responses((status = 200, description = "Accepted; poll for the result", body = wire::QuickStartSubmitted)))]
pub async fn full_submit_v01(
    State(state): State<Services>,
    form: KairosSubmitForm,
) -> Result<(axum::http::HeaderMap, Json<wire::QuickStartSubmitted>), ApiError> {
    let (id, event) = submit(&state, form, JobKind::FullId).await?;
    Ok((
        event_header(event),
        Json(wire::QuickStartSubmitted {
            api_req_uid: id.clone(),
            api_req_uuid: id,
        }),
    ))
}

/// `POST /v0.1/document-verification` → `{"api_req_uuid"}`.
#[utoipa::path(post, path = "/v0.1/document-verification", tag = "Kairos", security(("app_id" = [], "app_key" = [])), request_body(content = forms::DocumentForm, content_type = "multipart/form-data"), responses((status = 200, description = "Accepted; poll for the result", body = wire::DocumentSubmitted)))]
pub async fn document_submit(
    State(state): State<Services>,
    form: KairosSubmitForm,
) -> Result<(axum::http::HeaderMap, Json<DocumentSubmitted>), ApiError> {
    let (api_req_uuid, event) = submit(&state, form, JobKind::Document).await?;
    Ok((
        event_header(event),
        Json(DocumentSubmitted { api_req_uuid }),
    ))
}

async fn poll(
    state: &Services,
    tenant: Tenant,
    id: &str,
    kind: JobKind,
) -> Result<Response, ApiError> {
    let job = JOBS
        .get(state.records.as_ref(), id)
        .await?
        .map(|r| r.value)
        .filter(|j| j.tenant == tenant.0 && j.kind == kind && j.state != JobState::Deleted)
        .ok_or_else(|| ApiError::not_found("verification"))?;
    if job.state == JobState::Failed {
        // The job ended on its input: the poll answers why, with the input error's code.
        let e = job
            .last_error
            .unwrap_or(crate::dialects::kairos::records::JobError {
                code: ErrorCode::InternalError.as_str().into(),
                message: "the job failed".into(),
                attempt: 0,
            });
        let code = ErrorCode::parse(&e.code).unwrap_or(ErrorCode::InternalError);
        return Err(ApiError::new(code, e.message));
    }
    Ok(match job.response {
        Some(done) if job.state == JobState::Done => {
            let mut res = Json(done).into_response();
            let receipt = idv_core::receipts::RECEIPTS
                .get(state.records.as_ref(), &format!("{}/{id}", tenant.0))
                .await?;
            crate::routes::receipts::attach(&mut res, receipt.map(|r| r.value.receipt).as_deref());
            res
        }
        _ => Json(Envelope::<()> {
            api_req_uid: id.to_string(),
            api_req_uuid: None,
            processed_at: None,
            requested_at: job.requested_at,
            response_code: None,
            response_data: None,
        })
        .into_response(),
    })
}

/// `GET /v0.2/full-id-verification/{uuid}`.
#[utoipa::path(get, path = "/v0.2/full-id-verification/{id}", tag = "Kairos", security(("app_id" = [], "app_key" = [])), params(("id" = String, Path, description = "The api_req_uid")), responses((status = 200, description = "response_code null while queued, 1 when done", body = wire::FullEnvelope), (status = 400, description = "The job ended on its input (e.g. IMAGE_CORRUPT)", body = crate::error::ErrorBody), (status = 404, description = "No such verification for this tenant", body = crate::error::ErrorBody)))]
pub async fn full_poll(
    State(state): State<Services>,
    Authed(tenant, ..): KairosAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    poll(&state, tenant, &id, JobKind::FullId).await
}

/// `GET /v0.1/full-id-verification/{uuid}`, the quick start's URL: as v0.2.
#[utoipa::path(get, path = "/v0.1/full-id-verification/{id}", tag = "Kairos", security(("app_id" = [], "app_key" = [])), params(("id" = String, Path, description = "The api_req_uuid")), responses((status = 200, description = "response_code null while queued, 1 when done", body = wire::FullEnvelope), (status = 400, description = "The job ended on its input (e.g. IMAGE_CORRUPT)", body = crate::error::ErrorBody), (status = 404, description = "No such verification for this tenant", body = crate::error::ErrorBody)))]
pub async fn full_poll_v01(
    State(state): State<Services>,
    Authed(tenant, ..): KairosAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    poll(&state, tenant, &id, JobKind::FullId).await
}

/// `GET /v0.1/document-verification/{uuid}`.
#[utoipa::path(get, path = "/v0.1/document-verification/{id}", tag = "Kairos", security(("app_id" = [], "app_key" = [])), params(("id" = String, Path, description = "The api_req_uuid")), responses((status = 200, description = "response_code null while queued, 1 when done", body = wire::DocumentEnvelope), (status = 400, description = "The job ended on its input (e.g. IMAGE_CORRUPT)", body = crate::error::ErrorBody), (status = 404, description = "No such verification for this tenant", body = crate::error::ErrorBody)))]
pub async fn document_poll(
    State(state): State<Services>,
    Authed(tenant, ..): KairosAuth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    poll(&state, tenant, &id, JobKind::Document).await
}

async fn selfie(
    state: &Services,
    tenant: &Tenant,
    fields: &mut Fields,
) -> Result<Option<image::RgbImage>, ApiError> {
    Ok(images::image(
        state.blobs.as_ref(),
        tenant,
        fields,
        "selfie",
        Limits::SELFIE,
        true,
    )
    .await?)
}

/// `POST /v0.2/biometric-verification`: selfie vs image, synchronously.
#[utoipa::path(post, path = "/v0.2/biometric-verification", tag = "Kairos", security(("app_id" = [], "app_key" = [])), request_body(content = forms::BiometricForm, content_type = "multipart/form-data"), responses((status = 200, description = "Selfie compared with the image", body = wire::BiometricEnvelope)))]
pub async fn biometric_verification(
    State(state): State<Services>,
    KairosForm {
        tenant,
        mut fields,
        place,
        ..
    }: KairosForm,
) -> Result<Response, ApiError> {
    let requested_at = idv_core::clock::timestamp();
    let mut job = OwnedInputs::new(services::profile(fields.text("profile").as_deref())?);
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    let digests =
        idv_core::images::digests(state.blobs.as_ref(), &tenant, &fields, &["selfie", "image"])
            .await?;
    job.selfie = selfie(&state, &tenant, &mut fields).await?;
    job.reference = images::image(
        state.blobs.as_ref(),
        &tenant,
        &mut fields,
        "image",
        Limits::COMPARED,
        true,
    )
    .await?;
    job.multiface = fields.flag("image_multiface")?;
    let v = state.verify_in(&slot, job).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let receipt = Receipted {
        tenant: &tenant,
        id: &id,
        requested_at: &requested_at,
        digests,
        used: None,
    };
    receipt
        .answer(&state, &v, wire::biometric_response(&v))
        .await
}

/// What a synchronous Kairos answer's receipt needs besides the verification.
struct Receipted<'a> {
    tenant: &'a Tenant,
    id: &'a str,
    requested_at: &'a str,
    digests: Vec<idv_core::records::InputDigest>,
    /// The profile as the request changed it.
    used: Option<&'a idv_pipeline::Profile>,
}

impl Receipted<'_> {
    /// The finished answer of `v` (`data` in Kairos' envelope), with its receipt header.
    async fn answer(
        self,
        state: &Services,
        v: &idv_pipeline::Verification,
        data: impl serde::Serialize,
    ) -> Result<Response, ApiError> {
        let receipt = idv_core::receipts::issue(
            state.receipts.as_deref(),
            state.records.as_ref(),
            state.models_used(),
            &self.tenant.0,
            self.id,
            "kairos",
            self.requested_at,
            v,
            self.digests,
            self.used,
        )
        .await?;
        let mut res = Json(Envelope::done(self.id, self.requested_at, data)).into_response();
        crate::routes::receipts::attach(&mut res, receipt.as_deref());
        Ok(res)
    }
}

/// `POST /v0.2/liveness-verification`: liveness of the selfie, with an optional `threshold`.
#[utoipa::path(post, path = "/v0.2/liveness-verification", tag = "Kairos", security(("app_id" = [], "app_key" = [])), request_body(content = forms::LivenessForm, content_type = "multipart/form-data"), responses((status = 200, description = "Liveness of the selfie", body = wire::LivenessEnvelope)))]
pub async fn liveness_verification(
    State(state): State<Services>,
    KairosForm {
        tenant,
        mut fields,
        place,
        ..
    }: KairosForm,
) -> Result<Response, ApiError> {
    let requested_at = idv_core::clock::timestamp();
    let mut profile = services::profile(fields.text("profile").as_deref())?;
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
    let used = profile.clone();
    let mut job = OwnedInputs::new(profile);
    let (_turn, slot) = crate::turn::running(&state, place).await?;
    let digests =
        idv_core::images::digests(state.blobs.as_ref(), &tenant, &fields, &["selfie"]).await?;
    job.selfie = selfie(&state, &tenant, &mut fields).await?;
    let v = state.verify_in(&slot, job).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let receipt = Receipted {
        tenant: &tenant,
        id: &id,
        requested_at: &requested_at,
        digests,
        used: Some(&used),
    };
    receipt
        .answer(&state, &v, wire::liveness_response(&v))
        .await
}

/// The Kairos routes, with its statuses.
fn routes() -> utoipa_axum::router::OpenApiRouter<Services> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(full_submit))
        .routes(utoipa_axum::routes!(full_poll))
        .routes(utoipa_axum::routes!(full_submit_v01))
        .routes(utoipa_axum::routes!(full_poll_v01))
        .routes(utoipa_axum::routes!(document_submit))
        .routes(utoipa_axum::routes!(document_poll))
        .routes(utoipa_axum::routes!(biometric_verification))
        .routes(utoipa_axum::routes!(liveness_verification))
        .route_layer(axum::middleware::map_response(statuses))
}

/// The Kairos API: its routes (with its statuses), its lifecycle and its job worker.
pub fn api() -> super::Api {
    super::Api {
        dialect: std::sync::Arc::new(lifecycle::Kairos),
        routes,
        jobs: vec![std::sync::Arc::new(jobs::Jobs)],
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures")
                .join(rel),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn submissions_beyond_the_backlog_get_503_with_retry_after() {
        let dir = std::env::temp_dir().join(format!("idv-backlog-{}", std::process::id()));
        let mut state = crate::dialects::for_tests(&dir);
        let mut config = (*state.config).clone();
        config.job_backlog = 2;
        state.config = Arc::new(config);
        let t = idv_core::accounts::create_tenant(state.records.as_ref(), "acme", None)
            .await
            .unwrap();
        let app = crate::router(state.clone());
        let boundary = "idvboundary";
        let mut body = Vec::new();
        for (name, file) in [
            ("document", "documents/synthetic-td3-obama.jpg"),
            ("selfie", "faces/face_recognition__obama-720p.jpg"),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(&fixture(file));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let submit = || {
            Request::post("/v0.2/full-id-verification")
                .header("app_id", &t.app_id)
                .header("app_key", &t.app_key)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body.clone()))
                .unwrap()
        };
        // No worker runs here: accepted jobs stay queued.
        for _ in 0..2 {
            let res = app.clone().oneshot(submit()).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
        assert_eq!(state.queue.depth(super::JOBS_QUEUE).await.unwrap(), 2);
        let res = app.clone().oneshot(submit()).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key("retry-after"));
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&body).contains("SERVER_BUSY"),
            "{body:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
