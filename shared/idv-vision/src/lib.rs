//! idv's face engine: everything that looks at faces, run through ONNX Runtime (`ort`).
//!
//! * [`runtime`] loads `libonnxruntime.so` once per process and pools sessions.
//! * [`detect`] finds faces with 5 landmarks (YuNet).
//! * [`align`] warps a face to the embedding model's canonical 112×112 crop.
//! * [`embed`] turns an aligned crop into a unit-length 192-d vector (MobileFaceNet), and
//!   [`descriptor`] a 150×150 chip into dlib's 128-d descriptor; the two are fused.
//! * [`calibrate`] fuses the two similarities and maps them to a match confidence in [0, 1].
//! * [`liveness`] scores a selfie's main face for print and screen attacks (MiniFASNet).
//! * [`FaceEngine`] ties them together.
//!
//! ```no_run
//! use idv_vision::FaceEngine;
//! let engine = FaceEngine::load_default()?;
//! let a = idv_image::decode_rgb(&std::fs::read("a.jpg")?, &idv_image::Limits::ANY)?;
//! let b = idv_image::decode_rgb(&std::fs::read("b.jpg")?, &idv_image::Limits::ANY)?;
//! let m = engine.compare(&a, &b)?;
//! println!("match confidence {:.3}", m.confidence);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod active;
pub mod align;
pub mod calibrate;
pub mod descriptor;
pub mod detect;
pub mod embed;
mod engine;
pub mod liveness;
pub mod render;
pub mod runtime;

pub use detect::{Face, FacePrediction, round4};
pub use engine::{FaceEngine, FaceMatch, FaceReport, main_face, main_first};
pub use liveness::{CaptureIssue, Liveness};
pub use runtime::ModelPaths;

/// Errors of the face engine. None of them is the client's fault except [`VisionError::NoFace`].
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// The models directory or a model file is missing.
    #[error("model files not found: {0} (run models/fetch, or set IDV_MODELS_DIR)")]
    ModelsMissing(String),
    /// ONNX Runtime failed to load or run.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// A model produced output of an unexpected shape.
    #[error("unexpected output from {model}: {detail}")]
    BadOutput { model: &'static str, detail: String },
    /// No face was found where one is required.
    #[error("no face found in the {0}")]
    NoFace(&'static str),
}

impl<T> From<ort::Error<T>> for VisionError
where
    ort::Error<T>: std::fmt::Display,
{
    fn from(e: ort::Error<T>) -> Self {
        VisionError::Runtime(e.to_string())
    }
}
