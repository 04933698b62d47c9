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
use crate::{aamva, licence_line, pdf417, viz};

/// Longer side of the text-detection input for printed fields (small print on a card).
const VIZ_DET_SIDE: u32 = 960;

/// What kind of document the caller says it is (the one-call `documentType`); `Auto` decides
/// from the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    #[default]
    Auto,
    Passport,
    DriversLicense,
    NationalId,
}

/// A PDF417 symbol read from one side.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BarcodeReport {
    pub format: &'static str,
    /// `front` or `back`.
    pub side: &'static str,
    /// AAMVA card design standard version (0: pre-standard header).
    pub aamva_version: u8,
    /// Issuer identification number.
    pub iin: String,
    /// Degrees the photo was turned to decode it.
    pub turned: f32,
}

/// Loaded OCR models; build once per process and share (`Arc<DocumentEngine>`).
pub struct DocumentEngine {
    ocr: Ocr,
}

/// What idv read from a document and what it found wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// What the document is: `passport`, `national_id`, `visa`, `travel_document`,
    /// `drivers_license`, `id_card`, or `None` when nothing identified it.
    pub document_type: Option<&'static str>,
    /// The machine-readable zone, when one was read.
    pub mrz: Option<Zone>,
    /// The one-line MRZ of an EU driving licence, when one was read (verified check digit).
    pub licence_line: Option<licence_line::LicenceLine>,
    /// The AAMVA barcode, when one was read.
    pub barcode: Option<BarcodeReport>,
    pub data: DocumentData,
    pub checks: Vec<Check>,
    /// Quality of the front photo.
    pub quality: Quality,
    /// Which side the MRZ was read from: `front` or `back`.
    pub mrz_side: Option<&'static str>,
}

impl DocumentReport {
    /// idv's code for the document model, in the form of LINK's `ICAR_RESULT_DOCUMENT_ID`
    /// (the seed's `IDESPC1` is a Spanish identity card in TD1 format): two letters for the
    /// kind (`PA` passport, `ID` identity card, `DL` driving licence, `VI` visa, `TD` travel
    /// document), the issuing state's alpha-3 code, then the layout read: `C1`/`C2` for a
    /// TD1/TD2 card, `P3` for a TD3 booklet, `VA`/`VB` for visas, `L1` for an EU licence's
    /// one-line MRZ, `A` and the AAMVA version for a licence barcode, `F1` for printed fields
    /// only. `None` when neither kind nor state is known.
    pub fn model_code(&self) -> Option<String> {
        let kind = match self.document_type? {
            "passport" => "PA",
            "drivers_license" => "DL",
            "visa" => "VI",
            "travel_document" => "TD",
            _ => "ID",
        };
        let state = &self.data.country_iso3.as_ref()?.value;
        let layout = match (&self.mrz, &self.licence_line, &self.barcode) {
            (Some(z), _, _) => match z.format {
                "TD1" => "C1".to_string(),
                "TD2" => "C2".to_string(),
                "TD3" => "P3".to_string(),
                "MRV-A" => "VA".to_string(),
                "MRV-B" => "VB".to_string(),
                _ => "M0".to_string(),
            },
            (None, _, Some(b)) => format!("A{:02}", b.aamva_version),
            (None, Some(_), None) => "L1".to_string(),
            (None, None, None) => "F1".to_string(),
        };
        Some(format!("{kind}{state}{layout}"))
    }
}

/// A side's MRZ, or why there is none and the licence line found instead.
type ZoneOrLine = (Result<Zone, String>, Option<licence_line::LicenceLine>);

/// A side's AAMVA barcode: the symbol and its parsed data.
type Aamva = (pdf417::Symbol, aamva::Aamva);

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
        Ok(self.read_zone_or_line(img)?.0)
    }

    /// Reads the MRZ of one side; when there is none, the one-line MRZ of an EU licence.
    fn read_zone_or_line(&self, img: &RgbImage) -> Result<ZoneOrLine, VisionError> {
        let (lines, _) = self.ocr.mrz_lines(img)?;
        if lines.is_empty() {
            return Ok((Err("no text lines shaped like an MRZ".into()), None));
        }
        match Zone::read_ocr(&lines) {
            Ok(z) => Ok((Ok(z), None)),
            Err(e) => Ok((
                Err(e.to_string()),
                lines.iter().find_map(|l| licence_line::read(&l.text)),
            )),
        }
    }

    /// Reads the AAMVA barcode of one side, if it has one, with the attempts `search` names.
    pub fn read_barcode(img: &RgbImage, search: pdf417::Search) -> Option<Aamva> {
        let symbol = pdf417::decode_with(&image::imageops::grayscale(img), search)?;
        let data = aamva::parse(&symbol.text).ok()?;
        Some((symbol, data))
    }

    /// Reads the printed fields of a card front (no MRZ, no barcode).
    pub fn read_printed(&self, img: &RgbImage, today: Ymd) -> Result<viz::Printed, VisionError> {
        let mut boxes = self.ocr.detect_at(img, VIZ_DET_SIDE)?;
        // Titles, photos and signatures stand out by their height; field lines do not.
        let mut heights: Vec<f32> = boxes.iter().map(|b| b.height).collect();
        heights.sort_by(f32::total_cmp);
        let median = heights.get(heights.len() / 2).copied().unwrap_or(0.0);
        boxes.retain(|b| b.height >= 6.0 && b.width >= 0.5 * b.height && b.height < 1.8 * median);
        // A lone letter's own principal axis says little about the text's direction (an `F`
        // turned 8° came out read as `n`): it takes the lines' median angle.
        if let Some(theta) = crate::ocr::median_angle(boxes.iter(), 3.0) {
            for b in boxes.iter_mut().filter(|b| b.width < 2.0 * b.height) {
                let turn = (b.angle - theta).rem_euclid(std::f32::consts::PI);
                if (std::f32::consts::FRAC_PI_4..3.0 * std::f32::consts::FRAC_PI_4).contains(&turn)
                {
                    std::mem::swap(&mut b.width, &mut b.height);
                }
                b.angle = theta;
            }
        }
        let mut lines = self.ocr.read_texts(img, &boxes)?;
        // A lone letter (a sex, a class) is boxed tightly: read unsure, it is read again with
        // some margin (which tells F from T), and the surer reading kept.
        for line in &mut lines {
            if line.bbox.width < 2.0 * line.bbox.height && line.confidence < 0.6 {
                let mut wider = line.bbox;
                wider.width += 0.6 * wider.height;
                let again = self.ocr.read_text(img, &wider)?;
                if again.confidence > line.confidence {
                    line.text = again.text;
                    line.confidence = again.confidence;
                }
            }
        }
        Ok(viz::read(&lines, today))
    }

    /// Reads a document: front, and back when given (a TD1 card's MRZ is on the back).
    pub fn read(
        &self,
        front: &RgbImage,
        back: Option<&RgbImage>,
        settings: &CheckSettings,
        today: Ymd,
    ) -> Result<DocumentReport, VisionError> {
        self.read_as(front, back, settings, today, Hint::Auto)
    }

    /// [`read`](Self::read) with the caller's word on what the document is: a driving licence
    /// is searched for a barcode first, a passport never.
    pub fn read_as(
        &self,
        front: &RgbImage,
        back: Option<&RgbImage>,
        settings: &CheckSettings,
        today: Ymd,
        hint: Hint,
    ) -> Result<DocumentReport, VisionError> {
        let barcodes = hint != Hint::Passport;
        // A first look for a located barcode (a licence back sent as the document): when it
        // reads, the MRZ search is skipped. Image quality runs beside it all.
        let (quality, (front_code, front_zone)) = std::thread::scope(|scope| {
            let quality = scope.spawn(|| quality::measure(front));
            let code = if barcodes {
                Self::read_barcode(front, pdf417::Search::Located)
            } else {
                None
            };
            // A driving licence carries no MRZ on its front (an EU licence's, if any, is on
            // the back).
            let zone = match code {
                Some(_) => Ok((Err("the front carries a barcode".to_owned()), None)),
                None if hint == Hint::DriversLicense => {
                    Ok((Err("a driving licence front has no MRZ".to_owned()), None))
                }
                None => self.read_zone_or_line(front),
            };
            (
                quality.join().unwrap_or(Quality {
                    sharpness: 0.0,
                    glare: 0.0,
                }),
                (code, zone),
            )
        });
        let (front_zone, front_line) = front_zone?;
        let mut checks = checks::quality_checks(&quality, settings);
        let back_code = match back {
            Some(b) if barcodes && front_code.is_none() => {
                Self::read_barcode(b, pdf417::Search::All)
            }
            _ => None,
        };
        let (back_zone, back_line) = match back {
            Some(b) if back_code.is_none() => {
                let (zone, line) = self.read_zone_or_line(b)?;
                (Some(zone), line)
            }
            _ => (None, None),
        };
        let licence_line = front_line.or(back_line);
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
        // The printed fields of a front that carries neither an MRZ nor a barcode (a licence
        // or ID-card front; a TD1 card whose MRZ is on the back).
        let printed = if side != Some("front") && front_code.is_none() && hint != Hint::Passport {
            Some(self.read_printed(front, today)?).filter(|p| {
                let d = &p.data;
                d.document_number.is_some() || d.last_name.is_some() || d.dob.is_some()
            })
        } else {
            None
        };
        // The whole-photo barcode search on the front (the located one already failed) only
        // when the caller says it is a licence and no printed field was read (a back sent
        // alone); a card front would pay for it in vain (~80 ms).
        let front_code = match front_code {
            None if hint == Hint::DriversLicense && back.is_none() && printed.is_none() => {
                Self::read_barcode(front, pdf417::Search::Whole)
            }
            c => c,
        };
        let code = front_code
            .map(|c| (c, "front"))
            .or(back_code.map(|c| (c, "back")));
        let mut data = DocumentData::default();
        let mut document_type = None;
        let mut barcode = None;
        if let Some(((symbol, a), side)) = &code {
            data = DocumentData::from_aamva(a, today);
            document_type = Some(a.document_type());
            barcode = Some(BarcodeReport {
                format: "PDF417",
                side,
                aamva_version: a.version,
                iin: a.iin.clone(),
                turned: symbol.turned,
            });
        }
        match (&zone, missing) {
            (Some(z), _) => {
                let from_zone = DocumentData::from_zone(z, today);
                if code.is_some() {
                    checks.extend(checks::sources_agree(&from_zone, &data, "MRZ", "barcode"));
                } else {
                    document_type = Some(crate::data::document_kind(&z.parsed.document_type));
                    data = from_zone;
                }
                checks.extend(checks::zone_checks(z, &data, settings));
            }
            (None, Some(why)) if code.is_none() && printed.is_none() && licence_line.is_none() => {
                checks.push(checks::zone_missing(&why))
            }
            _ => {}
        }
        if zone.is_none() && code.is_some() {
            // The symbol decoded with its error correction: glare did not hide anything.
            checks.retain(|c| c.code != "GLARE");
            checks.extend(checks::data_checks(&data, settings));
        }
        if let Some(p) = &printed {
            if zone.is_none() && code.is_none() {
                document_type = p.document_type;
                data = p.data.clone();
                checks.extend(checks::data_checks(&data, settings));
            } else {
                let other = if code.is_some() { "barcode" } else { "MRZ" };
                checks.extend(checks::sources_agree(
                    &p.data,
                    &data,
                    "printed fields",
                    other,
                ));
                document_type = document_type.or(p.document_type);
                data.fill_missing(&p.data);
            }
            if !checks.iter().any(|c| c.code == "FAKE_ID") {
                checks.extend(checks::specimen_text(&p.lines));
            }
        }
        // An EU licence's one-line MRZ: its state, and the printed number checked against it.
        if let Some(l) = &licence_line {
            document_type = document_type.or(Some("drivers_license"));
            data.mark_licence_line(l);
            if let Some(n) = &data.document_number
                && n.source == crate::data::Source::Viz
            {
                if l.holds(&n.value) {
                    data.document_number = Some(crate::data::Field {
                        value: n.value.clone(),
                        confidence: 1.0,
                        source: crate::data::Source::Mrz,
                    });
                } else {
                    checks.push(checks::licence_line_mismatch(&n.value));
                }
            }
        }
        Ok(DocumentReport {
            document_type,
            licence_line,
            mrz: zone,
            barcode,
            data,
            checks,
            quality,
            mrz_side: side,
        })
    }
}
