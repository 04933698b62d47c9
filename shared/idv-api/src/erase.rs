//! `DELETE /v1/verifications/{id}`: erases a verification's images and personal data
//! everywhere idv keeps them, and keeps a tombstone (decision, times, input hashes) and the
//! certificate, which holds no original image and masks document numbers.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::records::{
    CALLBACKS, CASES, CallbackStatus, CaseStatus, ExtractedData, InputDigest, JOBS, JobState,
    ONECALL, Table, VERIFICATIONS,
};
use crate::state::AppState;

/// Tombstones of erased verifications, keyed `TENANT/ID`.
pub const TOMBSTONES: Table<Tombstone> = Table::new("tombstones");

/// What is kept of an erased verification: no image, no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tombstone {
    /// The id the dialect gave (Kairos `api_req_uid`, LINK `id`, one-call `verificationId`).
    pub id: String,
    /// `kairos`, `link` or `onecall`.
    pub dialect: String,
    pub requested_at: Option<String>,
    pub deleted_at: String,
    /// The outcome as the dialect said it (`APPROVED`/`REVIEW`/`REJECTED`; LINK `Ok`,
    /// `Warning`, `NotCorrect`), when the verification had finished.
    pub outcome: Option<String>,
    /// The decision's detail codes.
    pub codes: Vec<String>,
    /// SHA-256 of each input image as received.
    pub inputs: Vec<InputDigest>,
    /// Whether the signed certificate is kept (`GET /certificate/{id}`).
    pub certificate_kept: bool,
}

/// `DELETE /v1/verifications/{id}` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EraseQuery {
    /// `keep` (default): the signed certificate stays (it names the holder and shows face
    /// thumbnails; the document number is masked). `delete`: it goes too.
    certificate: Option<String>,
}

/// `DELETE /v1/verifications/{id}`: erases the verification `id` of the caller's tenant (any
/// of its credentials); answers its tombstone. Repeating it answers the same tombstone.
#[utoipa::path(delete, operation_id = "delete_verification", path = "/v1/verifications/{id}", tag = "Data", security(("x_api_key" = []), ("app_id" = [], "app_key" = []), ("bearer" = [])), params(("id" = String, Path, description = "Kairos api_req_uid, LINK id or one-call verificationId"), EraseQuery), responses((status = 200, description = "Erased; what is kept", body = Tombstone), (status = 404, description = "No such verification for this tenant", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<EraseQuery>,
) -> Result<Json<Tombstone>, ApiError> {
    let (tenant, actor) = crate::auth::any(&state, &headers).await?;
    let keep_certificate = match q.certificate.as_deref() {
        None | Some("keep") => true,
        Some("delete") => false,
        Some(_) => {
            return Err(ApiError::new(
                crate::error::ErrorCode::InvalidField,
                "certificate: keep or delete",
            ));
        }
    };
    let tenant = tenant.0;
    let records = state.records.as_ref();
    // A repeat: answered as before, nothing more to erase or audit.
    if let Some(t) = TOMBSTONES.get(records, &format!("{tenant}/{id}")).await? {
        return Ok(Json(t.value));
    }
    let tomb = erase(&state, &tenant, &id, keep_certificate)
        .await?
        .ok_or_else(|| ApiError::not_found("verification"))?;
    // The replaced values must not linger in the store's free space.
    records.scrub().await?;
    crate::audit::record(records, &tenant, actor, "verification.delete", Some(&id)).await?;
    tracing::info!(verification = %id, "verification erased");
    Ok(Json(tomb))
}

/// Erases verification `id` of `tenant` (a Kairos job or a LINK request, with its review case
/// and undelivered callbacks) and records its tombstone; the tombstone, or `None` when there
/// is no such verification. Erasing twice gives the first tombstone. The caller scrubs the
/// record store afterwards (once for a batch).
pub async fn erase(
    state: &AppState,
    tenant: &str,
    id: &str,
    keep_certificate: bool,
) -> Result<Option<Tombstone>, ApiError> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    if let Some(t) = TOMBSTONES.get(records, &key).await? {
        return Ok(Some(t.value));
    }
    let tomb = match erase_job(state, tenant, id).await? {
        Some(t) => t,
        None => match erase_link(state, tenant, id, keep_certificate).await? {
            Some(t) => t,
            None => match erase_onecall(state, tenant, id).await? {
                Some(t) => t,
                None => return Ok(None),
            },
        },
    };
    erase_case(state, tenant, id).await?;
    for kind in ["result", "manual", "certification"] {
        let event = crate::callbacks::event_id(tenant, id, kind);
        CALLBACKS
            .update(records, &format!("{tenant}/{event}"), |c| {
                let pending =
                    matches!(c.status, CallbackStatus::Pending | CallbackStatus::Retrying);
                if pending {
                    c.status = CallbackStatus::Cancelled;
                    c.next_attempt_at = None;
                    c.next_attempt_ms = None;
                }
                pending
            })
            .await?;
    }
    match TOMBSTONES.insert(records, &key, &tomb).await {
        Err(e) if !e.is_conflict() => Err(e.into()),
        _ => Ok(Some(tomb)),
    }
}

/// Deletes the images of verification `id` of `tenant` and keeps the rest (retention's first
/// step): Kairos inputs, certificate thumbnails, review-case images. Returns how many images
/// went.
pub async fn purge_images(state: &AppState, tenant: &str, id: &str) -> Result<usize, ApiError> {
    let records = state.records.as_ref();
    let mut keys = Vec::new();
    if let Some(job) = JOBS.get(records, id).await?
        && job.value.tenant == tenant
        && job.value.state != JobState::Queued
    {
        keys.extend(job.value.inputs.iter().map(|i| i.key.clone()));
        if !keys.is_empty() {
            JOBS.update(records, id, |j| {
                let had = !j.inputs.is_empty();
                j.inputs.clear();
                had
            })
            .await?;
        }
    }
    let key = format!("{tenant}/{id}");
    if let Some(rec) = VERIFICATIONS.get(records, &key).await?
        && let Some(m) = &rec.value.certification
        && !m.thumbnails.is_empty()
        && rec.value.certificate_key.is_some()
    {
        keys.extend(m.thumbnails.iter().map(|t| t.key.clone()));
        VERIFICATIONS
            .update(records, &key, |r| {
                r.certification.as_mut().is_some_and(|m| {
                    let had = !m.thumbnails.is_empty();
                    m.thumbnails.clear();
                    had
                })
            })
            .await?;
    }
    if let Some(case) = CASES.get(records, &key).await?
        && !case.value.images.is_empty()
    {
        keys.extend(case.value.images.iter().map(|i| i.key.clone()));
        CASES
            .update(records, &key, |c| {
                let had = !c.images.is_empty();
                c.images.clear();
                had
            })
            .await?;
    }
    if let Some(rec) = ONECALL.get(records, &key).await?
        && !rec.value.uploads.is_empty()
    {
        keys.extend(rec.value.uploads.iter().cloned());
        ONECALL
            .update(records, &key, |r| {
                let had = !r.uploads.is_empty();
                r.uploads.clear();
                had
            })
            .await?;
    }
    for k in &keys {
        state.blobs.delete(k).await?;
    }
    Ok(keys.len())
}

/// Erases a one-call verification of `tenant`: the uploads its images came from; its record
/// becomes the tombstone.
async fn erase_onecall(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<Option<Tombstone>, ApiError> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    let Some(rec) = ONECALL.get(records, &key).await? else {
        return Ok(None);
    };
    let rec = rec.value;
    for k in &rec.uploads {
        state.blobs.delete(k).await?;
    }
    let tomb = Tombstone {
        id: id.to_string(),
        dialect: "onecall".into(),
        requested_at: Some(rec.received_at),
        deleted_at: crate::clock::timestamp(),
        outcome: Some(rec.outcome),
        codes: rec.codes,
        inputs: rec.inputs,
        certificate_kept: false,
    };
    records.remove(ONECALL.name(), &key).await?;
    Ok(Some(tomb))
}

/// Erases a Kairos job of `tenant`: its input images and stored response.
async fn erase_job(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<Option<Tombstone>, ApiError> {
    let records = state.records.as_ref();
    let Some(job) = JOBS.get(records, id).await? else {
        return Ok(None);
    };
    if job.value.tenant != tenant {
        return Ok(None);
    }
    let mut inputs = Vec::new();
    for i in &job.value.inputs {
        if let Some(bytes) = state.blobs.get(&i.key).await? {
            inputs.push(InputDigest {
                name: i.name.clone(),
                sha256: crate::certify::sha256_hex(&bytes),
            });
        }
        state.blobs.delete(&i.key).await?;
    }
    let (outcome, codes) = job
        .value
        .response
        .as_ref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r.get()).ok())
        .map(|r| kairos_outcome(&r["response_data"]["decision"]))
        .unwrap_or_default();
    JOBS.update(records, id, |j| {
        j.state = JobState::Deleted;
        j.inputs.clear();
        j.response = None;
        j.last_error = None;
        true
    })
    .await?;
    Ok(Some(Tombstone {
        id: id.to_string(),
        dialect: "kairos".into(),
        requested_at: Some(job.value.requested_at),
        deleted_at: crate::clock::timestamp(),
        outcome,
        codes,
        inputs,
        certificate_kept: false,
    }))
}

/// A Kairos decision's outcome and codes.
fn kairos_outcome(decision: &serde_json::Value) -> (Option<String>, Vec<String>) {
    if decision.is_null() {
        return (None, Vec::new());
    }
    let score = |k: &str| decision[k].as_u64().unwrap_or(0);
    let outcome = if score("reject_score") > 0 {
        "REJECTED"
    } else if score("review_score") > 0 {
        "REVIEW"
    } else {
        "APPROVED"
    };
    let codes = decision["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect();
    (Some(outcome.into()), codes)
}

/// Erases a LINK verification of `tenant`: its answer (the fields read), the certificate's
/// material and thumbnails. The certificate itself is kept.
async fn erase_link(
    state: &AppState,
    tenant: &str,
    id: &str,
    keep_certificate: bool,
) -> Result<Option<Tombstone>, ApiError> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    let Some(rec) = VERIFICATIONS.get(records, &key).await? else {
        return Ok(None);
    };
    let rec = rec.value;
    let answer = rec
        .answer
        .as_ref()
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a.get()).ok())
        .unwrap_or_default();
    let verification = &answer["idVerification"];
    let material = rec.certification.as_ref();
    for t in material
        .map(|m| m.thumbnails.as_slice())
        .unwrap_or_default()
    {
        state.blobs.delete(&t.key).await?;
    }
    if !keep_certificate && let Some(k) = &rec.certificate_key {
        state.blobs.delete(k).await?;
    }
    let tomb = Tombstone {
        id: id.to_string(),
        dialect: "link".into(),
        requested_at: material.map(|m| m.received_at.clone()),
        deleted_at: crate::clock::timestamp(),
        outcome: verification["result"].as_str().map(str::to_string),
        codes: verification["warning"]
            .as_str()
            .map(|w| w.split(',').map(|c| c.trim().to_string()).collect())
            .unwrap_or_default(),
        inputs: material.map(|m| m.inputs.clone()).unwrap_or_default(),
        certificate_kept: keep_certificate && rec.certificate_key.is_some(),
    };
    VERIFICATIONS
        .update(records, &key, |r| {
            r.answer = None;
            r.deleted_at = Some(tomb.deleted_at.clone());
            if !keep_certificate {
                r.certificate_key = None;
            }
            if let Some(m) = r.certification.as_mut() {
                m.data = None;
                m.thumbnails.clear();
            }
            true
        })
        .await?;
    Ok(Some(tomb))
}

/// Erases the review case of `id`, if any: its images and extracted data; the case is closed.
async fn erase_case(state: &AppState, tenant: &str, id: &str) -> Result<(), ApiError> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    let Some(case) = CASES.get(records, &key).await? else {
        return Ok(());
    };
    for img in &case.value.images {
        state.blobs.delete(&img.key).await?;
    }
    CASES
        .update(records, &key, |c| {
            c.images.clear();
            c.automatic.data = None;
            c.extracted_data = ExtractedData::default();
            c.status = CaseStatus::Decided;
            true
        })
        .await?;
    Ok(())
}
