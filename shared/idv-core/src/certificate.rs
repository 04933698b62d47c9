//! The certificate of a LINK verification, from its recorded material: what the PDF shows,
//! with document and personal numbers masked on request. Rendering and signing are
//! `idv_certify`'s; the certification worker is `certify`.

use std::io::Cursor;
use std::sync::Arc;

use idv_certify::{Certificate, Row, Section, SignPdf};
use idv_document::Field;
use image::RgbImage;

use crate::records::{Band, CertificationMaterial, Finding, ReviewOutcome};

/// What the certification function needs besides the stores.
pub struct Certifier {
    /// Signs and timestamps the rendered PDF (`idv_certify::Signer`, in the certification
    /// function and `idv serve`).
    pub signer: Arc<dyn SignPdf>,
    /// Base URL of `GET /certificate/{id}` in the callback.
    pub public_url: String,
    /// Show only the first 3 and last 2 characters of document and personal numbers.
    pub mask_numbers: bool,
    /// The operator issuing certificates (legal name, contact), named on every page.
    pub issuer: idv_certify::Issuer,
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

fn row(label: impl Into<String>, value: impl Into<String>) -> Row {
    Row {
        label: label.into(),
        value: value.into(),
    }
}

/// A score with what it measures and the profile's thresholds, in words.
fn score(s: Option<f32>, band: Option<Band>, meaning: &str) -> String {
    let Some(x) = s.map(f64::from) else {
        return format!("not measured. {meaning}");
    };
    let verdict = match band {
        Some(b) if x < b.reject_below => "below the reject threshold",
        Some(b) if x < b.review_below => "below the review threshold",
        Some(_) => "passes",
        None => "no threshold",
    };
    match band {
        Some(b) => format!(
            "{x:.4}: {verdict}. {meaning} The profile rejects below {} and sends to manual review below {}.",
            b.reject_below, b.review_below
        ),
        None => format!("{x:.4}. {meaning}"),
    }
}

/// `APPROVED`, `NOT_APPROVED` or `REJECTED`: a manual review's verdict on the document.
pub fn manual_verdict(o: &ReviewOutcome) -> &'static str {
    if !o.document_accepted() {
        "REJECTED"
    } else if o.document_approved() {
        "APPROVED"
    } else {
        "NOT_APPROVED"
    }
}

fn finding_row(label: &str, f: &Finding) -> Row {
    let value = if f.reasons.is_empty() {
        f.result.clone()
    } else {
        format!("{} ({})", f.result, f.reasons.join(", "))
    };
    row(label, value)
}

/// The rows of a manual review.
fn manual_rows(o: &ReviewOutcome, automatic: &str) -> Vec<Row> {
    let mut rows = vec![
        row("Decision", manual_verdict(o)),
        row("Automatic result before review", automatic),
        finding_row("Document acceptance", &o.acceptance),
    ];
    for (label, f) in [
        ("Authenticity", &o.authenticity),
        ("Originality", &o.originality),
        ("Validity", &o.validity),
    ] {
        if let Some(f) = f {
            rows.push(finding_row(label, f));
        }
    }
    rows.push(finding_row("Face acceptance", &o.face_acceptance));
    if let Some(v) = &o.face_comparison_approval {
        rows.push(row("Face comparison", v.clone()));
    }
    if let Some(v) = &o.face_liveness_approval {
        rows.push(row("Face liveness", v.clone()));
    }
    rows
}

/// The certificate of request `id` for `tenant` (its display name); `thumbnails` are the material's images as
/// stored (caption, PNG). With a manual review, its decision is the certificate's.
pub fn certificate(
    c: &Certifier,
    tenant: &str,
    id: &str,
    m: &CertificationMaterial,
    manual: Option<&ReviewOutcome>,
    thumbnails: Vec<(String, Vec<u8>)>,
    processed_at: String,
) -> Certificate {
    let mut doc_rows = Vec::new();
    if let Some(d) = &m.data {
        let text = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
        for (label, value, masked) in [
            ("Document number", text(&d.document_number), true),
            ("Personal number", text(&d.personal_number), true),
            ("Full name", text(&d.full_name), false),
            ("Date of birth", text(&d.dob), false),
            ("Sex", text(&d.sex), false),
            ("Nationality", text(&d.nationality_full), false),
            ("Issuing country", text(&d.country_full), false),
            ("Expiry", text(&d.expiry), false),
        ] {
            if let Some(v) = value {
                let v = if masked && c.mask_numbers {
                    mask(&v)
                } else {
                    v
                };
                doc_rows.push(row(label, v));
            }
        }
    }
    let mut checks: Vec<Row> = m
        .decision
        .details
        .iter()
        .map(|d| {
            let decision = serde_json::to_value(d.decision).unwrap_or_default();
            row(
                format!("{} ({})", d.code, decision.as_str().unwrap_or_default()),
                d.description.clone(),
            )
        })
        .collect();
    if checks.is_empty() {
        checks.push(row(
            "All checks passed",
            "no reject, review or warning findings",
        ));
    }
    let biometrics = vec![
        row(
            "Face match",
            score(
                m.face_match,
                m.thresholds.map(|t| t.face_match),
                "How alike the selfie and the document portrait are, from 0 (different people) to 1 (the same face).",
            ),
        ),
        row(
            "Selfie liveness",
            score(
                m.liveness,
                m.thresholds.map(|t| t.liveness),
                "How likely the selfie shows a live person rather than a photo, a print or a screen, from 0 to 1.",
            ),
        ),
        row("Profile", m.profile.clone()),
    ];
    if let Some(chip) = &m.chip {
        doc_rows.push(row("Chip", chip.line()));
    }
    if let Some(country) = &m.expeditor_country {
        let agreed = match m.expeditor_matched {
            Some(true) => "the document names it",
            Some(false) => "the document names another country",
            None => "the document's country was not read",
        };
        doc_rows.push(row(
            "Issuing country requested",
            format!("{country}: {agreed}"),
        ));
    }
    let inputs = m
        .inputs
        .iter()
        .map(|i| row(i.name.clone(), format!("SHA-256 {}", i.sha256)))
        .collect();
    let models = m
        .models
        .iter()
        .map(|x| row(x.file.clone(), x.package.clone()))
        .collect();
    let section = |title: &str, rows| Section {
        title: title.into(),
        rows,
    };
    let mut sections = Vec::new();
    let decision = match manual {
        Some(o) => {
            sections.push(section("Manual review", manual_rows(o, &m.outcome)));
            manual_verdict(o).to_string()
        }
        None => m.outcome.clone(),
    };
    sections.extend([
        section("Checks", checks),
        section("Document", doc_rows),
        section("Biometrics", biometrics),
        section("Inputs", inputs),
        section("Models", models),
    ]);
    Certificate {
        request_id: id.into(),
        issuer: c.issuer.clone(),
        signed_by: c.signer.signer_name(),
        tenant: tenant.into(),
        received_at: m.received_at.clone(),
        processed_at,
        decision,
        sections,
        thumbnails,
        created_unix: crate::clock::unix() as i64,
    }
}
