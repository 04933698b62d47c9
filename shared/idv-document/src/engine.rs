//! [`DocumentEngine`]: read a document photo (front, optional back) end to end.

use idv_vision::{ModelPaths, VisionError};
use image::RgbImage;
use serde::Serialize;

use crate::checks::{self, Check, CheckSettings};
use crate::data::DocumentData;
use crate::date::Ymd;
use crate::ocr::Ocr;
use crate::quality::{self, Quality};
use crate::zone::Zone;

/// Loaded OCR models; build once per process and share (`Arc<DocumentEngine>`).
pub struct DocumentEngine {
    ocr: Ocr,
}

/// What idv read from a document and what it found wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// The machine-readable zone, when one was read.
    pub mrz: Option<Zone>,
    pub data: DocumentData,
    pub checks: Vec<Check>,
    /// Quality of the front photo.
    pub quality: Quality,
    /// Which side the MRZ was read from: `front` or `back`.
    pub mrz_side: Option<&'static str>,
}

impl DocumentEngine {
    /// Loads the OCR models from `models/dist` (see [`ModelPaths::locate`]).
    pub fn load_default() -> Result<DocumentEngine, VisionError> {
        Self::load(&ModelPaths::locate()?, 2, 2)
    }

    /// Loads with `sessions` parallel sessions per model, `threads` threads each.
    pub fn load(
        paths: &ModelPaths,
        sessions: usize,
        threads: usize,
    ) -> Result<DocumentEngine, VisionError> {
        Ok(DocumentEngine {
            ocr: Ocr::load(paths, sessions, threads)?,
        })
    }

    /// The OCR stage, for tools that want the raw lines.
    pub fn ocr(&self) -> &Ocr {
        &self.ocr
    }

    /// Reads the MRZ of one side, if it has one.
    pub fn read_zone(&self, img: &RgbImage) -> Result<Result<Zone, String>, VisionError> {
        let (lines, _) = self.ocr.mrz_lines(img)?;
        if lines.is_empty() {
            return Ok(Err("no text lines shaped like an MRZ".into()));
        }
        Ok(Zone::read_ocr(&lines).map_err(|e| e.to_string()))
    }

    /// Reads a document: front, and back when given (a TD1 card's MRZ is on the back).
    pub fn read(
        &self,
        front: &RgbImage,
        back: Option<&RgbImage>,
        settings: &CheckSettings,
        today: Ymd,
    ) -> Result<DocumentReport, VisionError> {
        // Image quality runs beside the OCR of the front.
        let (quality, front_zone) = std::thread::scope(|scope| {
            let quality = scope.spawn(|| quality::measure(front));
            let zone = self.read_zone(front);
            (
                quality.join().unwrap_or(Quality {
                    sharpness: 0.0,
                    glare: 0.0,
                }),
                zone,
            )
        });
        let front_zone = front_zone?;
        let mut checks = checks::quality_checks(&quality, settings);
        let back_zone = match back {
            Some(b) => Some(self.read_zone(b)?),
            None => None,
        };
        let (zone, side, missing) = match (front_zone, back_zone) {
            (Ok(f), Some(Ok(b))) => {
                checks.extend(checks::front_back(&f, &b));
                // Both sides carry a zone: prefer the one whose check digits verify.
                if b.valid && !f.valid {
                    (Some(b), Some("back"), None)
                } else {
                    (Some(f), Some("front"), None)
                }
            }
            (Ok(f), _) => (Some(f), Some("front"), None),
            (Err(_), Some(Ok(b))) => (Some(b), Some("back"), None),
            (Err(e), Some(Err(_))) | (Err(e), None) => (None, None, Some(e)),
        };
        let data = zone
            .as_ref()
            .map(|z| DocumentData::from_zone(z, today))
            .unwrap_or_default();
        match (&zone, missing) {
            (Some(z), _) => checks.extend(checks::zone_checks(z, &data, settings)),
            (None, Some(why)) => checks.push(checks::zone_missing(&why)),
            (None, None) => {}
        }
        Ok(DocumentReport {
            mrz: zone,
            data,
            checks,
            quality,
            mrz_side: side,
        })
    }
}
