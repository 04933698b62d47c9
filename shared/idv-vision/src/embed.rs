//! Face embeddings: MobileFaceNet (192-d), on aligned 112×112 RGB crops scaled to (x − 127.5) / 128,
//! beside dlib's ResNet descriptor ([`crate::descriptor`]); an [`Embedding`] holds both and
//! compares them with the fused similarity of [`crate::calibrate::fuse`].

use image::RgbImage;
use ort::value::TensorRef;

use crate::VisionError;
use crate::align::SIZE;
use crate::runtime::SessionPool;

/// Length of an embedding.
pub const DIM: usize = 192;
/// The converted model has a fixed batch of two.
const BATCH: usize = 2;

/// A face's two unit-length vectors: MobileFaceNet's and dlib's descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    pub mobilefacenet: Vec<f32>,
    pub dlib: Vec<f32>,
}

impl Embedding {
    /// Cosine similarity per model (MobileFaceNet, dlib), each in [-1, 1].
    pub fn cosines(&self, other: &Embedding) -> [f32; 2] {
        [
            dot(&self.mobilefacenet, &other.mobilefacenet),
            dot(&self.dlib, &other.dlib),
        ]
    }

    /// The fused similarity of two faces (see [`crate::calibrate::fuse`]).
    pub fn similarity(&self, other: &Embedding) -> f32 {
        crate::calibrate::fuse(self.cosines(other))
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `v` scaled to unit length.
pub fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    v.iter().map(|x| x / norm).collect()
}

/// MobileFaceNet vectors of aligned 112×112 crops, two per model run, unit length.
pub fn embed(pool: &SessionPool, crops: &[&RgbImage]) -> Result<Vec<Vec<f32>>, VisionError> {
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
        out.extend(vectors.chunks(DIM).take(chunk.len()).map(unit));
    }
    Ok(out)
}
