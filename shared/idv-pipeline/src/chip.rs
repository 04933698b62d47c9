//! The chip part of a verification: Passive and Active Authentication (`idv-chip`), DG1
//! against the printed MRZ the document part read, and DG2's portrait against the selfie and
//! the printed portrait.

use idv_chip::{Chip, TrustStore};
use serde::Serialize;

use crate::profile::Band;

/// What the pipeline is given of a chip.
pub struct ChipInput<'a> {
    pub chip: &'a Chip,
    pub trust: &'a TrustStore,
    /// Why Active Authentication was asked for and could not be judged (the challenge was
    /// unknown, used or expired).
    pub aa_refused: Option<&'a str>,
}

/// DG2's portrait compared with the selfie and the printed portrait (calibrated
/// confidences, 0–1).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChipFaces {
    pub selfie: Option<f32>,
    pub portrait: Option<f32>,
    /// Why DG2's portrait could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The chip's verdict.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChipReport {
    /// Passive Authentication holds, DG1 agrees with the printed MRZ, Active Authentication
    /// (when asked for) holds and DG2's face (when given) matches.
    pub verified: bool,
    /// `CHIP_VERIFIED`, or the findings that failed: `CHIP_INVALID`, `CHIP_MRZ_MISMATCH`,
    /// `CHIP_FACE_MISMATCH`, `CHIP_CLONED`.
    pub findings: Vec<&'static str>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: idv_chip::Report,
    /// Whether Active Authentication was asked for and could not be judged, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aa_refused: Option<String>,
    pub face_match: Option<ChipFaces>,
}

impl ChipReport {
    /// Verifies the chip; `faces` is DG2's comparison (when DG2 was given).
    pub fn new(
        input: &ChipInput,
        printed_mrz: Option<&str>,
        faces: Option<ChipFaces>,
        band: Band,
    ) -> ChipReport {
        let report = idv_chip::verify(input.chip, input.trust, printed_mrz);
        let mut findings = Vec::new();
        if !report.passive_authentication.valid {
            findings.push("CHIP_INVALID");
        }
        if report.mrz_match == Some(false) {
            findings.push("CHIP_MRZ_MISMATCH");
        }
        if input.aa_refused.is_some()
            || report
                .active_authentication
                .as_ref()
                .is_some_and(|a| !a.valid)
        {
            findings.push("CHIP_CLONED");
        }
        let low = |c: Option<f32>| c.is_some_and(|c| f64::from(c) < band.review_below);
        if let Some(f) = &faces
            && (low(f.selfie) || low(f.portrait))
        {
            findings.push("CHIP_FACE_MISMATCH");
        }
        let verified = findings.is_empty();
        if verified {
            findings.push("CHIP_VERIFIED");
        }
        ChipReport {
            verified,
            findings,
            report,
            aa_refused: input.aa_refused.map(str::to_string),
            face_match: faces,
        }
    }
}

/// DG2's face image, decoded (JPEG; JPEG 2000 is not decoded yet).
pub fn dg2_image(chip: &Chip) -> Option<Result<image::RgbImage, String>> {
    let dg2 = chip.dgs.get(&2)?;
    Some(match idv_chip::lds::dg2_image(dg2) {
        Err(e) => Err(e.to_string()),
        Ok((idv_chip::lds::ImageKind::Jpeg2000, _)) => {
            Err("the portrait is JPEG 2000, which idv does not decode yet".into())
        }
        Ok((idv_chip::lds::ImageKind::Jpeg, bytes)) => {
            idv_image::decode_rgb(&bytes, &idv_image::Limits::ANY).map_err(|e| e.to_string())
        }
    })
}
