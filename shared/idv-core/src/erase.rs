//! Erasure: a verification's images and personal data go everywhere idv keeps them (each
//! dialect's records, the review case, undelivered callbacks); a tombstone (decision, times,
//! input hashes) and the certificate, which holds no original image and masks document
//! numbers, are kept.

use crate::error::Error;
use crate::records::{
    CALLBACKS, CASES, CallbackStatus, CaseStatus, ExtractedData, TOMBSTONES, Tombstone,
};
use crate::services::Services;

/// Erases verification `id` of `tenant` (in whichever dialect holds it, with its review case
/// and undelivered callbacks) and records its tombstone; the tombstone, or `None` when there
/// is no such verification. Erasing twice gives the first tombstone. The caller scrubs the
/// record store afterwards (once for a batch).
pub async fn erase(
    state: &Services,
    tenant: &str,
    id: &str,
    keep_certificate: bool,
) -> Result<Option<Tombstone>, Error> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    if let Some(t) = TOMBSTONES.get(records, &key).await? {
        return Ok(Some(t.value));
    }
    let mut erased = None;
    for d in state.dialects.iter() {
        erased = d.erase(state, tenant, id, keep_certificate).await?;
        if erased.is_some() {
            break;
        }
    }
    let Some(tomb) = erased else {
        return Ok(None);
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
/// step): each dialect's images (Kairos inputs, certificate thumbnails, uploads) and the
/// review case's. Returns how many images
/// went.
pub async fn purge_images(state: &Services, tenant: &str, id: &str) -> Result<usize, Error> {
    let records = state.records.as_ref();
    let mut keys = Vec::new();
    for d in state.dialects.iter() {
        keys.extend(d.purge_images(state, tenant, id).await?);
    }
    let key = format!("{tenant}/{id}");
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
    for k in &keys {
        state.blobs.delete(k).await?;
    }
    Ok(keys.len())
}

/// Erases the review case of `id`, if any: its images and extracted data; the case is closed.
async fn erase_case(state: &Services, tenant: &str, id: &str) -> Result<(), Error> {
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
