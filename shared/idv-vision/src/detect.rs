//! Face detection with five landmarks: YuNet (`face_detection_yunet_2023mar.onnx`).
//!
//! The model takes a fixed 640×640 BGR image (0–255, NCHW). The input photo is scaled to
//! fit (never beyond 640 on its longer side) and placed at the top-left of a black canvas;
//! outputs at strides 8/16/32 are decoded as OpenCV's `FaceDetectorYN` does, then
//! non-maximum suppression keeps the best box per face.

use image::RgbImage;
use ort::value::TensorRef;
use serde::Serialize;

use crate::VisionError;
use crate::runtime::SessionPool;

/// Side of YuNet's square input.
pub const INPUT: u32 = 640;
/// Minimum detection score kept.
pub const SCORE_THRESHOLD: f32 = 0.6;
/// IoU above which the weaker of two boxes is dropped.
pub const NMS_IOU: f32 = 0.3;

/// A detected face in the coordinates of the input image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Face {
    /// Detector score in [0, 1].
    pub confidence: f32,
    /// Box left edge, px.
    pub x: f32,
    /// Box top edge, px.
    pub y: f32,
    /// Box width, px.
    pub width: f32,
    /// Box height, px.
    pub height: f32,
    /// Right eye, left eye, nose tip, right and left mouth corners (subject's sides).
    pub landmarks: [[f32; 2]; 5],
}

impl Face {
    /// Box area in px².
    pub fn area(&self) -> f32 {
        self.width * self.height
    }

    fn iou(&self, other: &Face) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        inter / (self.area() + other.area() - inter).max(f32::EPSILON)
    }
}

/// Detects every face in `img`, best first.
///
/// A face that fills the whole frame (a tight crop) can escape the detector; when nothing is
/// found, the image is retried once on a canvas with a margin of a quarter of its size.
pub fn detect(pool: &SessionPool, img: &RgbImage) -> Result<Vec<Face>, VisionError> {
    let faces = detect_once(pool, img)?;
    if !faces.is_empty() {
        return Ok(faces);
    }
    let (w, h) = img.dimensions();
    let (mx, my) = (w / 4, h / 4);
    let mut canvas = RgbImage::new(w + 2 * mx, h + 2 * my);
    image::imageops::replace(&mut canvas, img, i64::from(mx), i64::from(my));
    let faces = detect_once(pool, &canvas)?;
    Ok(faces
        .into_iter()
        .map(|mut f| {
            f.x -= mx as f32;
            f.y -= my as f32;
            for lm in &mut f.landmarks {
                lm[0] -= mx as f32;
                lm[1] -= my as f32;
            }
            clip(f, w as f32, h as f32)
        })
        .collect())
}

fn detect_once(pool: &SessionPool, img: &RgbImage) -> Result<Vec<Face>, VisionError> {
    let (w, h) = img.dimensions();
    let scale = (INPUT as f32 / w.max(h) as f32).min(4.0);
    let (sw, sh) = (
        ((w as f32 * scale).round() as u32).clamp(1, INPUT),
        ((h as f32 * scale).round() as u32).clamp(1, INPUT),
    );
    let resized;
    let src = if (sw, sh) == (w, h) {
        img
    } else {
        resized = idv_image::resize(img, sw, sh);
        &resized
    };
    let plane = (INPUT * INPUT) as usize;
    let mut input = vec![0f32; 3 * plane];
    for (x, y, px) in src.enumerate_pixels() {
        let i = (y * INPUT + x) as usize;
        input[i] = px[2] as f32;
        input[plane + i] = px[1] as f32;
        input[2 * plane + i] = px[0] as f32;
    }
    let shape = [1usize, 3, INPUT as usize, INPUT as usize];
    let mut faces = pool.with(|session| -> Result<Vec<Face>, VisionError> {
        let outputs = session
            .run(ort::inputs!["input" => TensorRef::from_array_view((shape, input.as_slice()))?])?;
        let mut faces = Vec::new();
        for stride in [8u32, 16, 32] {
            let get = |name: &str| -> Result<&[f32], VisionError> {
                let key = format!("{name}_{stride}");
                let value = outputs.get(key.as_str()).ok_or(VisionError::BadOutput {
                    model: "yunet",
                    detail: format!("missing {key}"),
                })?;
                Ok(value.try_extract_tensor::<f32>()?.1)
            };
            let (cls, obj, bbox, kps) = (get("cls")?, get("obj")?, get("bbox")?, get("kps")?);
            let cols = (INPUT / stride) as usize;
            let cells = cols * cols;
            if cls.len() != cells || bbox.len() != cells * 4 || kps.len() != cells * 10 {
                return Err(VisionError::BadOutput {
                    model: "yunet",
                    detail: format!("stride {stride}: {} cells", cls.len()),
                });
            }
            let s = stride as f32;
            for i in 0..cells {
                let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
                if score < SCORE_THRESHOLD {
                    continue;
                }
                let (row, col) = ((i / cols) as f32, (i % cols) as f32);
                let b = &bbox[i * 4..i * 4 + 4];
                let cx = (col + b[0]) * s;
                let cy = (row + b[1]) * s;
                let bw = b[2].exp() * s;
                let bh = b[3].exp() * s;
                let k = &kps[i * 10..i * 10 + 10];
                let mut landmarks = [[0f32; 2]; 5];
                for (j, lm) in landmarks.iter_mut().enumerate() {
                    *lm = [
                        (col + k[2 * j]) * s / scale,
                        (row + k[2 * j + 1]) * s / scale,
                    ];
                }
                faces.push(Face {
                    confidence: score,
                    x: (cx - bw / 2.0) / scale,
                    y: (cy - bh / 2.0) / scale,
                    width: bw / scale,
                    height: bh / scale,
                    landmarks,
                });
            }
        }
        Ok(faces)
    })?;
    faces.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<Face> = Vec::with_capacity(faces.len());
    for face in faces {
        if kept.iter().all(|k| k.iou(&face) <= NMS_IOU) {
            kept.push(clip(face, w as f32, h as f32));
        }
    }
    Ok(kept)
}

/// Clips a box to the image (landmarks are left as predicted).
fn clip(mut f: Face, w: f32, h: f32) -> Face {
    let x2 = (f.x + f.width).min(w);
    let y2 = (f.y + f.height).min(h);
    f.x = f.x.max(0.0);
    f.y = f.y.max(0.0);
    f.width = (x2 - f.x).max(0.0);
    f.height = (y2 - f.y).max(0.0);
    f
}

/// A point, as the Kairos dialect writes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A face in Kairos's `faces_predicted` shape: box as `top_left` + `delta` (width, height).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacePrediction {
    pub confidence: f64,
    pub top_left: Point,
    pub delta: Point,
    pub landmarks: [[f64; 2]; 5],
}

/// Rounds to four decimals, as the Kairos examples print scores and coordinates.
pub fn round4(v: f32) -> f64 {
    (f64::from(v) * 10_000.0).round() / 10_000.0
}

impl From<&Face> for FacePrediction {
    fn from(f: &Face) -> Self {
        FacePrediction {
            confidence: round4(f.confidence),
            top_left: Point {
                x: round4(f.x),
                y: round4(f.y),
            },
            delta: Point {
                x: round4(f.width),
                y: round4(f.height),
            },
            landmarks: f.landmarks.map(|[x, y]| [round4(x), round4(y)]),
        }
    }
}
