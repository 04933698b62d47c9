//! Document checks with stable codes: what is wrong with a document, how sure idv is, and
//! the default decision (profiles may change decisions and thresholds later).

use serde::Serialize;

use crate::data::DocumentData;
use crate::quality::Quality;
use crate::specimens;
use crate::zone::Zone;

/// How a finding weighs on the verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Reject,
    Review,
    Warning,
}

/// One finding about the document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// Stable code, e.g. `DOCUMENT_EXPIRED`.
    pub code: &'static str,
    pub confidence: f64,
    pub decision: Decision,
    pub description: String,
}

/// Thresholds the checks use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckSettings {
    /// Holders younger than this are `UNDERAGE`.
    pub minimum_age: i64,
    /// Laplacian variance below which the image is `IMAGE_TOO_BLURRY`.
    pub blur_threshold: f32,
    /// Share of the document area covered by saturated highlights above which it is `GLARE`.
    pub glare_threshold: f32,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            minimum_age: 18,
            blur_threshold: 40.0,
            glare_threshold: 0.005,
        }
    }
}

fn check(code: &'static str, confidence: f64, decision: Decision, description: String) -> Check {
    Check {
        code,
        confidence,
        decision,
        description,
    }
}

/// `DOCUMENT_EXPIRED` and `UNDERAGE` from the dates read.
fn dated(data: &DocumentData, settings: &CheckSettings) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(days) = &data.days_to_expiry
        && days.value < 0
    {
        // Sure when the date is covered by a check digit or an error-corrected barcode.
        let confidence = if days.confidence >= 0.98 { 0.995 } else { 0.7 };
        out.push(check(
            "DOCUMENT_EXPIRED",
            confidence,
            Decision::Reject,
            format!("Document has already expired ({} days ago).", -days.value),
        ));
    }
    if let Some(age) = &data.age
        && age.value < settings.minimum_age
    {
        out.push(check(
            "UNDERAGE",
            age.confidence,
            Decision::Reject,
            format!(
                "Holder is {} years old; the minimum is {}.",
                age.value, settings.minimum_age
            ),
        ));
    }
    out
}

/// Checks on extracted data, whatever it was read from: expiry, age, specimen names.
pub fn data_checks(data: &DocumentData, settings: &CheckSettings) -> Vec<Check> {
    let mut out = dated(data, settings);
    let text = |f: &Option<crate::data::Field<String>>| {
        f.as_ref()
            .map(|f| f.value.to_uppercase())
            .unwrap_or_default()
    };
    let given = [text(&data.first_name), text(&data.middle_name)].join(" ");
    if let Some(why) = specimens::match_specimen(
        &text(&data.country_iso3),
        &text(&data.document_number),
        &text(&data.last_name),
        given.trim(),
    ) {
        out.push(fake(&why));
    }
    out
}

fn fake(why: &str) -> Check {
    check(
        "FAKE_ID",
        1.0,
        Decision::Reject,
        format!(
            "The document uploaded is a fake or sample document, not an authentic document: {why}."
        ),
    )
}

/// `FAKE_ID` when printed text on the document carries a specimen word (SPECIMEN, SAMPLE, …).
pub fn specimen_text(lines: &[String]) -> Option<Check> {
    specimens::specimen_word(lines).map(|w| fake(&format!("the document is printed with \"{w}\"")))
}

/// Checks on the read zone and data.
pub fn zone_checks(zone: &Zone, data: &DocumentData, settings: &CheckSettings) -> Vec<Check> {
    let mut out = dated(data, settings);
    if !zone.valid {
        let failed: Vec<&str> = [
            ("document number", zone.checks.document_number),
            ("date of birth", zone.checks.birth_date),
            ("date of expiry", zone.checks.expiry_date),
            ("personal number", zone.checks.personal_number),
            ("composite", zone.checks.composite),
        ]
        .iter()
        .filter(|(_, c)| *c == Some(false))
        .map(|(n, _)| *n)
        .collect();
        out.push(check(
            "MRZ_CHECKSUM_FAILED",
            1.0,
            Decision::Reject,
            format!("MRZ check digits do not verify: {}.", failed.join(", ")),
        ));
    }
    let p = &zone.parsed;
    let number = data
        .document_number
        .as_ref()
        .map(|f| f.value.as_str())
        .unwrap_or("");
    if let Some(why) =
        specimens::match_specimen(&p.issuing_country, number, &p.surname, &p.given_names)
    {
        out.push(fake(&why));
    }
    out
}

/// Disagreements between two reads of one document (front print vs back barcode, printed
/// fields vs MRZ): `FRONT_BACK_MISMATCH` between sides, `VIZ_MRZ_MISMATCH` between the printed
/// fields and the MRZ. Only fields both sources read are compared.
pub fn sources_agree(
    a: &DocumentData,
    b: &DocumentData,
    a_name: &str,
    b_name: &str,
) -> Option<Check> {
    let norm = |f: &Option<crate::data::Field<String>>, key: &str| {
        f.as_ref().map(|f| crate::truth::normalise(key, &f.value))
    };
    let mut diffs = Vec::new();
    for (name, x, y, key) in [
        ("surname", &a.last_name, &b.last_name, "last_name"),
        ("given name", &a.first_name, &b.first_name, "first_name"),
        ("date of birth", &a.dob, &b.dob, "dob"),
        (
            "document number",
            &a.document_number,
            &b.document_number,
            "document_number",
        ),
        ("date of expiry", &a.expiry, &b.expiry, "expiry"),
    ] {
        if let (Some(x), Some(y)) = (norm(x, key), norm(y, key))
            && x != y
        {
            diffs.push(name);
        }
    }
    let code = if [a_name, b_name].contains(&"MRZ") && [a_name, b_name].contains(&"printed fields")
    {
        "VIZ_MRZ_MISMATCH"
    } else {
        "FRONT_BACK_MISMATCH"
    };
    // Printed fields are read by OCR, which can misread: a person looks before rejecting.
    let decision = if [a_name, b_name].contains(&"printed fields") {
        Decision::Review
    } else {
        Decision::Reject
    };
    (!diffs.is_empty()).then(|| {
        check(
            code,
            0.9,
            decision,
            format!(
                "The {a_name} and the {b_name} disagree: {}.",
                diffs.join(", ")
            ),
        )
    })
}

/// `VIZ_MRZ_MISMATCH`: the printed licence number is not in the licence's MRZ line.
pub fn licence_line_mismatch(number: &str) -> Check {
    check(
        "VIZ_MRZ_MISMATCH",
        0.9,
        Decision::Review,
        format!(
            "The printed licence number ({} characters) does not appear in the machine-readable line.",
            number.chars().count()
        ),
    )
}

/// `MRZ_NOT_FOUND` (a document without a readable zone).
pub fn zone_missing(detail: &str) -> Check {
    check(
        "MRZ_NOT_FOUND",
        0.9,
        Decision::Review,
        format!("No machine-readable zone could be read: {detail}."),
    )
}

/// Image-quality checks.
pub fn quality_checks(q: &Quality, settings: &CheckSettings) -> Vec<Check> {
    let mut out = Vec::new();
    if q.sharpness < settings.blur_threshold {
        out.push(check(
            "IMAGE_TOO_BLURRY",
            f64::from((1.0 - q.sharpness / settings.blur_threshold).clamp(0.5, 1.0)),
            Decision::Review,
            format!(
                "Image is too blurry: sharpness {:.1} < {:.1}.",
                q.sharpness, settings.blur_threshold
            ),
        ));
    }
    if q.glare > settings.glare_threshold {
        out.push(check(
            "GLARE",
            f64::from((q.glare / (2.0 * settings.glare_threshold)).clamp(0.5, 1.0)),
            Decision::Warning,
            format!("Glare covers {:.1} % of the image.", q.glare * 100.0),
        ));
    }
    out
}

/// `FRONT_BACK_MISMATCH` when two sides name different documents or holders.
pub fn front_back(front: &Zone, back: &Zone) -> Option<Check> {
    let (f, b) = (&front.parsed, &back.parsed);
    let mut diffs = Vec::new();
    if f.document_number != b.document_number {
        diffs.push("document number");
    }
    if f.date_of_birth != b.date_of_birth {
        diffs.push("date of birth");
    }
    if f.surname != b.surname {
        diffs.push("surname");
    }
    (!diffs.is_empty()).then(|| {
        check(
            "FRONT_BACK_MISMATCH",
            1.0,
            Decision::Reject,
            format!(
                "Front and back of the document disagree: {}.",
                diffs.join(", ")
            ),
        )
    })
}
