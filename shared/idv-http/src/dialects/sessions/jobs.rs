//! The consumer of the `sessions` queue: verifies a session whose images are in, keeps the
//! result and its receipt, and queues `session.completed`.

use idv_core::messages::{self, SESSIONS_QUEUE, SessionRun};
use idv_core::records::{InputDigest, TENANTS};
use idv_core::services::{self, OwnedInputs};
use idv_core::sessions::{SESSIONS, Status};
use idv_core::{Error, ErrorCode, Services};
use idv_image::Limits;

use super::wire::{Completed, SessionResult, SessionView};

/// Verifies sessions.
pub struct Verify;

#[async_trait::async_trait]
impl idv_core::jobs::Job for Verify {
    fn queue(&self) -> &'static str {
        SESSIONS_QUEUE
    }

    async fn handle(
        &self,
        s: &Services,
        body: &str,
        _attempt: u32,
    ) -> Result<idv_core::jobs::Next, Error> {
        let Some(msg) = messages::decode::<SessionRun>(SESSIONS_QUEUE, body) else {
            return Ok(idv_core::jobs::Next::Done);
        };
        match run(s, &msg).await {
            // An image that cannot be verified will not be on a retry: a person looks.
            Err(e) if e.code != ErrorCode::InternalError && !is_transient(e.code) => {
                tracing::warn!(code = %e.code, "session could not be verified");
                let key = format!("{}/{}", msg.tenant, msg.id);
                SESSIONS
                    .update(s.records.as_ref(), &key, |s| {
                        s.status == Status::Processing && {
                            s.status = Status::RequiresReview;
                            s.last_error = Some(format!("{}: {}", e.code, e.message));
                            true
                        }
                    })
                    .await?;
                Ok(idv_core::jobs::Next::Done)
            }
            r => r.map(|()| idv_core::jobs::Next::Done),
        }
    }
}

fn is_transient(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ServerBusy
            | ErrorCode::StorageFull
            | ErrorCode::StorageUnavailable
            | ErrorCode::Conflict
            | ErrorCode::ModelsUnavailable
    )
}

async fn run(state: &Services, msg: &SessionRun) -> Result<(), Error> {
    let records = state.records.as_ref();
    let key = format!("{}/{}", msg.tenant, msg.id);
    let Some(rec) = SESSIONS.get(records, &key).await? else {
        return Ok(());
    };
    let session = rec.value;
    if session.status != Status::Processing {
        // A redelivered message: an earlier delivery finished it.
        return Ok(());
    }
    let mut job = OwnedInputs::new(services::profile(None)?);
    job.document_hint = super::hint(session.document_type.as_deref());
    let mut inputs = Vec::new();
    for (name, blob) in &session.images {
        let bytes = state.blobs.get(blob).await?.ok_or_else(|| {
            Error::new(
                ErrorCode::InputMissing,
                format!("the session's {name} image is missing from the blob store"),
            )
        })?;
        inputs.push(InputDigest {
            name: name.clone(),
            sha256: idv_core::digest::sha256_hex(&bytes),
        });
        let limits = match name.as_str() {
            "selfie" => Limits::SELFIE,
            _ => Limits::DOCUMENT,
        };
        let (_, img) = idv_core::images::decode(name, bytes, limits).await?;
        match name.as_str() {
            "document" => job.document = Some(img),
            "document_back" => job.document_back = Some(img),
            _ => job.selfie = Some(img),
        }
    }
    let v = state.verify(job).await?;
    idv_core::receipts::issue(
        state.receipts.as_deref(),
        records,
        state.models_used(),
        &msg.tenant,
        &msg.id,
        "sessions",
        &session.created_at,
        &v,
        inputs.clone(),
        None,
    )
    .await?;
    let active = (session.liveness == "active")
        .then(|| session.active.clone())
        .flatten();
    // An active session's clip must have passed (its selfie is a frame of it).
    let active_failed =
        session.liveness == "active" && active.as_ref().is_none_or(|a| a["verdict"] != "pass");
    let mut result = SessionResult::new(&v, active);
    if active_failed {
        result.outcome = "rejected".into();
        result.findings.push(super::wire::Finding {
            code: "FAILED_SELFIE_LIVENESS".into(),
            decision: "reject".into(),
            description: "the active liveness clip did not pass".into(),
        });
    }
    let status = match (active_failed, v.decision.outcome()) {
        (true, _) => Status::Rejected,
        (_, idv_pipeline::decision::Outcome::Approved) => Status::Verified,
        (_, idv_pipeline::decision::Outcome::Review) => Status::RequiresReview,
        (_, idv_pipeline::decision::Outcome::Rejected) => Status::Rejected,
    };
    let result = serde_json::to_value(result).map_err(Error::internal)?;
    let now = idv_store::now_ms();
    let mut done = session.clone();
    done.status = status;
    done.result = Some(result);
    done.inputs = inputs;
    done.completed_at = Some(idv_core::clock::timestamp_at(now));
    // The callback is queued before the session is marked done, so a crash in between sends
    // it again rather than never (callbacks are at least once; receivers dedupe by event id).
    let url = match &session.callback_url {
        Some(u) => Some(u.clone()),
        None => TENANTS
            .get(records, &msg.tenant)
            .await?
            .and_then(|t| t.value.callback_url),
    };
    if let Some(url) = url {
        let event = idv_core::callbacks::event_id(&msg.tenant, &msg.id, "session.completed");
        let body = Completed {
            kind: "session.completed",
            session: SessionView::new(&msg.id, &done, now),
        };
        idv_core::callbacks::enqueue(
            records,
            state.queue.as_ref(),
            &msg.tenant,
            &event,
            &url,
            &body,
        )
        .await?;
    }
    let written = SESSIONS
        .update(records, &key, |s| {
            s.status == Status::Processing && {
                *s = done.clone();
                true
            }
        })
        .await?;
    if written.is_some() {
        idv_core::audit::record(
            records,
            &msg.tenant,
            "sessions",
            "session.complete",
            Some(&msg.id),
        )
        .await?;
    }
    Ok(())
}
