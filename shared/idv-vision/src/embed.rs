//! Face embeddings: MobileFaceNet (192-d), on aligned 112×112 RGB crops scaled to (x − 127.5) / 128.

use image::RgbImage;
use ort::value::TensorRef;

use crate::VisionError;
use crate::align::SIZE;
use crate::runtime::SessionPool;

/// Length of an embedding.
pub const DIM: usize = 192;
/// The converted model has a fixed batch of two.
const BATCH: usize = 2;

/// A unit-length face embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    /// Cosine similarity of two unit vectors, in [-1, 1].
    pub fn cosine(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }
}

/// Embeds aligned crops, two per model run.
pub fn embed(pool: &SessionPool, crops: &[&RgbImage]) -> Result<Vec<Embedding>, VisionError> {
    let per = (SIZE * SIZE * 3) as usize;
    let mut out = Vec::with_capacity(crops.len());
    for chunk in crops.chunks(BATCH) {
        let mut input = vec![0f32; BATCH * per];
        for (slot, crop) in input.chunks_mut(per).zip(chunk) {
            for (dst, &src) in slot.iter_mut().zip(crop.as_raw().iter()) {
                *dst = (src as f32 - 127.5) / 128.0;
            }
        }
        let shape = [BATCH, SIZE as usize, SIZE as usize, 3];
        let vectors = pool.with(|session| -> Result<Vec<f32>, VisionError> {
            let outputs = session.run(
                ort::inputs!["input" => TensorRef::from_array_view((shape, input.as_slice()))?],
            )?;
            let (_, data) = outputs[0].try_extract_tensor::<f32>()?;
            Ok(data.to_vec())
        })?;
        if vectors.len() != BATCH * DIM {
            return Err(VisionError::BadOutput {
                model: "mobilefacenet",
                detail: format!("{} values", vectors.len()),
            });
        }
        for v in vectors.chunks(DIM).take(chunk.len()) {
            let norm = v
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
                .max(f32::EPSILON);
            out.push(Embedding(v.iter().map(|x| x / norm).collect()));
        }
    }
    Ok(out)
}
