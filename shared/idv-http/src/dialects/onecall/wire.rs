//! One-call's response shapes (camelCase, scores on 0–100), mapped from one typed
//! [`Verification`].

use idv_document::{Check, DocumentReport, Field};
use idv_pipeline::decision::{DecisionReport, Outcome};
use idv_pipeline::{Part, PartError, Verification};
use serde::Serialize;

/// A score in [0, 1] as a percentage with two decimals.
pub fn pct(v: f64) -> f64 {
    (v * 10_000.0).round() / 100.0
}

/// Why a block has no result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlockError {
    pub code: &'static str,
    pub message: String,
}

impl From<&PartError> for BlockError {
    fn from(e: &PartError) -> BlockError {
        BlockError {
            code: e.code,
            message: e.message.clone(),
        }
    }
}

/// The one-call `documentType`: passport, drivers_license or national_id (a US/Canadian
/// state ID card counts as a national ID; a visa keeps its own name).
fn document_type(kind: &str) -> &str {
    match kind {
        "travel_document" => "passport",
        "id_card" => "national_id",
        k => k,
    }
}

/// `POST /v1/document/scan` answer and `document` of `POST /v1/verify-identity`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentScan<'a> {
    /// `passport`, `drivers_license`, `national_id` or `visa`; null when not recognised.
    pub document_type: Option<&'a str>,
    pub full_name: Option<&'a str>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub date_of_birth: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub nationality: Option<&'a str>,
    pub document_number: Option<&'a str>,
    pub expiration_date: Option<&'a str>,
    pub issuing_country: Option<&'a str>,
    pub address: Option<&'a str>,
    /// Mean confidence of the fields read, 0–100.
    pub confidence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<&'a [Check]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BlockError>,
}

/// Mean confidence of the fields read, 0–1 (0 when the document was not recognised).
fn document_confidence(d: &DocumentReport) -> f64 {
    let c = d.data.confidences();
    if c.is_empty() || d.document_type.is_none() {
        0.0
    } else {
        c.iter().sum::<f64>() / c.len() as f64
    }
}

/// The document block and its confidence (0–1).
pub fn document(p: &Option<Part<DocumentReport>>) -> (Option<DocumentScan<'_>>, f64) {
    match p {
        Some(Ok(d)) => {
            fn f(f: &Option<Field<String>>) -> Option<&str> {
                f.as_ref().map(|f| f.value.as_str())
            }
            let data = &d.data;
            let conf = document_confidence(d);
            let scan = DocumentScan {
                document_type: d.document_type.map(document_type),
                full_name: f(&data.full_name),
                first_name: f(&data.first_name),
                last_name: f(&data.last_name),
                date_of_birth: f(&data.dob),
                gender: f(&data.sex),
                nationality: f(&data.nationality_full),
                document_number: f(&data.document_number),
                expiration_date: f(&data.expiry),
                issuing_country: f(&data.country_iso3),
                address: f(&data.address),
                confidence: pct(conf),
                checks: Some(&d.checks),
                error: None,
            };
            (Some(scan), conf)
        }
        Some(Err(e)) => (
            Some(DocumentScan {
                document_type: None,
                full_name: None,
                first_name: None,
                last_name: None,
                date_of_birth: None,
                gender: None,
                nationality: None,
                document_number: None,
                expiration_date: None,
                issuing_country: None,
                address: None,
                confidence: 0.0,
                checks: None,
                error: Some(e.into()),
            }),
            0.0,
        ),
        None => (None, 0.0),
    }
}

/// A face's box in pixels.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoundingBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// One detected face.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DetectedFace {
    /// 0–100.
    pub confidence: f64,
    pub bounding_box: BoundingBox,
}

/// `faceDetection` of `POST /v1/verify-identity`, and `POST /v1/face/detect`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaceDetection {
    pub face_detected: bool,
    /// The most confident face's detection score, 0–100.
    pub confidence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face_count: Option<usize>,
    /// The selfie's passive liveness score, 0–100 (beyond the seed); null when no face was
    /// found. A capture problem (e.g. SELFIE_TOO_CLOSE) is in the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BlockError>,
    /// Every face (`POST /v1/face/detect` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces: Option<Vec<DetectedFace>>,
}

/// The detection block and its confidence (0–1).
pub fn detection(v: &Verification) -> (Option<FaceDetection>, f64) {
    match &v.selfie {
        Some(Ok(s)) => {
            let faces = &s.faces.faces;
            let top = faces.first().map_or(0.0, |f| f64::from(f.confidence));
            let b = FaceDetection {
                face_detected: !faces.is_empty(),
                confidence: pct(top),
                face_count: Some(faces.len()),
                liveness: Some(s.liveness.map(|l| pct(f64::from(l)))),
                error: faces.is_empty().then(|| BlockError {
                    code: "NO_FACE_DETECTED",
                    message: "no face was found in the selfie".into(),
                }),
                faces: None,
            };
            (Some(b), top)
        }
        Some(Err(e)) => (
            Some(FaceDetection {
                face_detected: false,
                confidence: 0.0,
                face_count: None,
                liveness: None,
                error: Some(e.into()),
                faces: None,
            }),
            0.0,
        ),
        None => (None, 0.0),
    }
}

/// Every face of the selfie, for `POST /v1/face/detect`.
pub fn faces(v: &Verification) -> Option<Vec<DetectedFace>> {
    let s = v.selfie_report()?;
    Some(
        s.faces
            .faces
            .iter()
            .map(|f| DetectedFace {
                confidence: pct(f64::from(f.confidence)),
                bounding_box: BoundingBox {
                    x: f.x,
                    y: f.y,
                    width: f.width,
                    height: f.height,
                },
            })
            .collect(),
    )
}

/// `faceMatch` of `POST /v1/verify-identity`, and `POST /v1/face/compare`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatch {
    pub is_match: bool,
    /// 0–100.
    pub confidence: f64,
    /// 0–100: the profile's review threshold.
    pub threshold: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BlockError>,
}

/// The match block, its confidence (0–1) and whether it is a match.
pub fn face_match(v: &Verification, threshold: f64) -> (Option<FaceMatch>, f64, bool) {
    match &v.face_match {
        Some(Ok(m)) => {
            let c = f64::from(m.confidence);
            let b = FaceMatch {
                is_match: c >= threshold,
                confidence: pct(c),
                threshold: pct(threshold),
                error: None,
            };
            (Some(b), c, c >= threshold)
        }
        Some(Err(e)) => (
            Some(FaceMatch {
                is_match: false,
                confidence: 0.0,
                threshold: pct(threshold),
                error: Some(e.into()),
            }),
            0.0,
            false,
        ),
        None => (None, 0.0, false),
    }
}

/// `POST /v1/verify-identity` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyIdentity<'a> {
    /// This verification's id: `DELETE /v1/verifications/{id}` erases what idv keeps of it.
    pub verification_id: String,
    pub verified: bool,
    pub document: Option<DocumentScan<'a>>,
    pub face_detection: Option<FaceDetection>,
    pub face_match: Option<FaceMatch>,
    /// 0.4·document + 0.2·detection + 0.4·match, 0–100.
    pub overall_confidence: f64,
    pub decision: &'a DecisionReport,
    /// The chip's verdict, when `chip` was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip: Option<&'a idv_pipeline::chip::ChipReport>,
}

/// A chip verified whose DG1 equals the printed MRZ vouches for the fields read from it:
/// the document's confidence is then 1.
pub fn chip_vouches(v: &Verification) -> bool {
    v.chip
        .as_ref()
        .is_some_and(|c| c.verified && c.report.mrz_match == Some(true))
}

/// The one-call answer of `v`, matched at `threshold`.
pub fn verify_identity(v: &Verification, threshold: f64, id: String) -> VerifyIdentity<'_> {
    let (mut document, mut doc_conf) = document(&v.document);
    if chip_vouches(v)
        && let Some(d) = document.as_mut()
    {
        doc_conf = 1.0;
        d.confidence = pct(doc_conf);
    }
    let (detection, det_conf) = detection(v);
    let (face_match, match_conf, is_match) = face_match(v, threshold);
    let overall = 0.4 * doc_conf + 0.2 * det_conf + 0.4 * match_conf;
    VerifyIdentity {
        verification_id: id,
        verified: is_match && det_conf > 0.0 && v.decision.outcome() == Outcome::Approved,
        document,
        face_detection: detection,
        face_match,
        overall_confidence: pct(overall),
        decision: &v.decision,
        chip: v.chip.as_ref(),
    }
}
