//! The Kairos async job worker: runs a queued job and stores its finished response.

use idv_image::Limits;
use serde_json::value::RawValue;

use super::wire::{self, Envelope};
use crate::error::{ApiError, ErrorCode};
use crate::messages::{self, JOBS_QUEUE};
use crate::records::{JOBS, JobError, JobKind, JobState};
use crate::state::{self, AppState, OwnedInputs};

/// Processes one queued job message; returns once the message may be deleted.
pub async fn run_job(state: &AppState, body: &str, attempt: u32) -> Result<(), ApiError> {
    let Some(msg) = messages::decode::<messages::Job>(JOBS_QUEUE, body) else {
        return Ok(());
    };
    let id = msg.job.as_str();
    let result = process_job(state, id).await;
    if let Err(e) = &result {
        // Keep the reason with the job: after the queue's last attempt the message is in the
        // dead-letter queue and this is where an operator reads why.
        let noted = JOBS
            .update(state.records.as_ref(), id, |job| {
                job.state != JobState::Done && {
                    job.last_error = Some(JobError {
                        code: e.code.as_str().to_string(),
                        message: e.message.clone(),
                        attempt,
                    });
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
    let Some(rec) = JOBS.get(state.records.as_ref(), id).await? else {
        tracing::warn!(job = %id, "dropping a message for an unknown job");
        return Ok(());
    };
    let job = rec.value;
    if job.state == JobState::Done {
        // A redelivered message: the job was finished by an earlier delivery.
        return Ok(());
    }
    let mut inputs = OwnedInputs::new(state::profile(Some(&job.profile))?);
    for i in &job.inputs {
        let bytes = state.blobs.get(&i.key).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InputMissing,
                format!("the job's {} image is missing from the blob store", i.name),
            )
        })?;
        let (_, img) = crate::input::decode(&i.name, bytes, Limits::ANY).await?;
        match i.name.as_str() {
            "document" => inputs.document = Some(img),
            "document_back" => inputs.document_back = Some(img),
            "selfie" => inputs.selfie = Some(img),
            _ => {}
        }
    }
    let v = state.verify(inputs).await?;
    let response = match job.kind {
        JobKind::FullId => rendered(&Envelope::done(
            id,
            &job.requested_at,
            wire::full_response(&v),
        )),
        JobKind::Document => rendered(&Envelope {
            api_req_uuid: Some(id.to_string()),
            ..Envelope::done(id, &job.requested_at, wire::document_response(&v))
        }),
    }?;
    // The request's `callback_url` gets the result as a poll would. It is queued before the
    // job is marked done, so a crash in between sends it again rather than never (callbacks
    // are at least once; receivers dedupe by the result's `api_req_uid`).
    if let Some(url) = &job.callback_url {
        crate::callbacks::enqueue(state, &job.tenant, url, &response).await?;
    }
    // Re-read on a conflict: if another delivery finished first, keep its result.
    JOBS.update(state.records.as_ref(), id, |job| {
        job.state != JobState::Done && {
            job.state = JobState::Done;
            job.response = Some(response.clone());
            true
        }
    })
    .await?;
    tracing::info!(job = %id, ms = v.elapsed_ms, outcome = ?v.decision.outcome(), "job done");
    Ok(())
}

/// A response as the JSON text every poll serves.
fn rendered(response: &impl serde::Serialize) -> Result<Box<RawValue>, ApiError> {
    serde_json::value::to_raw_value(response).map_err(ApiError::internal)
}
