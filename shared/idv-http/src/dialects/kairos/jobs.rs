//! The Kairos async job worker: runs a queued job and stores its finished response.

use idv_image::Limits;
use serde_json::value::RawValue;

use super::wire::{self, Envelope};
use crate::dialects::kairos::records::{JOBS, JobError, JobKind, JobState};
use crate::error::ApiError;
use idv_core::ErrorCode;
use idv_core::Services;
use idv_core::messages::{self, JOBS_QUEUE};
use idv_core::services::{self, OwnedInputs};

/// The consumer of the Kairos jobs queue.
pub struct Jobs;

#[async_trait::async_trait]
impl idv_core::jobs::Job for Jobs {
    fn queue(&self) -> &'static str {
        JOBS_QUEUE
    }

    async fn handle(
        &self,
        s: &Services,
        body: &str,
        attempt: u32,
    ) -> Result<idv_core::jobs::Next, idv_core::Error> {
        run_job(s, body, attempt)
            .await
            .map(|()| idv_core::jobs::Next::Done)
            .map_err(|e| e.0)
    }
}

/// Processes one queued job message; returns once the message may be deleted.
pub async fn run_job(state: &Services, body: &str, attempt: u32) -> Result<(), ApiError> {
    let Some(msg) = messages::decode::<messages::Job>(JOBS_QUEUE, body) else {
        return Ok(());
    };
    let id = msg.job.as_str();
    let result = process_job(state, id).await;
    let Err(e) = &result else {
        return Ok(());
    };
    // An input that does not decode will not decode on a retry: the job ends, and its poll
    // answers the error. Other failures are retried; either way the reason stays with the
    // job, where an operator reads why a dead-lettered message failed.
    let terminal = e.status().is_client_error();
    let noted = JOBS
        .update(state.records.as_ref(), id, |job| {
            job.state == JobState::Queued && {
                job.last_error = Some(JobError {
                    code: e.code.as_str().to_string(),
                    message: e.message.clone(),
                    attempt,
                });
                if terminal {
                    job.state = JobState::Failed;
                }
                true
            }
        })
        .await;
    match noted {
        Ok(_) if terminal => {
            tracing::warn!(job = %id, code = %e.code, "job failed on its input");
            Ok(())
        }
        Ok(_) => result,
        Err(n) => {
            tracing::warn!(job = %id, code = %n.code, "could not record the job's error");
            result
        }
    }
}

async fn process_job(state: &Services, id: &str) -> Result<(), ApiError> {
    let Some(rec) = JOBS.get(state.records.as_ref(), id).await? else {
        tracing::warn!(job = %id, "dropping a message for an unknown job");
        return Ok(());
    };
    let job = rec.value;
    if job.state != JobState::Queued {
        // A redelivered message: the job was finished by an earlier delivery.
        return Ok(());
    }
    let mut inputs = OwnedInputs::new(services::profile(Some(&job.profile))?);
    let mut digests = Vec::new();
    for i in &job.inputs {
        let bytes = state.blobs.get(&i.key).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InputMissing,
                format!("the job's {} image is missing from the blob store", i.name),
            )
        })?;
        digests.push(idv_core::records::InputDigest {
            name: i.name.clone(),
            sha256: idv_core::digest::sha256_hex(&bytes),
        });
        if i.name == "chip" {
            inputs.chip = Some(serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::new(
                    ErrorCode::InputMissing,
                    format!("the job's chip does not parse: {e}"),
                )
            })?);
            continue;
        }
        let (_, img) = idv_core::images::decode(&i.name, bytes, Limits::ANY).await?;
        match i.name.as_str() {
            "document" => inputs.document = Some(img),
            "document_back" => inputs.document_back = Some(img),
            "selfie" => inputs.selfie = Some(img),
            _ => {}
        }
    }
    let v = state.verify(inputs).await?;
    // Signed before the job is done, so a finished job always has its receipt.
    idv_core::receipts::issue(
        state.receipts.as_deref(),
        state.records.as_ref(),
        state.models_used(),
        &job.tenant,
        id,
        "kairos",
        &job.requested_at,
        &v,
        digests,
        None,
    )
    .await?;
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
        let event = idv_core::callbacks::event_id(&job.tenant, id, "result");
        idv_core::callbacks::enqueue(
            state.records.as_ref(),
            state.queue.as_ref(),
            &job.tenant,
            &event,
            url,
            &response,
        )
        .await?;
    }
    // Re-read on a conflict: if another delivery finished first, keep its result.
    JOBS.update(state.records.as_ref(), id, |job| {
        job.state == JobState::Queued && {
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

#[cfg(test)]
mod tests {
    use idv_store::BlobKey;

    use super::*;
    use crate::dialects::kairos::records::{JobInput, JobKind, JobRecord};
    use idv_core::credentials::Tenant;

    #[tokio::test]
    async fn a_job_whose_stored_input_is_corrupt_ends_with_the_error() {
        let dir = std::env::temp_dir().join(format!("idv-corrupt-{}", std::process::id()));
        let state = crate::dialects::for_tests(&dir);
        // A stored input damaged after it was accepted (it decoded at submission).
        let key = BlobKey::temporary("t_1/jobs/j1/selfie").unwrap();
        state
            .blobs
            .put(&key, b"\xff\xd8\xff garbage".to_vec(), "image/jpeg")
            .await
            .unwrap();
        let job = JobRecord {
            tenant: "t_1".into(),
            kind: JobKind::FullId,
            state: JobState::Queued,
            profile: "optimal-v0".into(),
            requested_at: "2026-12-01 00:00:00".into(),
            inputs: vec![JobInput {
                name: "selfie".into(),
                key: key.to_string(),
            }],
            callback_url: None,
            response: None,
            last_error: None,
        };
        JOBS.insert(state.records.as_ref(), "j1", &job)
            .await
            .unwrap();
        let msg = messages::encode(&messages::Job { job: "j1".into() });
        // Acknowledged at once (no retries of what cannot succeed) ...
        run_job(&state, &msg, 1).await.unwrap();
        let stored = JOBS
            .get(state.records.as_ref(), "j1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.value.state, JobState::Failed);
        // ... and the poll answers the input's error.
        let polled = super::super::poll(&state, Tenant("t_1".into()), "j1", JobKind::FullId).await;
        let e = polled.expect_err("an error");
        assert_eq!(e.code, ErrorCode::ImageCorrupt, "{e:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
