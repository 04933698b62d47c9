//! The chip part of a verification: Passive and Active Authentication (`idv-chip`), DG1
//! against the printed MRZ the document part read, and DG2's portrait against the selfie and
//! the printed portrait.

use idv_chip::{Chip, TrustStore};
use serde::Serialize;

use crate::profile::Band;

/// What the pipeline is given of a chip.
pub struct ChipInput<'a> {
    pub chip: &'a Chip,
    pub trust: &'a TrustStore,
    /// Why Active Authentication was asked for and could not be judged (the challenge was
    /// unknown, used or expired).
    pub aa_refused: Option<&'a str>,
}

/// DG2's portrait compared with the selfie and the printed portrait (calibrated
/// confidences, 0–1).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChipFaces {
    pub selfie: Option<f32>,
    pub portrait: Option<f32>,
    /// Why DG2's portrait could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ChipFaces {
    /// The lower of the two confidences and what it compared DG2 with (`selfie` or
    /// `printed portrait`).
    pub fn worst(&self) -> Option<(f32, &'static str)> {
        [(self.selfie, "selfie"), (self.portrait, "printed portrait")]
            .into_iter()
            .filter_map(|(c, what)| c.map(|c| (c, what)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }
}

/// The chip's verdict.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChipReport {
    /// Passive Authentication holds, DG1 agrees with the printed MRZ, Active Authentication
    /// (when asked for) holds and DG2's face (when given) matches.
    pub verified: bool,
    /// `CHIP_VERIFIED`, or the findings that failed: `CHIP_INVALID`, `CHIP_MRZ_MISMATCH`,
    /// `CHIP_FACE_MISMATCH`, `CHIP_CLONED`.
    pub findings: Vec<&'static str>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub report: idv_chip::Report,
    /// Whether Active Authentication was asked for and could not be judged, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aa_refused: Option<String>,
    pub face_match: Option<ChipFaces>,
    /// DG1's fields, as the printed MRZ's are read (the state's own when `verified`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<idv_document::DocumentData>,
}

impl ChipReport {
    /// Verifies the chip; `faces` is DG2's comparison (when DG2 was given).
    pub fn new(
        input: &ChipInput,
        printed_mrz: Option<&str>,
        faces: Option<ChipFaces>,
        band: Band,
        today: idv_document::Ymd,
    ) -> ChipReport {
        let report = idv_chip::verify(input.chip, input.trust, printed_mrz);
        let data = report
            .chip_mrz
            .as_deref()
            .map(|m| idv_chip::lds::mrz_lines(m).join("\n"))
            .and_then(|text| idv_document::Zone::read(&text).ok())
            .map(|zone| idv_document::DocumentData::from_zone(&zone, today));
        let mut findings = Vec::new();
        if !report.passive_authentication.valid {
            findings.push("CHIP_INVALID");
        }
        if report.mrz_match == Some(false) {
            findings.push("CHIP_MRZ_MISMATCH");
        }
        if input.aa_refused.is_some()
            || report
                .active_authentication
                .as_ref()
                .is_some_and(|a| !a.valid)
        {
            findings.push("CHIP_CLONED");
        }
        if faces
            .as_ref()
            .and_then(ChipFaces::worst)
            .is_some_and(|(c, _)| f64::from(c) < band.review_below)
        {
            findings.push("CHIP_FACE_MISMATCH");
        }
        let verified = findings.is_empty();
        if verified {
            findings.push("CHIP_VERIFIED");
        }
        ChipReport {
            verified,
            findings,
            report,
            aa_refused: input.aa_refused.map(str::to_string),
            face_match: faces,
            data,
        }
    }
}

/// DG2's face image, decoded (JPEG, or JPEG 2000 as most passports store it).
pub fn dg2_image(chip: &Chip) -> Option<Result<image::RgbImage, String>> {
    let dg2 = chip.dgs.get(&2)?;
    Some(match idv_chip::lds::dg2_image(dg2) {
        Err(e) => Err(e.to_string()),
        Ok((idv_chip::lds::ImageKind::Jpeg2000, bytes)) => jpeg2000(&bytes),
        Ok((idv_chip::lds::ImageKind::Jpeg, bytes)) => {
            idv_image::decode_rgb(&bytes, &idv_image::Limits::ANY).map_err(|e| e.to_string())
        }
    })
}

/// Largest DG2 portrait decoded (ICAO asks for about 420×525).
const MAX_PORTRAIT_PIXELS: u64 = 2000 * 2000;

/// A JPEG 2000 portrait (JP2 file or raw codestream) as RGB.
fn jpeg2000(bytes: &[u8]) -> Result<image::RgbImage, String> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, Image};
    let img =
        Image::new(bytes, &DecodeSettings::default()).map_err(|e| format!("JPEG 2000: {e:?}"))?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PORTRAIT_PIXELS {
        return Err(format!("JPEG 2000 portrait of {w}×{h} pixels"));
    }
    let colour = img.color_space().num_channels() as usize;
    let channels = colour + usize::from(img.has_alpha());
    if !matches!(
        img.color_space(),
        ColorSpace::Gray | ColorSpace::RGB | ColorSpace::Icc { .. }
    ) || !matches!(colour, 1 | 3)
    {
        return Err("JPEG 2000 portrait in a colour space other than grey or RGB".into());
    }
    let data = img.decode().map_err(|e| format!("JPEG 2000: {e:?}"))?;
    if data.len() != w as usize * h as usize * channels {
        return Err("JPEG 2000 portrait decoded to an unexpected size".into());
    }
    Ok(image::RgbImage::from_fn(w, h, |x, y| {
        let at = (y as usize * w as usize + x as usize) * channels;
        if colour == 1 {
            image::Rgb([data[at]; 3])
        } else {
            image::Rgb([data[at], data[at + 1], data[at + 2]])
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DG2 around an image: 75 { 7F61 { 02 01 01, 7F60 { A1 {}, 5F2E { image } } } }.
    fn dg2(image: &[u8]) -> Vec<u8> {
        fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
            let mut v = tag.to_vec();
            let n = content.len();
            v.extend([0x82, (n >> 8) as u8, n as u8]);
            v.extend(content);
            v
        }
        let block = tlv(
            &[0x5f, 0x2e],
            &[b"FAC\x00010\x00".as_slice(), image].concat(),
        );
        let inst = tlv(&[0x7f, 0x60], &[tlv(&[0xa1], &[]), block].concat());
        tlv(
            &[0x75],
            &tlv(&[0x7f, 0x61], &[vec![0x02, 0x01, 0x01], inst].concat()),
        )
    }

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures")
                .join(rel),
        )
        .unwrap()
    }

    #[test]
    fn jpeg_2000_and_jpeg_portraits_decode_alike() {
        let mut chip = Chip::default();
        chip.dgs.insert(2, dg2(&fixture("chip/portrait.jp2")));
        let jp2 = dg2_image(&chip).unwrap().unwrap();
        chip.dgs.insert(2, fixture("chip/dg2.bin"));
        let jpeg = dg2_image(&chip).unwrap().unwrap();
        assert_eq!(jp2.dimensions(), (240, 308));
        assert_eq!(jp2.dimensions(), jpeg.dimensions());
        // The same portrait at two compressions: close on average.
        let diff: u64 = jp2
            .as_raw()
            .iter()
            .zip(jpeg.as_raw())
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / jp2.as_raw().len() as f64;
        assert!(mean < 8.0, "mean difference {mean}");
        // Not an image at all: an error, not a panic.
        chip.dgs.insert(2, dg2(b"\0\0\0\x0cjP  garbage"));
        assert!(dg2_image(&chip).unwrap().is_err());
    }
}
