//! Image intake shared by every part of idv.
//!
//! Every image that enters idv goes through [`decode`]: the format is sniffed from the bytes
//! (JPEG, PNG, WebP and BMP — phones and scanners send BMP — nothing else), the byte size and the declared pixel dimensions are checked
//! against [`Limits`] *before* any pixel is decoded (so a decompression bomb costs nothing),
//! then the image is decoded and its EXIF orientation applied, so that phone photos arrive
//! upright.
//!
//! ```no_run
//! let bytes = std::fs::read("selfie.jpg")?;
//! let img = idv_image::decode(&bytes, &idv_image::Limits::SELFIE)?;
//! println!("{}x{}", img.width(), img.height());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Cursor;

mod resize;
pub use resize::resize;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

/// Bounds an input image must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum encoded size in bytes.
    pub max_bytes: usize,
    /// Minimum length of the image's shorter side, in pixels.
    pub min_side: u32,
    /// Maximum length of the image's longer side, in pixels.
    pub max_side: u32,
    /// Maximum decoded pixel count (width × height).
    pub max_pixels: u64,
}

/// 15 MB, the seeds' per-image upload limit.
pub const MAX_BYTES: usize = 15 * 1024 * 1024;

impl Limits {
    /// Selfies and face photos: 300–5000 px (Kairos seeds).
    pub const SELFIE: Limits = Limits {
        max_bytes: MAX_BYTES,
        min_side: 300,
        max_side: 5000,
        max_pixels: 5000 * 5000,
    };
    /// The photo a selfie is compared with (Kairos biometric `image`): the seed asks for 300 px
    /// but its own example answers for a 150×200 image, so 150–5000 px.
    pub const COMPARED: Limits = Limits {
        max_bytes: MAX_BYTES,
        min_side: 150,
        max_side: 5000,
        max_pixels: 5000 * 5000,
    };
    /// Document photos, front or back: 240–5000 px (Kairos seeds).
    pub const DOCUMENT: Limits = Limits {
        max_bytes: MAX_BYTES,
        min_side: 240,
        max_side: 5000,
        max_pixels: 5000 * 5000,
    };
    /// Tools and evaluation: no minimum, the same maximums.
    pub const ANY: Limits = Limits {
        max_bytes: MAX_BYTES,
        min_side: 1,
        max_side: 5000,
        max_pixels: 5000 * 5000,
    };
}

/// Why an image was refused. Every variant is the client's fault and maps to a 4xx.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// The input holds no bytes.
    #[error("the image is empty")]
    Empty,
    /// More bytes than [`Limits::max_bytes`].
    #[error("the image is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    /// Not JPEG, PNG or WebP.
    #[error("unsupported image format: only JPEG, PNG, WebP and BMP are accepted")]
    UnsupportedFormat,
    /// Declared dimensions outside [`Limits`], detected before decoding.
    #[error(
        "image is {width}x{height} px; accepted: shorter side >= {min_side}, longer side <= {max_side}"
    )]
    BadDimensions {
        width: u32,
        height: u32,
        min_side: u32,
        max_side: u32,
    },
    /// The bytes claim a supported format but do not decode.
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
}

impl ImageError {
    /// Stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "IMAGE_EMPTY",
            ImageError::TooLarge { .. } => "IMAGE_TOO_LARGE",
            ImageError::UnsupportedFormat => "UNSUPPORTED_MEDIA_TYPE",
            ImageError::BadDimensions { .. } => "IMAGE_DIMENSIONS",
            ImageError::Corrupt(_) => "IMAGE_CORRUPT",
        }
    }

    /// The HTTP status this error should be answered with.
    pub fn http_status(&self) -> u16 {
        match self {
            ImageError::TooLarge { .. } => 413,
            ImageError::UnsupportedFormat => 415,
            _ => 400,
        }
    }
}

/// Sniffs the format from magic bytes; only the four accepted formats are recognised.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::WebP),
        // "BM" and the rest of the 14-byte file header.
        [b'B', b'M', _, _, _, _, _, _, _, _, _, _, _, _, ..] => Some(ImageFormat::Bmp),
        _ => None,
    }
}

/// Validates and decodes an image, applying its EXIF orientation.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes).ok_or(ImageError::UnsupportedFormat)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // The decoder's own allocation cap is a second guard behind the dimension check.
    let mut alloc = image::Limits::default();
    alloc.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(alloc);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ImageError::Corrupt(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let (short, long) = (width.min(height), width.max(height));
    if short < limits.min_side
        || long > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ImageError::BadDimensions {
            width,
            height,
            min_side: limits.min_side,
            max_side: limits.max_side,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| ImageError::Corrupt(e.to_string()))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Pixels idv works on at most: a larger image (up to [`Limits::max_pixels`]) is scaled
/// down to this right after decoding. 4096×3072 px, so a 12-megapixel phone photo stays as
/// taken, while a 25-megapixel upload holds half the memory through the pipeline.
pub const WORK_PIXELS: u64 = 4096 * 3072;

/// Decodes straight to 8-bit RGB, the form every model in idv consumes, scaled down to at
/// most [`WORK_PIXELS`].
pub fn decode_rgb(bytes: &[u8], limits: &Limits) -> Result<RgbImage, ImageError> {
    let rgb = match decode(bytes, limits)? {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    };
    Ok(within_work_size(rgb))
}

/// `img`, or `img` scaled down (aspect kept) to at most [`WORK_PIXELS`].
pub fn within_work_size(img: RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels <= WORK_PIXELS {
        return img;
    }
    let scale = (WORK_PIXELS as f64 / pixels as f64).sqrt();
    let fit = |side: u32| ((f64::from(side) * scale).floor() as u32).max(1);
    resize(&img, fit(w), fit(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, codecs::png::PngEncoder};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let px = vec![128u8; (width * height * 3) as usize];
        PngEncoder::new(&mut out)
            .write_image(&px, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn large_images_are_scaled_to_the_work_size() {
        let img = decode_rgb(&png(5000, 4000), &Limits::ANY).unwrap();
        let (w, h) = img.dimensions();
        assert!(u64::from(w) * u64::from(h) <= WORK_PIXELS, "{w}x{h}");
        assert!(
            w > 3900 && (f64::from(w) / f64::from(h) - 1.25).abs() < 0.01,
            "{w}x{h}"
        );
        let phone = decode_rgb(&png(4032, 3024), &Limits::ANY).unwrap();
        assert_eq!(phone.dimensions(), (4032, 3024));
    }

    #[test]
    fn decodes_png_within_limits() {
        let img = decode(&png(320, 400), &Limits::SELFIE).unwrap();
        assert_eq!((img.width(), img.height()), (320, 400));
    }

    #[test]
    fn decodes_bmp_as_phones_and_scanners_send_it() {
        let mut bmp = Vec::new();
        let px: Vec<u8> = (0..400 * 320 * 3).map(|i| (i % 251) as u8).collect();
        image::codecs::bmp::BmpEncoder::new(&mut bmp)
            .write_image(&px, 400, 320, image::ExtendedColorType::Rgb8)
            .unwrap();
        assert_eq!(sniff_format(&bmp), Some(ImageFormat::Bmp));
        let img = decode_rgb(&bmp, &Limits::DOCUMENT).unwrap();
        assert_eq!((img.width(), img.height()), (400, 320));
        assert_eq!(img.as_raw()[..6], px[..6]);
        // A truncated BMP is corrupt, not a panic.
        assert!(decode(&bmp[..60], &Limits::ANY).is_err());
    }

    #[test]
    fn refuses_small_images() {
        let err = decode(&png(100, 400), &Limits::SELFIE).unwrap_err();
        assert_eq!(err.code(), "IMAGE_DIMENSIONS");
    }

    #[test]
    fn refuses_non_images_with_415() {
        let err = decode(b"%PDF-1.7 not an image", &Limits::ANY).unwrap_err();
        assert_eq!(err, ImageError::UnsupportedFormat);
        assert_eq!(err.http_status(), 415);
    }

    #[test]
    fn refuses_oversized_bodies_with_413() {
        let mut bytes = png(10, 10);
        bytes.resize(MAX_BYTES + 1, 0);
        assert_eq!(decode(&bytes, &Limits::ANY).unwrap_err().http_status(), 413);
    }

    #[test]
    fn refuses_decompression_bomb_before_decoding() {
        // A valid PNG header declaring 60000 x 60000 pixels, with almost no data behind it.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&60000u32.to_be_bytes());
        let err = decode(&bytes, &Limits::ANY).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::BadDimensions { .. } | ImageError::Corrupt(_)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn truncated_jpeg_is_corrupt_not_a_panic() {
        let err = decode(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], &Limits::ANY).unwrap_err();
        assert_eq!(err.code(), "IMAGE_CORRUPT");
    }

    #[test]
    fn applies_exif_orientation() {
        // A 40x20 JPEG tagged "rotate 90° clockwise" must come out 20x40.
        let mut jpeg = Vec::new();
        let px = vec![200u8; 40 * 20 * 3];
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .write_image(&px, 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        let with_exif = insert_exif_orientation(&jpeg, 6);
        let img = decode(&with_exif, &Limits::ANY).unwrap();
        assert_eq!((img.width(), img.height()), (20, 40));
    }

    /// Inserts an APP1 EXIF segment with one Orientation tag after the SOI marker.
    fn insert_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // big-endian, IFD at 8
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_be_bytes()); // count
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }
}
