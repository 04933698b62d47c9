//! LINK's certification (`certify`): at verification time the material is recorded (fields,
//! scores, thresholds, SHA-256 of each input, PNG thumbnails); the certification job renders,
//! signs and timestamps the PDF with the core's [`Certifier`], stores it, and enqueues the
//! `Certification` callback.

use std::sync::Arc;

use idv_pipeline::Verification;
use idv_store::BlobKey;
use image::RgbImage;
use serde::Serialize;

use crate::dialects::link::records::{Progress, VERIFICATIONS};
use idv_core::Services;
use idv_core::digest::sha256_hex;

use super::wire::expeditor_agrees;
use idv_core::Error;
use idv_core::certificate::{Certifier, certificate, thumbnail};
use idv_core::jobs::{Job, Next};
use idv_core::messages::{self, CERTIFY_QUEUE, Certify};
use idv_core::records::{CertificationMaterial, InputDigest, Thresholds, Thumbnail};

/// The certification material of a verification, recorded when it is accepted; `inputs`
/// are (caption, bytes as received, decoded image); `expeditor` the issuing country the
/// request named.
pub async fn record_material(
    state: &Services,
    tenant: &str,
    id: &str,
    v: &Verification,
    inputs: &[(&str, &[u8], &RgbImage)],
    expeditor: Option<&str>,
) -> Result<CertificationMaterial, Error> {
    let data = v.document_data();
    // A second image of a passport is not its back: captions follow what was read.
    let passport = data
        .and_then(|d| d.document_type.as_ref())
        .is_some_and(|t| t.value == "passport");
    let caption = |c: &str| match c {
        "Document back" if passport => "Document, second image".to_string(),
        c => c.to_string(),
    };
    let mut thumbnails = Vec::new();
    for (i, (name, _, img)) in inputs.iter().enumerate() {
        let caption = caption(name);
        let key = BlobKey::temporary(format!("{tenant}/certify/{id}/thumb-{i}.png"))?;
        state.blobs.put(&key, thumbnail(img), "image/png").await?;
        thumbnails.push(Thumbnail {
            caption: caption.to_string(),
            key: key.to_string(),
        });
    }
    Ok(CertificationMaterial {
        received_at: idv_core::clock::timestamp(),
        outcome: idv_core::records::outcome_label(v),
        decision: v.decision.clone(),
        data: data.cloned(),
        expeditor_country: expeditor.map(str::to_string),
        expeditor_matched: data.and_then(|d| expeditor_agrees(expeditor, d)),
        face_match: v.face_match_confidence(),
        liveness: v.liveness(),
        profile: v.profile.clone(),
        thresholds: idv_pipeline::profile::find(&v.profile).map(|p| Thresholds {
            face_match: p.face_match,
            liveness: p.liveness,
        }),
        inputs: inputs
            .iter()
            .map(|(name, bytes, _)| InputDigest {
                name: name.to_string(),
                sha256: sha256_hex(bytes),
            })
            .collect(),
        thumbnails,
        models: state.models_used(),
        chip: idv_core::records::ChipSummary::of(v),
    })
}

/// LINK's `Certification` callback.
#[derive(Debug, Serialize)]
pub struct CertificationCallback {
    pub id: String,
    /// Always `Certification`.
    pub service: &'static str,
    /// `Completed` or `Error`.
    pub status: Progress,
    pub data: CertificationData,
}

/// `data` of the `Certification` callback (empty on `Error`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificationData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_certificate_file: Option<String>,
}

/// Queues the certification of request `id` (at once, or after the manual review).
pub async fn enqueue(state: &Services, tenant: &str, id: &str) -> Result<(), Error> {
    let msg = messages::encode(&Certify {
        tenant: tenant.to_owned(),
        id: id.to_owned(),
    });
    state.queue.send(CERTIFY_QUEUE, &msg).await?;
    Ok(())
}

/// Processes one certification message; returns once it may be deleted.
async fn run(state: &Services, c: &Arc<Certifier>, body: &str) -> Result<(), Error> {
    let Some(msg) = messages::decode::<Certify>(CERTIFY_QUEUE, body) else {
        return Ok(());
    };
    let (tenant, id) = (msg.tenant.as_str(), msg.id.as_str());
    let key = format!("{tenant}/{id}");
    let Some(rec) = VERIFICATIONS.get(state.records.as_ref(), &key).await? else {
        return Ok(());
    };
    if rec.value.certificate_key.is_some() || rec.value.deleted_at.is_some() {
        return Ok(()); // redelivered (already certified), or erased before its turn
    }
    if rec.value.manual_verification && rec.value.manual.is_none() {
        // Queued by an earlier version before the review: the decision enqueues it again.
        return Ok(());
    }
    let manual = rec.value.manual;
    let Some(material) = rec.value.certification else {
        return Err(Error::internal("no certification material recorded"));
    };
    let mut thumbnails = Vec::new();
    for t in &material.thumbnails {
        if let Some(png) = state.blobs.get(&t.key).await? {
            thumbnails.push((t.caption.clone(), png));
        }
    }
    // The customer's name, not the internal id.
    let name = idv_core::records::TENANTS
        .get(state.records.as_ref(), tenant)
        .await?
        .map_or_else(|| tenant.to_string(), |t| t.value.name);
    let cert = certificate(
        c,
        &name,
        id,
        &material,
        manual.as_ref(),
        thumbnails,
        idv_core::clock::timestamp(),
    );
    let signer = c.signer.clone();
    let signed_at = idv_core::clock::pdf_date();
    let pdf = tokio::task::spawn_blocking(move || {
        let pdf = idv_certify::render(&cert)?;
        signer.sign_pdf(pdf, &signed_at)
    })
    .await
    .map_err(Error::internal)?
    .map_err(Error::internal)?;
    let pdf_key = BlobKey::kept(format!("{tenant}/certificates/{id}.pdf"))?;
    state.blobs.put(&pdf_key, pdf, "application/pdf").await?;
    // Re-applied on a conflict: a manual-review decision may land on the record meanwhile.
    let updated = VERIFICATIONS
        .update(state.records.as_ref(), &key, |v| {
            if v.certificate_key.is_some() {
                return false; // another delivery finished first
            }
            v.certificate_key = Some(pdf_key.to_string());
            v.certification_progress = Some(Progress::Completed);
            true
        })
        .await?;
    let Some(updated) = updated else {
        return Ok(());
    };
    if let Some(url) = idv_core::callbacks::url_or_default(
        state.records.as_ref(),
        tenant,
        updated.certify_callback.as_deref(),
    )
    .await?
    {
        let callback = CertificationCallback {
            id: id.to_string(),
            service: "Certification",
            status: Progress::Completed,
            data: CertificationData {
                url_certificate_file: Some(format!("{}/certificate/{id}", c.public_url)),
            },
        };
        let event = idv_core::callbacks::event_id(tenant, id, "certification");
        idv_core::callbacks::enqueue(
            state.records.as_ref(),
            state.queue.as_ref(),
            tenant,
            &event,
            &url,
            &callback,
        )
        .await?;
    }
    tracing::info!(request = %id, "certificate issued");
    Ok(())
}

/// Certification attempts before giving up with an `Error` callback.
pub const MAX_ATTEMPTS: u32 = 3;

/// Records a certification that could not be produced and sends the `Error` callback.
async fn failed(state: &Services, body: &str, e: &Error) -> Result<(), Error> {
    let Some(msg) = messages::decode::<Certify>(CERTIFY_QUEUE, body) else {
        return Ok(());
    };
    let (tenant, id) = (msg.tenant.as_str(), msg.id.as_str());
    tracing::error!(request = %id, error = %e.message, "certification failed");
    let key = format!("{tenant}/{id}");
    let updated = VERIFICATIONS
        .update(state.records.as_ref(), &key, |v| {
            v.certification_progress = Some(Progress::Error);
            true
        })
        .await?;
    let Some(updated) = updated else {
        return Ok(());
    };
    if let Some(url) = idv_core::callbacks::url_or_default(
        state.records.as_ref(),
        tenant,
        updated.certify_callback.as_deref(),
    )
    .await?
    {
        let callback = CertificationCallback {
            id: id.to_string(),
            service: "Certification",
            status: Progress::Error,
            data: CertificationData {
                url_certificate_file: None,
            },
        };
        let event = idv_core::callbacks::event_id(tenant, id, "certification");
        idv_core::callbacks::enqueue(
            state.records.as_ref(),
            state.queue.as_ref(),
            tenant,
            &event,
            &url,
            &callback,
        )
        .await?;
    }
    Ok(())
}

/// The consumer of the certification queue: certificates rendered, signed and sent; the last
/// failed attempt sends the `Error` callback. Runs where a signer is configured.
pub struct CertifyJob;

#[async_trait::async_trait]
impl Job for CertifyJob {
    fn queue(&self) -> &'static str {
        CERTIFY_QUEUE
    }

    fn enabled(&self, s: &Services) -> bool {
        s.certifier.is_some()
    }

    async fn handle(&self, s: &Services, body: &str, attempt: u32) -> Result<Next, Error> {
        let Some(c) = s.certifier.clone() else {
            return Err(Error::internal("certification is not configured"));
        };
        match run(s, &c, body).await {
            Ok(()) => Ok(Next::Done),
            // The last attempt: tell the client with an Error callback.
            Err(e) if attempt >= MAX_ATTEMPTS => {
                failed(s, body, &e).await?;
                Ok(Next::Done)
            }
            Err(e) => Err(e),
        }
    }
}
