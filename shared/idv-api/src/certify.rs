//! Certification (LINK `certify`): at verification time the material is recorded (fields,
//! scores, thresholds, SHA-256 of each input, PNG thumbnails); the certification worker
//! renders, signs and timestamps the PDF, stores it, and enqueues the `Certification` callback.

use std::io::Cursor;
use std::sync::Arc;

use idv_certify::{Certificate, Row, Section, SignPdf};
use idv_pipeline::Verification;
use idv_store::BlobKey;
use image::RgbImage;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::link::{CERTIFY_QUEUE, VERIFICATIONS};
use crate::state::AppState;

/// What the certification function needs besides the stores.
pub struct Certifier {
    /// Signs and timestamps the rendered PDF (`idv_certify::Signer`, in the certification
    /// function and `idv serve`).
    pub signer: Arc<dyn SignPdf>,
    /// Base URL of `GET /certificate/{id}` in the callback.
    pub public_url: String,
    /// Show only the first 3 and last 2 characters of document and personal numbers.
    pub mask_numbers: bool,
}

/// Masks all but the first 3 and last 2 characters.
pub fn mask(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    if c.len() <= 5 {
        return "*".repeat(c.len());
    }
    c.iter()
        .enumerate()
        .map(|(i, ch)| if i < 3 || i >= c.len() - 2 { *ch } else { '*' })
        .collect()
}

/// A PNG thumbnail at most 360 px on its longer side.
pub fn thumbnail(img: &RgbImage) -> Vec<u8> {
    let t = image::imageops::thumbnail(
        img,
        (img.width() * 360 / img.width().max(img.height())).max(1),
        (img.height() * 360 / img.width().max(img.height())).max(1),
    );
    let mut out = Cursor::new(Vec::new());
    let _ = t.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// The certification material of a verification, recorded when it is accepted.
pub async fn record_material(
    state: &AppState,
    tenant: &str,
    id: &str,
    v: &Verification,
    inputs: &[(&str, &[u8], &RgbImage)],
) -> Result<Value, ApiError> {
    let mut thumbs = Vec::new();
    for (i, (name, _, img)) in inputs.iter().enumerate() {
        let key = BlobKey::temporary(format!("{tenant}/certify/{id}/thumb-{i}.png"))?;
        state.blobs.put(&key, thumbnail(img), "image/png").await?;
        thumbs.push(json!({"caption": name, "key": key}));
    }
    let data = match &v.document {
        Some(Ok(d)) => serde_json::to_value(&d.data).unwrap_or_default(),
        _ => Value::Null,
    };
    let profile = idv_pipeline::profile::find(&v.profile);
    Ok(json!({
        "received_at": crate::kairos::timestamp(),
        "outcome": format!("{:?}", v.decision.outcome()).to_uppercase(),
        "decision": v.decision,
        "data": data,
        "face_match": match &v.face_match { Some(Ok(m)) => json!(m.confidence), _ => Value::Null },
        "liveness": match &v.selfie { Some(Ok(s)) => json!(s.liveness), _ => Value::Null },
        "profile": v.profile,
        "thresholds": profile.map(|p| json!({"face_match": p.face_match, "liveness": p.liveness})),
        "inputs": inputs.iter().map(|(n, b, _)| json!({"name": n, "sha256": sha256_hex(b)})).collect::<Vec<_>>(),
        "thumbnails": thumbs,
        // The models that produced this result, as deployed where it ran.
        "models": state.engines.iter().flat_map(|e| &e.models)
            .map(|(file, package)| json!({"file": file, "package": package}))
            .collect::<Vec<_>>(),
    }))
}

fn field(data: &Value, name: &str) -> Option<String> {
    let v = &data[name]["value"];
    v.as_str()
        .map(str::to_string)
        .or_else(|| v.as_i64().map(|n| n.to_string()))
}

/// The certificate of a recorded verification.
async fn certificate(
    state: &AppState,
    c: &Certifier,
    tenant: &str,
    id: &str,
    m: &Value,
) -> Result<Certificate, ApiError> {
    let data = &m["data"];
    let mut doc_rows = Vec::new();
    for (label, name, masked) in [
        ("Document number", "document_number", true),
        ("Personal number", "personal_number", true),
        ("Full name", "full_name", false),
        ("Date of birth", "dob", false),
        ("Sex", "sex", false),
        ("Nationality", "nationality_full", false),
        ("Issuing country", "country_full", false),
        ("Expiry", "expiry", false),
    ] {
        if let Some(v) = field(data, name) {
            let value = if masked && c.mask_numbers {
                mask(&v)
            } else {
                v
            };
            doc_rows.push(Row {
                label: label.into(),
                value,
            });
        }
    }
    let checks: Vec<Row> = m["decision"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| Row {
            label: format!(
                "{} ({})",
                d["code"].as_str().unwrap_or_default(),
                d["decision"].as_str().unwrap_or_default()
            ),
            value: d["description"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let checks = if checks.is_empty() {
        vec![Row {
            label: "All checks passed".into(),
            value: "no reject, review or warning findings".into(),
        }]
    } else {
        checks
    };
    let t = &m["thresholds"];
    let score = |v: &Value| {
        v.as_f64()
            .map_or("not measured".to_string(), |x| format!("{x:.4}"))
    };
    let biometrics = vec![
        Row {
            label: "Face match".into(),
            value: format!(
                "{}  (reject below {}, review below {})",
                score(&m["face_match"]),
                t["face_match"]["reject_below"],
                t["face_match"]["review_below"]
            ),
        },
        Row {
            label: "Selfie liveness".into(),
            value: format!(
                "{}  (reject below {}, review below {})",
                score(&m["liveness"]),
                t["liveness"]["reject_below"],
                t["liveness"]["review_below"]
            ),
        },
        Row {
            label: "Profile".into(),
            value: m["profile"].as_str().unwrap_or_default().into(),
        },
    ];
    let inputs: Vec<Row> = m["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| Row {
            label: i["name"].as_str().unwrap_or_default().into(),
            value: format!("SHA-256 {}", i["sha256"].as_str().unwrap_or_default()),
        })
        .collect();
    let models: Vec<Row> = m["models"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| Row {
            label: x["file"].as_str().unwrap_or_default().to_string(),
            value: x["package"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let mut thumbnails = Vec::new();
    for t in m["thumbnails"].as_array().into_iter().flatten() {
        if let Some(png) = state
            .blobs
            .get(t["key"].as_str().unwrap_or_default())
            .await?
        {
            thumbnails.push((t["caption"].as_str().unwrap_or_default().to_string(), png));
        }
    }
    Ok(Certificate {
        request_id: id.into(),
        tenant: tenant.into(),
        received_at: m["received_at"].as_str().unwrap_or_default().into(),
        processed_at: crate::kairos::timestamp(),
        decision: m["outcome"].as_str().unwrap_or("UNKNOWN").into(),
        sections: vec![
            Section {
                title: "Checks".into(),
                rows: checks,
            },
            Section {
                title: "Document".into(),
                rows: doc_rows,
            },
            Section {
                title: "Biometrics".into(),
                rows: biometrics,
            },
            Section {
                title: "Inputs".into(),
                rows: inputs,
            },
            Section {
                title: "Models".into(),
                rows: models,
            },
        ],
        thumbnails,
        created_unix: (idv_store::now_ms() / 1000) as i64,
    })
}

/// Processes one certification message; returns once it may be deleted.
pub async fn run(state: &AppState, c: &Arc<Certifier>, body: &str) -> Result<(), ApiError> {
    let Some(msg) = crate::messages::decode::<crate::messages::Certify>(CERTIFY_QUEUE, body) else {
        return Ok(());
    };
    let (tenant, id) = (msg.tenant.as_str(), msg.id.as_str());
    let key = format!("{tenant}/{id}");
    let Some(rec) = state.records.get(VERIFICATIONS, &key).await? else {
        return Ok(());
    };
    if rec.value["certificateKey"].is_string() {
        return Ok(()); // redelivered: already certified
    }
    let material = rec.value["certification"].clone();
    let cert = certificate(state, c, tenant, id, &material).await?;
    let c2 = c.clone();
    let signed_at = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "D:[year][month][day][hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let pdf = tokio::task::spawn_blocking(move || {
        let pdf = idv_certify::render(&cert)?;
        c2.signer.sign_pdf(pdf, &signed_at)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let pdf_key = BlobKey::kept(format!("{tenant}/certificates/{id}.pdf"))?;
    state.blobs.put(&pdf_key, pdf, "application/pdf").await?;
    let pdf_key = pdf_key.to_string();
    // Re-applied on a conflict: a manual-review decision may land on the record meanwhile.
    let updated = crate::state::update(state.records.as_ref(), VERIFICATIONS, &key, |v| {
        if v["certificateKey"].is_string() {
            return false; // another delivery finished first
        }
        v["certificateKey"] = json!(pdf_key);
        v["response"]["certification"] = json!({"status": "Completed"});
        true
    })
    .await?;
    let Some(updated) = updated else {
        return Ok(());
    };
    if let Some(url) = callback_url(state, tenant, &updated).await? {
        let callback = json!({
            "id": id, "service": "Certification", "status": "Completed",
            "data": {"urlCertificateFile": format!("{}/certificate/{id}", c.public_url)},
        });
        crate::callbacks::enqueue(state, tenant, &url, &callback).await?;
    }
    tracing::info!(request = %id, "certificate issued");
    Ok(())
}

/// Certification attempts before giving up with an `Error` callback.
pub const MAX_ATTEMPTS: u32 = 3;

/// Records a certification that could not be produced and sends the `Error` callback.
pub async fn failed(state: &AppState, body: &str, e: &ApiError) -> Result<(), ApiError> {
    let Some(msg) = crate::messages::decode::<crate::messages::Certify>(CERTIFY_QUEUE, body) else {
        return Ok(());
    };
    let (tenant, id) = (msg.tenant.as_str(), msg.id.as_str());
    tracing::error!(request = %id, error = %e.message, "certification failed");
    let key = format!("{tenant}/{id}");
    let updated = crate::state::update(state.records.as_ref(), VERIFICATIONS, &key, |v| {
        v["response"]["certification"] = json!({"status": "Error"});
        true
    })
    .await?;
    let Some(updated) = updated else {
        return Ok(());
    };
    if let Some(url) = callback_url(state, tenant, &updated).await? {
        let callback = json!({"id": id, "service": "Certification", "status": "Error", "data": {}});
        crate::callbacks::enqueue(state, tenant, &url, &callback).await?;
    }
    Ok(())
}

/// The request's callback URL, else the tenant's default one.
async fn callback_url(
    state: &AppState,
    tenant: &str,
    rec: &Value,
) -> Result<Option<String>, ApiError> {
    if let Some(u) = rec["certifyCallback"]
        .as_str()
        .filter(|u| !u.trim().is_empty())
    {
        return Ok(Some(u.to_string()));
    }
    Ok(state
        .records
        .get("tenants", tenant)
        .await?
        .and_then(|t| t.value["callback_url"].as_str().map(str::to_string))
        .filter(|u| !u.is_empty()))
}
