//! Kairos's response shapes, mapped from one typed [`Verification`].

use idv_document::{BarcodeReport, DocumentData, DocumentReport};
use idv_pipeline::decision::DecisionReport;
use idv_pipeline::{FacesReport, ImageSize, Part, SelfieReport, Verification};
use idv_vision::FacePrediction;
use serde::Serialize;

/// `POST /v0.2/full-id-verification` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// Poll `GET /v0.2/full-id-verification/{api_req_uid}`.
    pub api_req_uid: String,
}

/// `POST /v0.1/full-id-verification` answer (the quick start names the id `api_req_uuid`, its
/// results `api_req_uid`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuickStartSubmitted {
    pub api_req_uid: String,
    pub api_req_uuid: String,
}

/// `POST /v0.1/document-verification` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentSubmitted {
    /// Poll `GET /v0.1/document-verification/{api_req_uuid}`.
    pub api_req_uuid: String,
}

/// Every Kairos answer: the request, its times, and `response_data` (null until done).
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub api_req_uid: String,
    /// The document-verification spelling of the id (document jobs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_req_uuid: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS` UTC; null until done.
    pub processed_at: Option<String>,
    pub requested_at: String,
    /// 1 when done, null while queued.
    pub response_code: Option<u8>,
    pub response_data: Option<T>,
}

/// [`Envelope`]'s schema for one kind of `response_data` (utoipa inlines generic
/// parameters and loses their nullability, so each kind gets its own named schema).
macro_rules! envelope_schema {
    ($name:ident, $data:ty) => {
        #[doc = concat!("A Kairos answer whose `response_data` is `", stringify!($data), "`.")]
        #[derive(utoipa::ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            api_req_uid: String,
            /// The document-verification spelling of the id (document jobs only).
            api_req_uuid: Option<String>,
            /// `YYYY-MM-DD HH:MM:SS` UTC; null until done.
            processed_at: Option<String>,
            requested_at: String,
            /// 1 when done, null while queued.
            response_code: Option<u8>,
            /// Null until done.
            response_data: Option<$data>,
        }
    };
}

envelope_schema!(FullEnvelope, FullResponse<'static>);
envelope_schema!(DocumentEnvelope, DocumentResponse<'static>);
envelope_schema!(BiometricEnvelope, BiometricResponse<'static>);
envelope_schema!(LivenessEnvelope, LivenessResponse<'static>);

impl<T> Envelope<T> {
    /// A finished request.
    pub fn done(id: &str, requested_at: &str, data: T) -> Envelope<T> {
        Envelope {
            api_req_uid: id.to_string(),
            api_req_uuid: None,
            processed_at: Some(idv_core::clock::timestamp()),
            requested_at: requested_at.to_string(),
            response_code: Some(1),
            response_data: Some(data),
        }
    }
}

/// A part that failed: `{"error": {code, message}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Failed {
    pub error: PartFailure,
}

/// Why a part produced no result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartFailure {
    pub code: &'static str,
    pub message: String,
}

/// A part's block: its result, or why there is none.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Block<T> {
    Ok(T),
    Failed(Failed),
}

fn block<'a, T, B>(p: &'a Option<Part<T>>, f: impl Fn(&'a T) -> B) -> Option<Block<B>> {
    p.as_ref().map(|r| match r {
        Ok(v) => Block::Ok(f(v)),
        Err(e) => Block::Failed(Failed {
            error: PartFailure {
                code: e.code,
                message: e.message.clone(),
            },
        }),
    })
}

/// The faces of one image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Faces {
    pub faces_predicted: Vec<FacePrediction>,
    pub img: ImageSize,
}

impl From<&FacesReport> for Faces {
    fn from(p: &FacesReport) -> Faces {
        Faces {
            faces_predicted: p.faces.iter().map(FacePrediction::from).collect(),
            img: p.size,
        }
    }
}

/// The selfie's faces and liveness.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelfieFaces {
    pub faces_predicted: Vec<FacePrediction>,
    pub img: ImageSize,
    /// Passive liveness in [0, 1]; null when no face was found.
    pub faces_liveness: Option<f64>,
}

impl From<&SelfieReport> for SelfieFaces {
    fn from(s: &SelfieReport) -> SelfieFaces {
        let faces = Faces::from(&s.faces);
        SelfieFaces {
            faces_predicted: faces.faces_predicted,
            img: faces.img,
            faces_liveness: s.liveness.map(idv_vision::round4),
        }
    }
}

/// `biometric` of a full verification: selfie vs the document's portrait.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentBiometric {
    pub document: Option<Block<Faces>>,
    pub selfie: Option<Block<SelfieFaces>>,
    pub face_match_confidence: Option<f64>,
}

/// `biometric` of a biometric verification: selfie vs an image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImageBiometric {
    pub image: Option<Block<Faces>>,
    pub selfie: Option<Block<SelfieFaces>>,
    pub face_match_confidence: Option<f64>,
}

fn match_confidence(v: &Verification) -> Option<f64> {
    v.face_match_confidence().map(idv_vision::round4)
}

/// The machine-readable zone as read.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MrzBlock<'a> {
    pub format: &'a str,
    pub lines: &'a [String],
    pub valid: bool,
    /// `front` or `back`.
    pub side: Option<&'a str>,
}

/// An EU driving licence's one-line MRZ.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceLineBlock<'a> {
    pub line: &'a str,
    pub issuing_state: &'a str,
}

/// `document.data`: the fields read, and the document model's code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentFields<'a> {
    #[serde(flatten)]
    pub fields: &'a DocumentData,
    /// idv's code for the document model: kind, issuing state, layout (`IDESPC1` is a
    /// Spanish identity card in TD1 format; README, "Document model codes").
    pub internal_id: Option<String>,
}

/// The `document` block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentBlock<'a> {
    pub document_type: Option<&'a str>,
    pub data: DocumentFields<'a>,
    pub mrz: Option<MrzBlock<'a>>,
    pub barcode: Option<&'a BarcodeReport>,
    pub licence_line: Option<LicenceLineBlock<'a>>,
    pub quality: &'a idv_document::quality::Quality,
}

impl<'a> From<&'a DocumentReport> for DocumentBlock<'a> {
    fn from(d: &'a DocumentReport) -> DocumentBlock<'a> {
        DocumentBlock {
            document_type: d.document_type,
            data: DocumentFields {
                fields: &d.data,
                internal_id: d.model_code(),
            },
            mrz: d.mrz.as_ref().map(|z| MrzBlock {
                format: z.format,
                lines: &z.lines,
                valid: z.valid,
                side: d.mrz_side,
            }),
            barcode: d.barcode.as_ref(),
            licence_line: d.licence_line.as_ref().map(|l| LicenceLineBlock {
                line: &l.line,
                issuing_state: &l.issuing_state,
            }),
            quality: &d.quality,
        }
    }
}

/// `response_data` of a full verification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FullResponse<'a> {
    pub biometric: DocumentBiometric,
    pub decision: &'a DecisionReport,
    pub document: Option<Block<DocumentBlock<'a>>>,
    pub profile: &'a str,
    /// The chip's verdict, when the `chip_*` fields were sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip: Option<&'a idv_pipeline::chip::ChipReport>,
}

/// `response_data` of a document verification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentResponse<'a> {
    pub decision: &'a DecisionReport,
    pub document: Option<Block<DocumentBlock<'a>>>,
}

/// `response_data` of a biometric verification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BiometricResponse<'a> {
    pub biometric: ImageBiometric,
    pub decision: &'a DecisionReport,
}

/// `response_data` of a liveness verification: the selfie's faces and liveness (or why
/// there are none) beside the decision.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LivenessResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces_predicted: Option<Vec<FacePrediction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub img: Option<ImageSize>,
    /// Passive liveness in [0, 1]; null when no face was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces_liveness: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<PartFailure>,
    pub decision: &'a DecisionReport,
}

/// The `document` block of `v`.
pub fn document(v: &Verification) -> Option<Block<DocumentBlock<'_>>> {
    block(&v.document, DocumentBlock::from)
}

/// `response_data` of a full verification.
pub fn full_response(v: &Verification) -> FullResponse<'_> {
    FullResponse {
        biometric: DocumentBiometric {
            document: block(&v.reference_faces, Faces::from),
            selfie: block(&v.selfie, SelfieFaces::from),
            face_match_confidence: match_confidence(v),
        },
        decision: &v.decision,
        document: document(v),
        profile: &v.profile,
        chip: v.chip.as_ref(),
    }
}

/// `response_data` of a document verification.
pub fn document_response(v: &Verification) -> DocumentResponse<'_> {
    DocumentResponse {
        decision: &v.decision,
        document: document(v),
    }
}

/// `response_data` of a biometric verification.
pub fn biometric_response(v: &Verification) -> BiometricResponse<'_> {
    BiometricResponse {
        biometric: ImageBiometric {
            image: block(&v.reference_faces, Faces::from),
            selfie: block(&v.selfie, SelfieFaces::from),
            face_match_confidence: match_confidence(v),
        },
        decision: &v.decision,
    }
}

/// `response_data` of a liveness verification.
pub fn liveness_response(v: &Verification) -> LivenessResponse<'_> {
    let mut r = LivenessResponse {
        faces_predicted: None,
        img: None,
        faces_liveness: None,
        error: None,
        decision: &v.decision,
    };
    match block(&v.selfie, SelfieFaces::from) {
        Some(Block::Ok(s)) => {
            r.faces_predicted = Some(s.faces_predicted);
            r.img = Some(s.img);
            r.faces_liveness = Some(s.faces_liveness);
        }
        Some(Block::Failed(f)) => r.error = Some(f.error),
        None => {}
    }
    r
}
