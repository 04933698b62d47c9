//! Passive liveness: is the selfie's face a live person, or a print or screen held up to the
//! camera? Two MiniFASNet classifiers (Silent-Face-Anti-Spoofing, Apache-2.0; `models/minifasnet/`)
//! each look at the face with a different amount of context around it; idv averages their
//! P(live).
//!
//! The models only work on the input they were trained with, so the preprocessing follows the
//! original code exactly (each deviation was measured to cost accuracy; see
//! `models/minifasnet/README.md`): the face box scaled by 2.7 or 4.0 about its centre — the
//! scale lowered until the window fits the image, the window shifted inside, never padded —
//! resized to 80×80 with OpenCV's plain bilinear `INTER_LINEAR` ([`resize_linear`]), BGR planes
//! of 0–255 floats, softmax, P(live) = class 1.
//!
//! The models need room around the face. [`capture_all`] says when a selfie cannot be judged:
//! the face fills the frame, is cut by the border, is too small, or shares the frame with a
//! second face nearly as large.

use image::RgbImage;
use ort::value::TensorRef;
use serde::Serialize;

use crate::VisionError;
use crate::detect::Face;
use crate::runtime::SessionPool;

/// Side of the models' square input.
pub const INPUT: u32 = 80;

/// The two models: file in the models directory, crop scale, short name.
pub const MODELS: [(&str, f64, &str); 2] = [
    ("2.7_80x80_MiniFASNetV2.onnx", 2.7, "minifasnet-v2"),
    ("4_0_0_80x80_MiniFASNetV1SE.onnx", 4.0, "minifasnet-v1se"),
];

/// Below this many face sizes of image across the face (in width or height), the models see
/// too little context to judge (tight crops, faces filling the frame). On the development set
/// tight crops span at most 1.4 face sizes (YuNet boxes), full-frame selfies at least 1.5, and
/// live faces down to 1.5 still scored as live.
pub const MIN_CONTEXT: f64 = 1.5;
/// Faces narrower than this (px) are too small to judge.
pub const MIN_FACE_PX: f32 = 48.0;
/// A face box closer than this share of its size to the image border is cut by it.
const BORDER_MARGIN: f32 = 0.02;

/// The liveness of one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Liveness {
    /// Mean P(live) of the two models, in [0, 1] (1 = live).
    pub score: f32,
    /// P(live) of each model (mean over its two crops), in the order of [`MODELS`].
    pub models: [f32; 2],
}

/// Why a selfie's liveness cannot be judged; the user should retake it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureIssue {
    /// The face fills the frame or is cut by its border: the models need room around it.
    TooClose,
    /// The face is too small to judge.
    TooSmall,
    /// Another face nearly as large as the main one: whose liveness counts cannot be told.
    SeveralFaces,
}

impl CaptureIssue {
    /// Stable detail code.
    pub fn code(self) -> &'static str {
        match self {
            CaptureIssue::TooClose => "SELFIE_TOO_CLOSE",
            CaptureIssue::TooSmall => "SELFIE_FACE_TOO_SMALL",
            CaptureIssue::SeveralFaces => "MULTIPLE_FACES",
        }
    }

    /// What the user should do, for decision details.
    pub fn description(self) -> &'static str {
        match self {
            CaptureIssue::TooClose => {
                "The face fills the selfie or is cut by its border, so liveness cannot be judged; retake the selfie at arm's length with the whole head and some background in view."
            }
            CaptureIssue::TooSmall => {
                "The face in the selfie is too small to judge liveness; retake the selfie closer to the camera."
            }
            CaptureIssue::SeveralFaces => {
                "Several people are in the selfie, so liveness cannot be attributed; retake the selfie with only the applicant in view."
            }
        }
    }
}

/// A second face at least this share of the main face's area makes the selfie ambiguous.
pub const SECOND_FACE_AREA: f32 = 0.25;

/// Whether the main face (`faces[0]`) of an image of `width`×`height` can be judged for
/// liveness: its own framing (see [`capture`]), then no second face nearly as large.
pub fn capture_all(width: u32, height: u32, faces: &[Face]) -> Option<CaptureIssue> {
    let main = faces.first()?;
    capture(width, height, main).or_else(|| {
        faces[1..]
            .iter()
            .any(|f| f.area() >= SECOND_FACE_AREA * main.area())
            .then_some(CaptureIssue::SeveralFaces)
    })
}

/// Whether a face in an image of `width`×`height` can be judged for liveness.
pub fn capture(width: u32, height: u32, face: &Face) -> Option<CaptureIssue> {
    let (w, h) = (width as f32, height as f32);
    let margin_x = face.width * BORDER_MARGIN;
    let margin_y = face.height * BORDER_MARGIN;
    let cut = face.x <= margin_x
        || face.y <= margin_y
        || face.x + face.width >= w - margin_x
        || face.y + face.height >= h - margin_y;
    if cut || context(width, height, face) < MIN_CONTEXT {
        Some(CaptureIssue::TooClose)
    } else if face.width < MIN_FACE_PX {
        Some(CaptureIssue::TooSmall)
    } else {
        None
    }
}

/// How many face sizes the image spans around the face, in its tighter direction.
pub fn context(width: u32, height: u32, face: &Face) -> f64 {
    let fw = f64::from(face.width.max(1.0));
    let fh = f64::from(face.height.max(1.0));
    (f64::from(width) / fw).min(f64::from(height) / fh)
}

/// Scores one face of `img`: each model (`pools` in the order of [`MODELS`]) on both
/// [`boxes`] in one batch, P(live) averaged. The two models run on two threads.
pub fn score(
    pools: &[SessionPool; 2],
    img: &RgbImage,
    face: &Face,
) -> Result<Liveness, VisionError> {
    let crops = boxes(face);
    let mean = |ps: Vec<f32>| ps.iter().sum::<f32>() / ps.len() as f32;
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| run(&pools[0], 0, img, &crops));
        let second = run(&pools[1], 1, img, &crops);
        (first.join(), second)
    });
    let first = first.map_err(|_| VisionError::BadOutput {
        model: MODELS[0].2,
        detail: "the scoring thread panicked".into(),
    })??;
    let models = [mean(first), mean(second?)];
    Ok(Liveness {
        score: (models[0] + models[1]) / 2.0,
        models,
    })
}

/// P(live) of each model for one box `[x, y, w, h]`, as the original code crops it.
pub fn score_box(
    pools: &[SessionPool; 2],
    img: &RgbImage,
    b: [f64; 4],
) -> Result<[f32; 2], VisionError> {
    Ok([
        run(&pools[0], 0, img, &[b])?[0],
        run(&pools[1], 1, img, &[b])?[0],
    ])
}

/// P(live) of model `i` for each box, in one batch.
fn run(
    pool: &SessionPool,
    i: usize,
    img: &RgbImage,
    boxes: &[[f64; 4]],
) -> Result<Vec<f32>, VisionError> {
    let (_, scale, name) = MODELS[i];
    let mut input = Vec::with_capacity(boxes.len() * 3 * (INPUT * INPUT) as usize);
    for &b in boxes {
        input.extend(model_input(img, b, scale));
    }
    let shape = [boxes.len(), 3, INPUT as usize, INPUT as usize];
    pool.with(|session| {
        let outputs = session.run(ort::inputs![TensorRef::from_array_view((
            shape,
            input.as_slice()
        ))?])?;
        let (_, logits) = outputs[0].try_extract_tensor::<f32>()?;
        let ps: Option<Vec<f32>> = logits.chunks(3).map(p_live).collect();
        match ps {
            Some(ps) if ps.len() == boxes.len() => Ok(ps),
            _ => Err(VisionError::BadOutput {
                model: name,
                detail: format!("{} logits for {} crops", logits.len(), boxes.len()),
            }),
        }
    })
}

/// Softmax of three logits, class 1 (live).
fn p_live(logits: &[f32]) -> Option<f32> {
    if logits.len() != 3 {
        return None;
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|&z| (z - max).exp()).collect();
    Some(e[1] / e.iter().sum::<f32>())
}

/// The two boxes each model sees a YuNet `face` through, as `[x, y, w, h]`: YuNet's own, and
/// YuNet's mapped to the RetinaFace box the models were trained with (see [`retinaface_box`]).
pub fn boxes(face: &Face) -> [[f64; 4]; 2] {
    let raw = [face.x, face.y, face.width, face.height].map(f64::from);
    [raw, retinaface_box(face)]
}

/// A YuNet `face` box mapped to the box the original code's RetinaFace detector draws.
///
/// RetinaFace boxes are wider, shorter and lower than YuNet's (on the three reference samples:
/// width ×1.13–1.22, height ×0.86–0.94, centre 5–8 % of the height lower). The scores move
/// with the box: on the development set's full-frame selfies the 5th percentile of live scores
/// is 0.37 through YuNet's box and 0.82 through this one, while single attacks moved either way
/// (the print sample F1 0.22 → 0.03, F2 0.002 → 0.24). Averaging both boxes was the most stable
/// (AUC 1.000 on full frames; attacks' 95th percentile 0.16, live 5th percentile 0.58).
pub fn retinaface_box(face: &Face) -> [f64; 4] {
    let (w, h) = (f64::from(face.width), f64::from(face.height));
    let cx = f64::from(face.x) + w / 2.0;
    let cy = f64::from(face.y) + h / 2.0 + BOX_SHIFT * h;
    let (w, h) = (w * BOX_WIDTH, h * BOX_HEIGHT);
    [cx - w / 2.0, cy - h / 2.0, w, h]
}

const BOX_WIDTH: f64 = 1.17;
const BOX_HEIGHT: f64 = 0.9;
const BOX_SHIFT: f64 = 0.07;

/// The model input for the face box `b` (`[x, y, w, h]`) at crop `scale`: `[3, 80, 80]`
/// B, G, R planes, 0–255.
pub fn model_input(img: &RgbImage, b: [f64; 4], scale: f64) -> Vec<f32> {
    let window = crop_window(img.width(), img.height(), b, scale);
    let rgb = resize_linear(img, window, INPUT, INPUT);
    let plane = (INPUT * INPUT) as usize;
    let mut input = vec![0f32; 3 * plane];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        input[i] = f32::from(px[2]);
        input[plane + i] = f32::from(px[1]);
        input[2 * plane + i] = f32::from(px[0]);
    }
    input
}

/// The crop window of the original code for box `[x, y, w, h]` at `scale`, as inclusive
/// pixel bounds `[x0, y0, x1, y1]`: the box scaled about its centre, the scale lowered until
/// the window fits the image, a window crossing a border shifted back inside (never padded),
/// corners truncated.
pub fn crop_window(width: u32, height: u32, b: [f64; 4], scale: f64) -> [u32; 4] {
    let (wmax, hmax) = (f64::from(width) - 1.0, f64::from(height) - 1.0);
    let [x, y, w, h] = [b[0], b[1], b[2].max(1.0), b[3].max(1.0)];
    let s = scale.min(hmax / h).min(wmax / w);
    let (nw, nh) = (w * s, h * s);
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    let (mut x0, mut y0, mut x1, mut y1) =
        (cx - nw / 2.0, cy - nh / 2.0, cx + nw / 2.0, cy + nh / 2.0);
    if x0 < 0.0 {
        x1 -= x0;
        x0 = 0.0;
    }
    if y0 < 0.0 {
        y1 -= y0;
        y0 = 0.0;
    }
    if x1 > wmax {
        x0 -= x1 - wmax;
        x1 = wmax;
    }
    if y1 > hmax {
        y0 -= y1 - hmax;
        y1 = hmax;
    }
    // `as` truncates toward zero like Python's int() (the corners are ≥ 0 here) and saturates.
    [x0 as u32, y0 as u32, x1 as u32, y1 as u32]
}

/// Source indices and the second tap's weight per output index, as OpenCV's `INTER_LINEAR`
/// computes them: half-pixel centres, float32 positions, edge clamp, 11-bit fixed point.
fn taps(n_out: u32, n_in: u32) -> Vec<(usize, usize, i64, i64)> {
    let ratio = f64::from(n_in) / f64::from(n_out);
    (0..n_out)
        .map(|i| {
            let pos = ((f64::from(i) + 0.5) * ratio - 0.5) as f32;
            let mut i0 = pos.floor() as i64;
            let mut frac = pos - i0 as f32;
            if i0 < 0 {
                i0 = 0;
                frac = 0.0;
            }
            if i0 >= i64::from(n_in) - 1 {
                i0 = i64::from(n_in) - 1;
                frac = 0.0;
            }
            let i0 = i0 as usize;
            let i1 = (i0 + 1).min(n_in as usize - 1);
            let w0 = ((1.0 - frac) * 2048.0).round_ties_even() as i64;
            let w1 = (frac * 2048.0).round_ties_even() as i64;
            (i0, i1, w0, w1)
        })
        .collect()
}

/// The inclusive `window` `[x0, y0, x1, y1]` of `img` resized to `out_w`×`out_h` as
/// `cv2.resize(…, INTER_LINEAR)` does on uint8 (bit-exact with OpenCV 4.x on x86-64): two taps
/// per axis, no anti-aliasing. Returns packed RGB.
///
/// [`idv_image::resize`] is a smoothing filter and the wrong tool here: the liveness models
/// were trained on this interpolation's aliasing (with it BPCER at 0.35 went 3.6 % → 21.8 %).
pub fn resize_linear(img: &RgbImage, window: [u32; 4], out_w: u32, out_h: u32) -> Vec<u8> {
    let (wmax, hmax) = (
        img.width().saturating_sub(1),
        img.height().saturating_sub(1),
    );
    let [x0, y0, x1, y1] = window;
    let (x1, y1) = (x1.min(wmax), y1.min(hmax));
    let (x0, y0) = (x0.min(x1), y0.min(y1));
    let (in_w, in_h) = (x1 - x0 + 1, y1 - y0 + 1);
    let xs = taps(out_w, in_w);
    let ys = taps(out_h, in_h);
    let src = img.as_raw();
    let stride = img.width() as usize * 3;
    let at = |x: usize, y: usize, c: usize| {
        i64::from(src[(y0 as usize + y) * stride + (x0 as usize + x) * 3 + c])
    };
    // Horizontal pass per source row needed, in int32 as OpenCV does.
    let horizontal = |y: usize| -> Vec<i64> {
        let mut row = Vec::with_capacity(out_w as usize * 3);
        for &(i0, i1, a0, a1) in &xs {
            for c in 0..3 {
                row.push(at(i0, y, c) * a0 + at(i1, y, c) * a1);
            }
        }
        row
    };
    let mut out = Vec::with_capacity((out_w * out_h * 3) as usize);
    for &(j0, j1, b0, b1) in &ys {
        let (h0, h1) = (horizontal(j0), horizontal(j1));
        for (&p, &q) in h0.iter().zip(&h1) {
            let p = (p >> 4).clamp(-32768, 32767);
            let q = (q >> 4).clamp(-32768, 32767);
            let v = ((p * b0) >> 16) + ((q * b1) >> 16);
            out.push(((v + 2) >> 2).clamp(0, 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked windows of `models/minifasnet/README.md` (checked against the original code).
    #[test]
    fn crop_windows_match_the_original_code() {
        #[rustfmt::skip]
        let cases = [
            (1080, 1440, [400, 500, 200, 220], [230, 313, 770, 907], [100, 170, 900, 1050]),
            (1080, 1440, [10, 600, 200, 220], [0, 413, 540, 1007], [0, 270, 800, 1150]),
            (1080, 1440, [700, 1200, 300, 330], [269, 548, 1079, 1439], [0, 252, 1079, 1439]),
            (480, 640, [106, 147, 207, 213], [0, 7, 479, 499], [0, 7, 479, 499]),
        ];
        for (w, h, b, at27, at40) in cases {
            let b = b.map(f64::from);
            assert_eq!(crop_window(w, h, b, 2.7), at27, "{b:?} at 2.7");
            assert_eq!(crop_window(w, h, b, 4.0), at40, "{b:?} at 4.0");
        }
    }

    fn synth(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let (x, y) = (u64::from(x), u64::from(y));
            image::Rgb([
                ((x * 7 + y * 13 + (x * y) % 11) % 256) as u8,
                ((x * x + y * 3) % 256) as u8,
                ((x * 11 + y * y) % 256) as u8,
            ])
        })
    }

    /// Reference values from `cv2.resize(img, (80, 80), interpolation=cv2.INTER_LINEAR)`
    /// (opencv-python-headless 4.x) on the same synthetic images: sum, a position-weighted
    /// sum, and eight samples of the packed output. (Known difference: when a crop is
    /// *enlarged* vertically, OpenCV's first and last rows come out 1 grey level lower; the
    /// liveness crops are never enlarged, faces under 48 px being refused first.)
    #[test]
    fn resize_is_opencv_inter_linear() {
        #[rustfmt::skip]
        let cases: [(u32, u32, u64, u64, [u8; 8]); 4] = [
            (61, 97, 2432217, 304971520, [1, 0, 0, 111, 122, 168, 227, 155]),
            (97, 200, 2434514, 305062983, [10, 2, 2, 36, 129, 126, 178, 102]),
            (410, 530, 2437172, 306239035, [57, 13, 31, 198, 213, 108, 69, 70]),
            (1080, 900, 2447183, 307210247, [117, 54, 95, 224, 67, 112, 131, 29]),
        ];
        for (w, h, sum, weighted, samples) in cases {
            let out = resize_linear(&synth(w, h), [0, 0, w - 1, h - 1], 80, 80);
            assert_eq!(out.len(), 80 * 80 * 3);
            let s: u64 = out.iter().map(|&v| u64::from(v)).sum();
            let ws: u64 = out
                .iter()
                .enumerate()
                .map(|(i, &v)| u64::from(v) * (i as u64 % 251 + 1))
                .sum();
            let picks = [0, 1, 2, 1000, 5000, 9999, 12345, 19199].map(|i| out[i]);
            assert_eq!((s, ws, picks), (sum, weighted, samples), "{w}x{h}");
        }
    }

    #[test]
    fn softmax_class_one() {
        let p = p_live(&[0.0, 2.0, 0.0]).unwrap();
        assert!((p - 0.7869).abs() < 1e-3);
        assert!(p_live(&[1.0]).is_none());
    }

    fn face(x: f32, y: f32, w: f32, h: f32) -> Face {
        Face {
            confidence: 0.9,
            x,
            y,
            width: w,
            height: h,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn capture_needs_room_around_a_face_of_some_size() {
        assert_eq!(capture(480, 640, &face(106.0, 147.0, 207.0, 213.0)), None);
        // A tight crop: the face fills the frame.
        assert_eq!(
            capture(300, 360, &face(40.0, 40.0, 220.0, 280.0)),
            Some(CaptureIssue::TooClose)
        );
        // Cut by the left border.
        assert_eq!(
            capture(1280, 720, &face(0.0, 200.0, 200.0, 250.0)),
            Some(CaptureIssue::TooClose)
        );
        assert_eq!(
            capture(1280, 720, &face(600.0, 300.0, 30.0, 36.0)),
            Some(CaptureIssue::TooSmall)
        );
    }
}
