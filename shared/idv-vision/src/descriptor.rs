//! dlib's ResNet face descriptor (128-d), rebuilt as ONNX from face-api.js's weights by
//! `models/faceapi2onnx.py`, on 150×150 RGB chips aligned to [`crate::align::DLIB_TEMPLATE`].
//! A second opinion beside MobileFaceNet: the two are fused in [`crate::embed::Embedding`].

use image::RgbImage;
use ort::value::TensorRef;

use crate::VisionError;
use crate::align::DLIB_SIZE;
use crate::runtime::SessionPool;

/// Length of a descriptor.
pub const DIM: usize = 128;

/// Unit-length descriptors of aligned chips, in one batch.
pub fn describe(pool: &SessionPool, chips: &[&RgbImage]) -> Result<Vec<Vec<f32>>, VisionError> {
    if chips.is_empty() {
        return Ok(Vec::new());
    }
    let per = (DLIB_SIZE * DLIB_SIZE * 3) as usize;
    let mut input = Vec::with_capacity(chips.len() * per);
    for chip in chips {
        input.extend(chip.as_raw().iter().map(|&v| f32::from(v)));
    }
    let shape = [chips.len(), DLIB_SIZE as usize, DLIB_SIZE as usize, 3];
    let values = pool.with(|session| -> Result<Vec<f32>, VisionError> {
        let outputs = session
            .run(ort::inputs!["input" => TensorRef::from_array_view((shape, input.as_slice()))?])?;
        let (_, data) = outputs[0].try_extract_tensor::<f32>()?;
        Ok(data.to_vec())
    })?;
    if values.len() != chips.len() * DIM {
        return Err(VisionError::BadOutput {
            model: "dlib_resnet",
            detail: format!("{} values for {} chips", values.len(), chips.len()),
        });
    }
    Ok(values.chunks(DIM).map(crate::embed::unit).collect())
}
