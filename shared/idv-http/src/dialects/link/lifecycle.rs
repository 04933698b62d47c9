//! How the core's data lifecycle reaches LINK verifications: erasure, image purges, retention,
//! certificate expiry and tenant deletion, and what a manual review's decision sets off (the
//! `ManualIDVerification` callback, then the certificate).

use crate::dialects::link::records::VERIFICATIONS;
use idv_core::records::{ReviewOutcome, Tombstone, remove_prefixed};
use idv_core::review::ManualCallback;
use idv_core::{Dialect, Error, Seen, Services};
use idv_store::RecordStore;

/// The LINK dialect.
pub struct Link;

#[async_trait::async_trait]
impl Dialect for Link {
    async fn verifications(&self, s: &Services, tenant: &str) -> Result<Vec<Seen>, Error> {
        let prefix = format!("{tenant}/");
        let rows = VERIFICATIONS.list(s.records.as_ref(), &prefix).await?;
        Ok(Seen::all(rows, &prefix, |r| {
            (r.received_at.as_deref()).or(r.certification.as_ref().map(|m| m.received_at.as_str()))
        }))
    }

    async fn erase(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        keep_certificate: bool,
    ) -> Result<Option<Tombstone>, Error> {
        erase_link(s, tenant, id, keep_certificate).await
    }

    async fn purge_images(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<String>, Error> {
        let records = s.records.as_ref();
        let key = format!("{tenant}/{id}");
        let Some(rec) = VERIFICATIONS.get(records, &key).await? else {
            return Ok(Vec::new());
        };
        let Some(m) = rec.value.certification.filter(|m| !m.thumbnails.is_empty()) else {
            return Ok(Vec::new());
        };
        if rec.value.certificate_key.is_none() {
            return Ok(Vec::new());
        }
        VERIFICATIONS
            .update(records, &key, |r| {
                r.certification.as_mut().is_some_and(|m| {
                    let had = !m.thumbnails.is_empty();
                    m.thumbnails.clear();
                    had
                })
            })
            .await?;
        Ok(m.thumbnails.into_iter().map(|t| t.key).collect())
    }

    async fn delete_tenant(&self, records: &dyn RecordStore, tenant: &str) -> Result<usize, Error> {
        remove_prefixed(records, VERIFICATIONS.name(), &format!("{tenant}/")).await
    }

    async fn expire_certificate(&self, s: &Services, tenant: &str, id: &str) -> Result<(), Error> {
        let records = s.records.as_ref();
        let key = format!("{tenant}/{id}");
        if let Some(r) = VERIFICATIONS.get(records, &key).await?
            && let Some(cert) = &r.value.certificate_key
        {
            s.blobs.delete(cert).await?;
            VERIFICATIONS
                .update(records, &key, |r| r.certificate_key.take().is_some())
                .await?;
        }
        Ok(())
    }

    async fn review_decided(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        outcome: &ReviewOutcome,
    ) -> Result<(), Error> {
        // Re-applied on a conflict: the certificate may be issued meanwhile.
        let updated = VERIFICATIONS
            .update(s.records.as_ref(), &format!("{tenant}/{id}"), |u| {
                u.manual = Some(outcome.clone());
                true
            })
            .await?;
        let Some(updated) = updated else {
            return Ok(()); // not a LINK verification
        };
        let requested = updated.manual_verification_callback.as_deref();
        if let Some(url) =
            idv_core::callbacks::url_or_default(s.records.as_ref(), tenant, requested).await?
        {
            let event = idv_core::callbacks::event_id(tenant, id, "manual");
            let callback = ManualCallback::new(id, outcome);
            idv_core::callbacks::enqueue(
                s.records.as_ref(),
                s.queue.as_ref(),
                tenant,
                &event,
                &url,
                &callback,
            )
            .await?;
        }
        if updated.certify {
            // The certificate states this decision; its callback follows the one above.
            super::certify::enqueue(s, tenant, id).await?;
        }
        Ok(())
    }
}

/// Erases a LINK verification of `tenant`: its answer (the fields read), the certificate's
/// material and thumbnails. The certificate itself is kept.
async fn erase_link(
    state: &Services,
    tenant: &str,
    id: &str,
    keep_certificate: bool,
) -> Result<Option<Tombstone>, Error> {
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
        deleted_at: idv_core::clock::timestamp(),
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
