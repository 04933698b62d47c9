//! Finds and decodes the PDF417 barcode on a photo (the back of a US or Canadian licence).
//!
//! ZXing's PDF417 detector (here through `rxing`, its Rust port) finds symbols at 0, 90, 180
//! and 270 degrees but stops decoding past two or three degrees of skew. So a photo that does
//! not decode as it is gets straightened first: the dominant edge direction of the image
//! (a PDF417 symbol is hundreds of parallel bar edges) gives its skew, the image is turned
//! back by that angle (the detector handles the remaining quarter turns, upside down
//! included), and a few neighbouring angles are tried around it.

use image::GrayImage;
use rxing::common::HybridBinarizer;
use rxing::pdf417::PDF417Reader;
use rxing::{BinaryBitmap, DecodeHints, Luma8LuminanceSource, Reader};

/// Longest side the decoder works on; larger photos are scaled down first.
const MAX_SIDE: u32 = 2000;
/// Side of the thumbnail the skew is measured on.
const SKEW_SIDE: u32 = 800;
/// Angles (degrees) tried around the measured skew when it alone does not decode.
const NEAR: [f32; 4] = [1.5, -1.5, 3.0, -3.0];

/// A decoded symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    /// The message, bytes as ISO-8859-1 characters unless the symbol says otherwise.
    pub text: String,
    /// Degrees the photo was turned before it decoded (0 when it decoded as it was).
    pub turned: f32,
    /// Decoding attempts made.
    pub attempts: u32,
}

fn try_decode(img: &GrayImage, reader: &mut PDF417Reader) -> Option<String> {
    let source =
        Luma8LuminanceSource::new(img.as_raw().clone(), img.width(), img.height()).ok()?;
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    reader
        .decode_with_hints(&mut BinaryBitmap::new(HybridBinarizer::new(source)), &hints)
        .ok()
        .map(|r| r.getText().to_owned())
}

/// The turn (degrees, for [`turn`], within [-45, 45)) that makes the strongest family of
/// edges in `img` vertical or horizontal.
pub fn skew(img: &GrayImage) -> f32 {
    let scale = (SKEW_SIDE as f32 / img.width().max(img.height()) as f32).min(1.0);
    let small = if scale < 1.0 {
        image::imageops::resize(
            img,
            ((img.width() as f32 * scale) as u32).max(1),
            ((img.height() as f32 * scale) as u32).max(1),
            image::imageops::FilterType::Triangle,
        )
    } else {
        img.clone()
    };
    // Softened first: the stair steps of an aliased edge pull its gradient towards the axes.
    let small = image::imageops::blur(&small, 1.0);
    // Histogram of gradient direction modulo 90° in quarter-degree bins, weighted by
    // magnitude: both the bars (vertical edges) and the rows (horizontal edges) vote.
    const BINS: usize = 360;
    let mut hist = [0f64; BINS];
    let (w, h) = small.dimensions();
    let p = |x: u32, y: u32| f32::from(small.get_pixel(x, y)[0]);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let gx = p(x + 1, y - 1) + 2.0 * p(x + 1, y) + p(x + 1, y + 1)
                - p(x - 1, y - 1)
                - 2.0 * p(x - 1, y)
                - p(x - 1, y + 1);
            let gy = p(x - 1, y + 1) + 2.0 * p(x, y + 1) + p(x + 1, y + 1)
                - p(x - 1, y - 1)
                - 2.0 * p(x, y - 1)
                - p(x + 1, y - 1);
            let mag = (gx * gx + gy * gy).sqrt();
            if mag < 100.0 {
                continue;
            }
            let deg = gy.atan2(gx).to_degrees().rem_euclid(90.0);
            hist[((deg * 4.0) as usize).min(BINS - 1)] += f64::from(mag);
        }
    }
    // Smooth over ±1° (circularly) and take the peak.
    let best = (0..BINS)
        .max_by(|&a, &b| {
            let s = |i: usize| (0..9).map(|k| hist[(i + BINS + k - 4) % BINS]).sum::<f64>();
            s(a).total_cmp(&s(b))
        })
        .unwrap_or(0);
    let deg = best as f32 / 4.0 + 0.125;
    if deg >= 45.0 { deg - 90.0 } else { deg }
}

/// `img` turned by `deg` degrees (counter-clockwise on screen = positive) about its centre,
/// on a canvas large enough to hold it, filled with white.
pub fn turn(img: &GrayImage, deg: f32) -> GrayImage {
    let (s, c) = deg.to_radians().sin_cos();
    let (w, h) = (img.width() as f32, img.height() as f32);
    let ow = (w * c.abs() + h * s.abs()).ceil() as u32;
    let oh = (w * s.abs() + h * c.abs()).ceil() as u32;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ocx, ocy) = (ow as f32 / 2.0, oh as f32 / 2.0);
    GrayImage::from_fn(ow, oh, |x, y| {
        // Output → source: the inverse rotation.
        let (dx, dy) = (x as f32 + 0.5 - ocx, y as f32 + 0.5 - ocy);
        let u = c * dx - s * dy + cx - 0.5;
        let v = s * dx + c * dy + cy - 0.5;
        if u < 0.0 || v < 0.0 || u > w - 1.0 || v > h - 1.0 {
            return image::Luma([255]);
        }
        let (x0, y0) = (u as u32, v as u32);
        let (x1, y1) = ((x0 + 1).min(img.width() - 1), (y0 + 1).min(img.height() - 1));
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let g = |x, y| f32::from(img.get_pixel(x, y)[0]);
        let top = g(x0, y0) * (1.0 - fx) + g(x1, y0) * fx;
        let bottom = g(x0, y1) * (1.0 - fx) + g(x1, y1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy + 0.5) as u8])
    })
}

/// Finds and decodes one PDF417 symbol, straightening the photo when it has to.
pub fn decode(img: &GrayImage) -> Option<Symbol> {
    let scale = MAX_SIDE as f32 / img.width().max(img.height()) as f32;
    let owned;
    let img = if scale < 1.0 {
        owned = image::imageops::resize(
            img,
            (img.width() as f32 * scale) as u32,
            (img.height() as f32 * scale) as u32,
            image::imageops::FilterType::Triangle,
        );
        &owned
    } else {
        img
    };
    let mut reader = PDF417Reader::default();
    let mut attempts = 1;
    if let Some(text) = try_decode(img, &mut reader) {
        return Some(Symbol {
            text,
            turned: 0.0,
            attempts,
        });
    }
    let skew = skew(img);
    let mut angles = vec![skew];
    angles.extend(NEAR.iter().map(|d| skew + d));
    for deg in angles {
        if deg.abs() < 0.25 && attempts == 1 && skew.abs() < 0.25 {
            continue;
        }
        attempts += 1;
        if let Some(text) = try_decode(&turn(img, deg), &mut reader) {
            return Some(Symbol {
                text,
                turned: deg,
                attempts,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_skew_of_turned_stripes() {
        // Vertical stripes 6 px wide, turned by 7°: the measured turn undoes it.
        let stripes = GrayImage::from_fn(400, 300, |x, _| {
            image::Luma([if x / 6 % 2 == 0 { 0 } else { 255 }])
        });
        let s = skew(&turn(&stripes, 7.0));
        assert!((s + 7.0).abs() < 0.6, "skew {s}");
        let s = skew(&turn(&stripes, -11.0));
        assert!((s - 11.0).abs() < 0.6, "skew {s}");
    }
}
