//! One verification, the same for every API dialect: the document is read, the selfie's face
//! found and checked for liveness, and the document portrait matched to the selfie — all at
//! once, on both cores — then [`decision`] turns the parts into reasons and scores under a
//! [`Profile`]. A part that fails is reported in its own block; the others still run.

pub mod chip;
pub mod decision;
pub mod profile;

use std::time::Instant;

use idv_document::{DocumentEngine, DocumentReport, Hint, Ymd};
use idv_vision::liveness::Liveness;
use idv_vision::{CaptureIssue, Face, FaceEngine, VisionError, calibrate, liveness, main_first};
use image::RgbImage;

pub use decision::{Decision, DecisionReport, Detail};
pub use profile::{Band, DEFAULT_PROFILE, Profile};

/// Every model idv runs, loaded once per process and shared by all requests.
pub struct Engines {
    pub face: FaceEngine,
    pub document: DocumentEngine,
    /// The model files loaded and the packages they come from (the models directory's
    /// `MANIFEST`), for certificates.
    pub models: Vec<(String, String)>,
}

impl Engines {
    /// Loads the models from `models/dist` (or `IDV_MODELS_DIR`).
    pub fn load_default() -> Result<Engines, VisionError> {
        Ok(Engines {
            face: FaceEngine::load_default()?,
            document: DocumentEngine::load_default()?,
            models: idv_vision::ModelPaths::locate()?.manifest(),
        })
    }
}

/// Why one part of a verification produced no result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartError {
    /// Stable code, e.g. `NO_FACE_DETECTED`.
    pub code: &'static str,
    pub message: String,
}

impl PartError {
    fn engine(e: VisionError) -> PartError {
        PartError {
            code: "PROCESSING_ERROR",
            message: e.to_string(),
        }
    }
}

/// The outcome of one part.
pub type Part<T> = Result<T, PartError>;

/// Image size, as the dialects report it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

/// The faces of one image.
#[derive(Debug, Clone)]
pub struct FacesReport {
    pub size: ImageSize,
    /// Every face found, best first.
    pub faces: Vec<Face>,
}

/// The selfie: its faces and the liveness of the main one.
#[derive(Debug, Clone)]
pub struct SelfieReport {
    pub faces: FacesReport,
    /// Liveness score in [0, 1] of the main face; `None` without a face.
    pub liveness: Option<f32>,
    /// Why the main face's liveness cannot be judged (then the score is not decided on).
    pub capture: Option<CaptureIssue>,
}

impl SelfieReport {
    /// Liveness of the main face (`faces[0]`) of a selfie whose faces were detected; also
    /// returns that face's per-model [`Liveness`] for tools that show it.
    pub fn assess(
        engine: &FaceEngine,
        img: &RgbImage,
        faces: Vec<Face>,
    ) -> Result<(SelfieReport, Option<Liveness>), VisionError> {
        let live = match faces.first() {
            Some(face) => Some(engine.liveness(img, face)?),
            None => None,
        };
        let capture = liveness::capture_all(img.width(), img.height(), &faces);
        let report = SelfieReport {
            faces: FacesReport {
                size: size(img),
                faces,
            },
            liveness: live.map(|l| l.score),
            capture,
        };
        Ok((report, live))
    }
}

/// Selfie ↔ portrait (or reference photo) comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchReport {
    /// Calibrated confidence in [0, 1].
    pub confidence: f32,
    /// Fused similarity of the two face models (`idv_vision::calibrate::fuse`).
    pub similarity: f32,
    /// Index of the matched face in the reference image's faces.
    pub face_index: usize,
}

/// What to verify. Any image may be absent; the parts that need it are then skipped.
pub struct Inputs<'a> {
    pub document: Option<&'a RgbImage>,
    pub document_back: Option<&'a RgbImage>,
    /// What the caller says the document is.
    pub document_hint: Hint,
    /// A reference photo compared with the selfie instead of the document portrait
    /// (biometric verification). Ignored when `document` is given.
    pub reference: Option<&'a RgbImage>,
    pub selfie: Option<&'a RgbImage>,
    /// Compare the selfie with every face of the reference image, not only the largest.
    pub multiface: bool,
    pub profile: &'a Profile,
    pub today: Ymd,
    /// The document's chip, when the app read it.
    pub chip: Option<chip::ChipInput<'a>>,
}

/// The engine's one result type; each dialect maps it to its own shape.
pub struct Verification {
    pub profile: String,
    pub document: Option<Part<DocumentReport>>,
    /// Faces of the document (its portrait) or of the reference photo.
    pub reference_faces: Option<Part<FacesReport>>,
    pub selfie: Option<Part<SelfieReport>>,
    pub face_match: Option<Part<MatchReport>>,
    /// The chip's verdict, when a chip was given.
    pub chip: Option<chip::ChipReport>,
    pub decision: DecisionReport,
    /// Wall time of the whole verification.
    pub elapsed_ms: f64,
    /// Wall time of each part that ran (`document`, `reference_faces`, `selfie`; they run
    /// side by side).
    pub stages_ms: Vec<(&'static str, f64)>,
}

impl Verification {
    /// The document's report, when it was read.
    pub fn document_report(&self) -> Option<&DocumentReport> {
        self.document.as_ref().and_then(|d| d.as_ref().ok())
    }

    /// The document's fields, when it was read.
    pub fn document_data(&self) -> Option<&idv_document::DocumentData> {
        self.document_report().map(|d| &d.data)
    }

    /// The selfie's report, when it was assessed.
    pub fn selfie_report(&self) -> Option<&SelfieReport> {
        self.selfie.as_ref().and_then(|s| s.as_ref().ok())
    }

    /// The calibrated face-match confidence, when faces were compared.
    pub fn face_match_confidence(&self) -> Option<f32> {
        match &self.face_match {
            Some(Ok(m)) => Some(m.confidence),
            _ => None,
        }
    }

    /// The selfie's liveness score, when measured.
    pub fn liveness(&self) -> Option<f32> {
        self.selfie_report().and_then(|s| s.liveness)
    }
}

fn size(img: &RgbImage) -> ImageSize {
    ImageSize {
        width: img.width(),
        height: img.height(),
    }
}

type Embedded = (FacesReport, Vec<idv_vision::embed::Embedding>);

impl Engines {
    /// Faces of an image with embeddings of the main face (or of all faces with `all`).
    /// On a document the main face is the portrait: the largest face, not the small ghost
    /// portrait many documents print beside it.
    fn faces(&self, img: &RgbImage, all: bool) -> Result<Embedded, VisionError> {
        let mut faces = self.face.detect(img)?;
        if !all {
            // Main face first, so index 0 is the one embedded.
            faces = main_first(faces);
        }
        let wanted = if all { faces.len() } else { faces.len().min(1) };
        let embeddings = self.face.embed(img, &faces[..wanted])?;
        Ok((
            FacesReport {
                size: size(img),
                faces,
            },
            embeddings,
        ))
    }

    /// Runs a verification. Never fails as a whole: failures are in the parts.
    pub fn verify(&self, input: &Inputs) -> Verification {
        let start = Instant::now();
        let reference_img = input.document.or(input.reference);
        let settings = input.profile.check_settings();
        let stages = std::sync::Mutex::new(Vec::new());
        let record = |stage: &'static str, started: Instant| {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            stages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((stage, ms));
        };
        let (document, reference, selfie, dg2) = std::thread::scope(|s| {
            // DG2's portrait: decoded, its face found and embedded beside the other parts.
            let dg2 = input
                .chip
                .as_ref()
                .and_then(|c| chip::dg2_image(c.chip))
                .map(|img| {
                    s.spawn(move || {
                        let img = img?;
                        let (faces, emb) = self.faces(&img, false).map_err(|e| e.to_string())?;
                        match (faces.faces.is_empty(), emb.into_iter().next()) {
                            (false, Some(e)) => Ok(e),
                            _ => Err("no face was found in it".to_string()),
                        }
                    })
                });
            let document = input.document.map(|front| {
                s.spawn(move || {
                    let started = Instant::now();
                    let read = self
                        .document
                        .read_as(
                            front,
                            input.document_back,
                            &settings,
                            input.today,
                            input.document_hint,
                        )
                        .map_err(PartError::engine);
                    record("document", started);
                    read
                })
            });
            let reference = reference_img.map(|img| {
                s.spawn(move || {
                    let started = Instant::now();
                    let faces = self.faces(img, input.multiface && input.document.is_none());
                    record("reference_faces", started);
                    faces
                })
            });
            let selfie = input.selfie.map(|img| {
                let started = Instant::now();
                let selfie = self.faces(img, false).and_then(|(faces, emb)| {
                    Ok((SelfieReport::assess(&self.face, img, faces.faces)?.0, emb))
                });
                record("selfie", started);
                selfie
            });
            (
                document.map(|h| h.join().unwrap_or_else(|_| Err(panicked()))),
                reference.map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(VisionError::BadOutput {
                            model: "pipeline",
                            detail: "a worker thread panicked".into(),
                        })
                    })
                }),
                selfie,
                dg2.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a worker thread panicked".to_string()))
                }),
            )
        });

        let reference = reference.map(|r| r.map_err(PartError::engine));
        let selfie = selfie.map(|r| r.map_err(PartError::engine));
        let face_match = match (&reference, &selfie) {
            (Some(Ok((rf, re))), Some(Ok((_, se)))) => Some(match (re.is_empty(), se.first()) {
                (_, None) => Err(PartError {
                    code: "NO_FACE_DETECTED",
                    message: "no face was found in the selfie".into(),
                }),
                (true, _) => Err(PartError {
                    code: if input.document.is_some() {
                        "NO_DOCUMENT_FACE"
                    } else {
                        "NO_FACE_DETECTED"
                    },
                    message: if input.document.is_some() {
                        "no portrait was found on the document".into()
                    } else {
                        "no face was found in the image".into()
                    },
                }),
                (false, Some(s)) => {
                    let (face_index, similarity) = re
                        .iter()
                        .map(|e| e.similarity(s))
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .unwrap_or((0, -1.0));
                    debug_assert!(face_index < rf.faces.len());
                    Ok(MatchReport {
                        confidence: calibrate::confidence(similarity),
                        similarity,
                        face_index,
                    })
                }
            }),
            (Some(Err(e)), Some(_)) | (Some(_), Some(Err(e))) => Some(Err(e.clone())),
            _ => None,
        };
        let chip = input.chip.as_ref().map(|c| {
            let faces = dg2.map(|d| match d {
                Err(error) => chip::ChipFaces {
                    error: Some(error),
                    ..Default::default()
                },
                Ok(e) => {
                    let vs = |other: Option<&idv_vision::embed::Embedding>| {
                        other.map(|o| calibrate::confidence(e.similarity(o)))
                    };
                    chip::ChipFaces {
                        selfie: vs(match &selfie {
                            Some(Ok((_, se))) => se.first(),
                            _ => None,
                        }),
                        portrait: vs(match (&reference, input.document.is_some()) {
                            (Some(Ok((_, re))), true) => re.first(),
                            _ => None,
                        }),
                        error: None,
                    }
                }
            });
            let printed = document
                .as_ref()
                .and_then(|d| d.as_ref().ok())
                .and_then(|d| d.mrz.as_ref())
                .map(|z| z.lines.concat());
            chip::ChipReport::new(
                c,
                printed.as_deref(),
                faces,
                input.profile.face_match,
                input.today,
            )
        });
        let reference_faces = reference.map(|r| r.map(|(f, _)| f));
        let selfie = selfie.map(|r| r.map(|(report, _)| report));
        let decision = decision::decide(
            input.profile,
            document.as_ref(),
            input.document.is_some(),
            reference_faces.as_ref(),
            selfie.as_ref(),
            face_match.as_ref(),
            chip.as_ref(),
        );
        Verification {
            profile: input.profile.name.clone(),
            document,
            reference_faces,
            selfie,
            face_match,
            chip,
            decision,
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            stages_ms: stages.into_inner().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

fn panicked() -> PartError {
    PartError {
        code: "PROCESSING_ERROR",
        message: "a worker thread panicked".into(),
    }
}
