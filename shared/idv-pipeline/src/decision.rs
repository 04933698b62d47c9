//! The decision engine: from the parts' results to Kairos-style `decision.details` with
//! reject / review / warning scores.
//!
//! Each detail adds its weight to the score of its decision: 2 for FAKE_ID (a known specimen
//! is the strongest evidence of fraud), 1 for everything else. A verification is `approved`
//! with no reject and no review details, `review` with review details only, else `rejected`.

use idv_document::DocumentReport;
use serde::{Deserialize, Serialize};

use crate::{FacesReport, MatchReport, Part, Profile, SelfieReport};
use idv_vision::CaptureIssue;

pub use idv_document::Decision;

/// One reason behind the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Detail {
    pub code: String,
    pub confidence: f64,
    pub decision: Decision,
    pub description: String,
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Approved,
    Review,
    Rejected,
}

/// `decision` block: the details and their scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionReport {
    pub details: Vec<Detail>,
    pub reject_score: u32,
    pub review_score: u32,
    pub warning_score: u32,
}

impl DecisionReport {
    pub fn outcome(&self) -> Outcome {
        if self.reject_score > 0 {
            Outcome::Rejected
        } else if self.review_score > 0 {
            Outcome::Review
        } else {
            Outcome::Approved
        }
    }

    /// Whether a detail with `code` is present.
    pub fn has(&self, code: &str) -> bool {
        self.details.iter().any(|d| d.code == code)
    }
}

fn weight(code: &str) -> u32 {
    if code == "FAKE_ID" { 2 } else { 1 }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// A score checked against a band: `None` when it passes. `what` prefixes the seed's
/// description, e.g. "Faces do not match;" or "Selfie liveness".
fn band_detail(code: &str, what: &str, score: f64, band: crate::Band) -> Option<Detail> {
    let decision = if score < band.reject_below {
        Decision::Reject
    } else if score < band.review_below {
        Decision::Review
    } else {
        return None;
    };
    Some(Detail {
        code: code.into(),
        confidence: 1.0,
        decision,
        description: format!(
            "{what} threshold failed: {} < {} (actual) < {}",
            band.reject_below,
            round4(score),
            band.review_below
        ),
    })
}

fn part_failed(code: &str, decision: Decision, description: String) -> Detail {
    Detail {
        code: code.into(),
        confidence: 1.0,
        decision,
        description,
    }
}

/// Decides from the parts' results under `profile`.
pub fn decide(
    profile: &Profile,
    document: Option<&Part<DocumentReport>>,
    has_document: bool,
    reference: Option<&Part<FacesReport>>,
    selfie: Option<&Part<SelfieReport>>,
    face_match: Option<&Part<MatchReport>>,
    chip: Option<&crate::chip::ChipReport>,
) -> DecisionReport {
    let mut details = Vec::new();
    match document {
        Some(Ok(report)) => details.extend(report.checks.iter().map(|c| Detail {
            code: c.code.to_string(),
            confidence: c.confidence,
            decision: c.decision,
            description: c.description.clone(),
        })),
        Some(Err(e)) => details.push(part_failed(
            e.code,
            Decision::Review,
            format!("The document could not be processed: {}.", e.message),
        )),
        None => {}
    }
    match selfie {
        Some(Ok(s)) => {
            if s.faces.faces.is_empty() {
                details.push(part_failed(
                    "NO_FACE_DETECTED",
                    Decision::Reject,
                    "No face was detected in the selfie.".into(),
                ));
            }
            if s.faces.faces.len() > 1 && s.capture != Some(CaptureIssue::SeveralFaces) {
                details.push(part_failed(
                    "MULTIPLE_FACES",
                    Decision::Warning,
                    format!(
                        "{} faces were detected in the selfie; the largest was used.",
                        s.faces.faces.len()
                    ),
                ));
            }
            if let Some(issue) = s.capture {
                details.push(part_failed(
                    issue.code(),
                    Decision::Review,
                    issue.description().into(),
                ));
            } else if let Some(live) = s.liveness {
                details.extend(band_detail(
                    "FAILED_SELFIE_LIVENESS",
                    "Selfie liveness",
                    f64::from(live),
                    profile.liveness,
                ));
            }
        }
        Some(Err(e)) => details.push(part_failed(
            e.code,
            Decision::Review,
            format!("The selfie could not be processed: {}.", e.message),
        )),
        None => {}
    }
    if let Some(Ok(r)) = reference
        && r.faces.is_empty()
    {
        details.push(part_failed(
            if has_document {
                "NO_DOCUMENT_FACE"
            } else {
                "NO_FACE_DETECTED"
            },
            Decision::Review,
            if has_document {
                "No portrait was found on the document.".into()
            } else {
                "No face was detected in the image.".into()
            },
        ));
    }
    match face_match {
        Some(Ok(m)) => details.extend(band_detail(
            "FAILED_FACE_MATCH",
            "Faces do not match;",
            f64::from(m.confidence),
            profile.face_match,
        )),
        Some(Err(e)) if e.code == "PROCESSING_ERROR" => details.push(part_failed(
            e.code,
            Decision::Review,
            format!("The faces could not be compared: {}.", e.message),
        )),
        // Missing faces are reported above.
        _ => {}
    }
    if let Some(c) = chip {
        details.extend(chip_details(c, profile.face_match));
    }
    let score = |d: Decision| {
        details
            .iter()
            .filter(|x| x.decision == d)
            .map(|x| weight(&x.code))
            .sum()
    };
    DecisionReport {
        reject_score: score(Decision::Reject),
        review_score: score(Decision::Review),
        warning_score: score(Decision::Warning),
        details,
    }
}

/// The chip's details: one for each finding that failed (none for a verified chip), and a
/// warning when DG2 could not be compared.
fn chip_details(chip: &crate::chip::ChipReport, band: crate::Band) -> Vec<Detail> {
    let detail = |code: &str, decision, description: String| Detail {
        code: code.into(),
        confidence: 1.0,
        decision,
        description,
    };
    let mut out: Vec<Detail> = chip
        .findings
        .iter()
        .filter_map(|&code| match code {
            "CHIP_INVALID" => {
                let why: Vec<&str> = chip
                    .report
                    .passive_authentication
                    .errors
                    .iter()
                    .map(|e| e.code())
                    .collect();
                Some(detail(
                    code,
                    Decision::Reject,
                    format!(
                        "The chip failed Passive Authentication ({}): its data was not signed by the issuing state as read.",
                        why.join(", ")
                    ),
                ))
            }
            "CHIP_MRZ_MISMATCH" => Some(detail(
                code,
                Decision::Reject,
                "The chip's MRZ (DG1) differs from the MRZ printed on the document.".into(),
            )),
            "CHIP_CLONED" => Some(detail(
                code,
                Decision::Reject,
                match &chip.aa_refused {
                    Some(why) => format!("Active Authentication could not be judged: {why}."),
                    None => "The chip's answer to the challenge does not verify with its Active Authentication key: the chip may be a clone.".into(),
                },
            )),
            "CHIP_FACE_MISMATCH" => {
                let (worst, what) = chip.face_match.as_ref()?.worst()?;
                let decision = if f64::from(worst) < band.reject_below {
                    Decision::Reject
                } else {
                    Decision::Review
                };
                Some(detail(
                    code,
                    decision,
                    format!(
                        "The chip's portrait (DG2) does not match the {what}: {worst:.4} < {}.",
                        band.review_below
                    ),
                ))
            }
            _ => None,
        })
        .collect();
    if let Some(e) = chip.face_match.as_ref().and_then(|f| f.error.as_ref()) {
        out.push(detail(
            "CHIP_FACE_UNREADABLE",
            Decision::Warning,
            format!("The chip's portrait (DG2) could not be compared: {e}."),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile;

    fn selfie(liveness: f32) -> Part<SelfieReport> {
        Ok(SelfieReport {
            faces: FacesReport {
                size: crate::ImageSize {
                    width: 10,
                    height: 10,
                },
                faces: vec![idv_vision::Face {
                    confidence: 0.9,
                    x: 0.0,
                    y: 0.0,
                    width: 5.0,
                    height: 5.0,
                    landmarks: [[0.0; 2]; 5],
                }],
            },
            liveness: Some(liveness),
            capture: None,
        })
    }

    fn matched(c: f32) -> Part<MatchReport> {
        Ok(MatchReport {
            confidence: c,
            similarity: 0.0,
            face_index: 0,
        })
    }

    #[test]
    fn liveness_is_judged_only_when_the_capture_allows() {
        let p = profile::find("optimal-v0").unwrap();
        let d = decide(&p, None, false, None, Some(&selfie(0.01)), None, None);
        assert_eq!(d.details[0].code, "FAILED_SELFIE_LIVENESS");
        assert_eq!(
            d.details[0].description,
            "Selfie liveness threshold failed: 0.15 < 0.01 (actual) < 0.3"
        );
        let mut close = selfie(0.01).unwrap();
        close.capture = Some(CaptureIssue::TooClose);
        let d = decide(&p, None, false, None, Some(&Ok(close)), None, None);
        assert_eq!(d.details.len(), 1);
        assert_eq!(d.details[0].code, "SELFIE_TOO_CLOSE");
        assert_eq!(d.outcome(), Outcome::Review);
    }

    #[test]
    fn bands_give_reject_review_or_pass() {
        let p = profile::find("optimal-v0").unwrap();
        let d = decide(
            &p,
            None,
            false,
            None,
            Some(&selfie(0.9)),
            Some(&matched(0.1565)),
            None,
        );
        assert_eq!(d.details.len(), 1);
        assert_eq!(d.details[0].code, "FAILED_FACE_MATCH");
        assert_eq!(d.details[0].decision, Decision::Reject);
        assert_eq!(
            d.details[0].description,
            "Faces do not match; threshold failed: 0.4 < 0.1565 (actual) < 0.56"
        );
        let d = decide(
            &p,
            None,
            false,
            None,
            Some(&selfie(0.9)),
            Some(&matched(0.48)),
            None,
        );
        assert_eq!((d.reject_score, d.review_score), (0, 1));
        assert_eq!(d.outcome(), Outcome::Review);
        let d = decide(
            &p,
            None,
            false,
            None,
            Some(&selfie(0.01)),
            Some(&matched(0.99)),
            None,
        );
        assert_eq!(d.details[0].code, "FAILED_SELFIE_LIVENESS");
        assert_eq!(d.outcome(), Outcome::Rejected);
        let d = decide(
            &p,
            None,
            false,
            None,
            Some(&selfie(0.9)),
            Some(&matched(0.99)),
            None,
        );
        assert_eq!(d.outcome(), Outcome::Approved);
        // The permissive profile accepts what the optimal one sends to review.
        let lenient = profile::find("permissive-v0").unwrap();
        let d = decide(
            &lenient,
            None,
            false,
            None,
            Some(&selfie(0.9)),
            Some(&matched(0.48)),
            None,
        );
        assert_eq!(d.outcome(), Outcome::Approved);
    }
}
