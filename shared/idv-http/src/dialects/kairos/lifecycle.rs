//! How the core's data lifecycle reaches Kairos jobs: erasure, image purges, retention and
//! tenant deletion.

use crate::dialects::kairos::records::{JOBS, JobState};
use idv_core::records::{InputDigest, Tombstone};
use idv_core::{Dialect, Error, Seen, Services};
use idv_store::RecordStore;

/// The Kairos dialect.
pub struct Kairos;

#[async_trait::async_trait]
impl Dialect for Kairos {
    async fn verifications(&self, s: &Services, tenant: &str) -> Result<Vec<Seen>, Error> {
        Ok(JOBS
            .list(s.records.as_ref(), "")
            .await?
            .into_iter()
            .filter(|(_, j)| j.tenant == tenant && j.state != JobState::Queued)
            .filter_map(|(id, j)| {
                Some(Seen {
                    at_ms: idv_core::clock::parse(&j.requested_at)?,
                    id,
                })
            })
            .collect())
    }

    async fn erase(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        _keep_certificate: bool,
    ) -> Result<Option<Tombstone>, Error> {
        erase_job(s, tenant, id).await
    }

    async fn purge_images(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<String>, Error> {
        let records = s.records.as_ref();
        let Some(job) = JOBS.get(records, id).await? else {
            return Ok(Vec::new());
        };
        if job.value.tenant != tenant || job.value.state == JobState::Queued {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = job.value.inputs.iter().map(|i| i.key.clone()).collect();
        if !keys.is_empty() {
            JOBS.update(records, id, |j| {
                let had = !j.inputs.is_empty();
                j.inputs.clear();
                had
            })
            .await?;
        }
        Ok(keys)
    }

    async fn delete_tenant(&self, records: &dyn RecordStore, tenant: &str) -> Result<usize, Error> {
        let mut removed = 0;
        for (key, j) in JOBS.list(records, "").await? {
            if j.tenant == tenant {
                records.remove(JOBS.name(), &key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Erases a Kairos job of `tenant`: its input images and stored response.
async fn erase_job(state: &Services, tenant: &str, id: &str) -> Result<Option<Tombstone>, Error> {
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
                sha256: idv_core::digest::sha256_hex(&bytes),
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
        deleted_at: idv_core::clock::timestamp(),
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
