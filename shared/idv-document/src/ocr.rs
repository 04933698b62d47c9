//! Finding and reading the MRZ in a photo with PP-OCR (v6 small, from `rapidocr`) on ONNX Runtime.
//!
//! 1. **Text detection** (DBNet) on a copy scaled to [`DET_SIDE`] px: a probability map,
//!    thresholded, split into connected components.
//! 2. Each component becomes a **rotated box** (principal axis from its second moments, so a
//!    document turned by ±15° or more still gives straight lines), grown as DBNet's "unclip" does.
//! 3. MRZ lines are the **widest, long, thin boxes**; each is rectified to 48 px high and
//!    squeezed to ~20 px per character (measured to read `<` runs better than the natural width).
//! 4. **Text recognition** (CTC) restricted to the MRZ alphabet `A–Z 0–9 <` by masking every
//!    other class of the model's 18,708-character dictionary.
//!
//! The lines, top to bottom, then go to [`crate::zone::Zone::read`], which finds the zone,
//! fixes widths and repairs confusions under check-digit agreement.

use crate::read_line::{MRZ_ALPHABET, ReadLine};
use idv_vision::VisionError;
use idv_vision::align::warp;
use idv_vision::runtime::SessionPool;
use image::RgbImage;
use ort::value::TensorRef;

/// Longer side of the detection input.
pub const DET_SIDE: u32 = 512;
/// Probability above which a pixel is text.
const DET_THRESHOLD: f32 = 0.3;
/// DBNet's unclip ratio: how far a shrunk text region is grown back.
const UNCLIP: f32 = 1.6;
/// Height of the recognition input.
const REC_HEIGHT: u32 = 48;
/// Natural width over rectified width (see the module doc). Measured on 350 synthetic
/// documents: 1.5 reads 99 % exactly, 1.75 only 66 % (CTC needs ~2.5 frames of 8 px per
/// character to keep runs of `<` apart).
const REC_SQUEEZE: f32 = 1.5;
/// Natural width over rectified width for printed lines (recognition time grows with width).
const TEXT_SQUEEZE: f32 = 1.25;

/// A rotated text box in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub cx: f32,
    pub cy: f32,
    /// Along the text.
    pub width: f32,
    /// Across the text.
    pub height: f32,
    /// Radians, in (−π/2, π/2].
    pub angle: f32,
}

/// The median angle of the boxes at least `aspect` times as wide as high (the direction of a
/// card's text lines), if there is one.
pub fn median_angle<'a>(boxes: impl Iterator<Item = &'a TextBox>, aspect: f32) -> Option<f32> {
    let mut angles: Vec<f32> = boxes
        .filter(|b| b.width > aspect * b.height)
        .map(|b| b.angle)
        .collect();
    angles.sort_by(f32::total_cmp);
    angles.get(angles.len() / 2).copied()
}

/// Recognised lines and the boxes they were read from.
pub type ReadBand = (Vec<ReadLine>, Vec<TextBox>);

/// The MRZ-restricted recogniser's vocabulary: model class index → character.
struct Vocabulary {
    /// (class index, character), blank excluded.
    classes: Vec<(usize, char)>,
}

/// PP-OCR detection and recognition sessions.
pub struct Ocr {
    det: SessionPool,
    rec: SessionPool,
    vocab: Vocabulary,
    /// Latin letters, digits, punctuation and the space: the printed fields' alphabet.
    text_vocab: Vocabulary,
}

/// A printed line read with the general alphabet.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    /// Mean probability of the characters read.
    pub confidence: f32,
    pub bbox: TextBox,
}

/// Characters of printed fields: ASCII and the Latin-1 and Latin Extended-A letters.
fn latin(c: char) -> bool {
    (' '..='~').contains(&c) || ('À'..='ž').contains(&c)
}

impl Ocr {
    /// Loads `ppocr_det.onnx` and `ppocr_rec.onnx` from the models directory.
    pub fn load(
        paths: &idv_vision::ModelPaths,
        sessions: usize,
        threads: usize,
    ) -> Result<Ocr, VisionError> {
        let env = idv_vision::runtime::environment(paths)?;
        let det = SessionPool::new(
            env,
            "ppocr_det",
            &paths.file("ppocr_det.onnx")?,
            sessions,
            threads,
        )?;
        let rec = SessionPool::new(
            env,
            "ppocr_rec",
            &paths.file("ppocr_rec.onnx")?,
            sessions,
            threads,
        )?;
        let dict = rec.metadata("character").ok_or(VisionError::BadOutput {
            model: "ppocr_rec",
            detail: "no character list in the model metadata".into(),
        })?;
        // Class 0 is the CTC blank; classes 1..=n are the dictionary lines; then a space.
        let classes = dict
            .split('\n')
            .enumerate()
            .filter_map(|(i, s)| {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if MRZ_ALPHABET.contains(c) => Some((i + 1, c)),
                    _ => None,
                }
            })
            .collect::<Vec<_>>();
        let lines: Vec<&str> = dict.split('\n').collect();
        let mut text_classes: Vec<(usize, char)> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if latin(c) && c != ' ' => Some((i + 1, c)),
                    _ => None,
                }
            })
            .collect();
        text_classes.push((lines.len() + 1, ' '));
        let mut classes = classes;
        classes.sort_by_key(|&(_, c)| MRZ_ALPHABET.find(c));
        if classes.len() != MRZ_ALPHABET.len() {
            return Err(VisionError::BadOutput {
                model: "ppocr_rec",
                detail: format!(
                    "dictionary covers {} of the 37 MRZ characters",
                    classes.len()
                ),
            });
        }
        Ok(Ocr {
            det,
            rec,
            vocab: Vocabulary { classes },
            text_vocab: Vocabulary {
                classes: text_classes,
            },
        })
    }

    /// Text boxes in `img`, any orientation.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<TextBox>, VisionError> {
        self.detect_at(img, DET_SIDE)
    }

    /// Text boxes in `img` detected on a copy whose longer side is `side` px.
    pub fn detect_at(&self, img: &RgbImage, side: u32) -> Result<Vec<TextBox>, VisionError> {
        let (w, h) = img.dimensions();
        let scale = side as f32 / w.max(h) as f32;
        let round32 = |v: f32| ((v / 32.0).round() as u32).max(1) * 32;
        let (dw, dh) = (round32(w as f32 * scale), round32(h as f32 * scale));
        let small = idv_image::resize(img, dw, dh);
        let plane = (dw * dh) as usize;
        let mut input = vec![0f32; 3 * plane];
        // BGR, (x / 255 − 0.5) / 0.5, as rapidocr feeds OpenCV images.
        for (i, px) in small.pixels().enumerate() {
            for c in 0..3 {
                input[c * plane + i] = px[2 - c] as f32 / 127.5 - 1.0;
            }
        }
        let shape = [1usize, 3, dh as usize, dw as usize];
        let prob = self.det.with(|s| -> Result<Vec<f32>, VisionError> {
            let out = s.run(ort::inputs![TensorRef::from_array_view((
                shape,
                input.as_slice()
            ))?])?;
            Ok(out[0].try_extract_tensor::<f32>()?.1.to_vec())
        })?;
        if prob.len() != plane {
            return Err(VisionError::BadOutput {
                model: "ppocr_det",
                detail: format!("{} values", prob.len()),
            });
        }
        let (sx, sy) = (w as f32 / dw as f32, h as f32 / dh as f32);
        Ok(components(&prob, dw as usize, dh as usize)
            .into_iter()
            .filter_map(|pixels| rotated_box(&pixels))
            .map(|b| scale_box(b, sx, sy))
            .collect())
    }

    /// Reads text lines restricted to the MRZ alphabet.
    pub fn read_lines(
        &self,
        img: &RgbImage,
        boxes: &[TextBox],
    ) -> Result<Vec<ReadLine>, VisionError> {
        self.each_line(boxes, |b| self.read_line(img, b))
    }

    fn read_line(&self, img: &RgbImage, b: &TextBox) -> Result<ReadLine, VisionError> {
        let classes = &self.vocab.classes;
        self.recognise(&rectify(img, b), |probs, n| {
            // Greedy CTC decoding over blank + the MRZ classes only (the model ends in a
            // softmax). Each emitted character keeps the class probabilities of the frame
            // where it peaked, renormalised over the MRZ alphabet, for check-digit repair.
            let mut line = ReadLine::default();
            let mut prev = 0usize;
            let mut peak = 0f32;
            for step in probs.chunks(n) {
                let (mut best, mut best_p) = (0usize, step[0]);
                for (k, &(class, _)) in classes.iter().enumerate() {
                    if step[class] > best_p {
                        best_p = step[class];
                        best = k + 1;
                    }
                }
                if best != 0 && (best != prev || best_p > peak) {
                    let total: f32 = classes
                        .iter()
                        .map(|&(c, _)| step[c])
                        .sum::<f32>()
                        .max(f32::EPSILON);
                    let dist: Vec<f32> = classes.iter().map(|&(c, _)| step[c] / total).collect();
                    if best != prev {
                        line.text.push(classes[best - 1].1);
                        line.probabilities.push(dist);
                    } else if let Some(last) = line.probabilities.last_mut() {
                        *last = dist;
                    }
                    peak = best_p;
                }
                prev = best;
            }
            line
        })
    }

    /// Reads one printed line with the general alphabet, at its natural width (a short box,
    /// a lone `F` or `M`) or squeezed by [`TEXT_SQUEEZE`].
    pub fn read_text(&self, img: &RgbImage, b: &TextBox) -> Result<TextLine, VisionError> {
        let squeeze = if b.width < 4.0 * b.height {
            1.0
        } else {
            TEXT_SQUEEZE
        };
        let classes = &self.text_vocab.classes;
        self.recognise(&rectify_squeezed(img, b, squeeze), |probs, n| {
            // Greedy CTC over blank + the text classes.
            let (mut text, mut sum, mut count, mut prev) = (String::new(), 0f32, 0usize, 0usize);
            for step in probs.chunks(n) {
                let (mut best, mut best_p) = (0usize, step[0]);
                for (k, &(class, _)) in classes.iter().enumerate() {
                    if let Some(&p) = step.get(class)
                        && p > best_p
                    {
                        best_p = p;
                        best = k + 1;
                    }
                }
                if best != 0 && best != prev {
                    text.push(classes[best - 1].1);
                    sum += best_p;
                    count += 1;
                }
                prev = best;
            }
            TextLine {
                text: text.trim().to_owned(),
                confidence: sum / count.max(1) as f32,
                bbox: *b,
            }
        })
    }

    /// Runs the recogniser on a rectified line crop and hands `decode` its per-frame class
    /// probabilities (`n` classes a frame).
    fn recognise<R>(
        &self,
        crop: &RgbImage,
        decode: impl FnOnce(&[f32], usize) -> R,
    ) -> Result<R, VisionError> {
        let (input, shape) = rec_input(crop);
        self.rec.with(|s| -> Result<R, VisionError> {
            let out = s.run(ort::inputs![TensorRef::from_array_view((
                shape,
                input.as_slice()
            ))?])?;
            let (dims, probs) = out[0].try_extract_tensor::<f32>()?;
            let n = *dims.last().unwrap_or(&0) as usize;
            if n == 0 || probs.len() % n != 0 {
                return Err(VisionError::BadOutput {
                    model: "ppocr_rec",
                    detail: format!("shape {dims:?}"),
                });
            }
            Ok(decode(probs, n))
        })
    }

    /// Reads printed lines, one recogniser call each (see [`each_line`](Self::each_line)).
    /// Measured on 12 licence fronts (2 cores): batches of 8 lines of similar width were no
    /// faster, and their padding changed a few low-confidence reads.
    pub fn read_texts(
        &self,
        img: &RgbImage,
        boxes: &[TextBox],
    ) -> Result<Vec<TextLine>, VisionError> {
        self.each_line(boxes, |b| self.read_text(img, b))
    }

    /// `read` applied to every box, in the boxes' order, on as many threads as the recogniser
    /// has sessions, widest boxes first (a licence front's ~25 lines: 230 → 150 ms on 2 cores).
    fn each_line<T: Send>(
        &self,
        boxes: &[TextBox],
        read: impl Fn(&TextBox) -> Result<T, VisionError> + Sync,
    ) -> Result<Vec<T>, VisionError> {
        let workers = self.rec.size().min(boxes.len());
        if workers < 2 {
            return boxes.iter().map(read).collect();
        }
        let mut order: Vec<usize> = (0..boxes.len()).collect();
        order.sort_by(|&a, &b| boxes[b].width.total_cmp(&boxes[a].width));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            while let Some(&i) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            {
                done.push((i, read(&boxes[i])));
            }
            done
        };
        let done = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
            let mut done = work();
            for h in helpers {
                // A helper that panicked leaves its lines unread: reported below.
                done.extend(h.join().unwrap_or_default());
            }
            done
        });
        let mut read: Vec<Option<T>> = std::iter::repeat_with(|| None).take(boxes.len()).collect();
        for (i, r) in done {
            read[i] = Some(r?);
        }
        read.into_iter()
            .map(|r| {
                r.ok_or(VisionError::BadOutput {
                    model: "ppocr_rec",
                    detail: "a line was left unread".into(),
                })
            })
            .collect()
    }

    /// Long, thin text boxes (candidate MRZ lines), top to bottom along the text's normal so
    /// rotated documents keep their line order.
    pub fn line_candidates(&self, img: &RgbImage) -> Result<Vec<TextBox>, VisionError> {
        let side = img.width().max(img.height()) as f32;
        let mut boxes: Vec<TextBox> = self
            .detect(img)?
            .into_iter()
            .filter(|b| b.width > 8.0 * b.height && b.width > 0.25 * side)
            .collect();
        let widest = boxes.iter().map(|b| b.width).fold(0f32, f32::max);
        boxes.retain(|b| b.width >= 0.7 * widest);
        if let Some(first) = boxes.first().copied() {
            let (nx, ny) = (-first.angle.sin(), first.angle.cos());
            boxes.sort_by(|a, b| (a.cx * nx + a.cy * ny).total_cmp(&(b.cx * nx + b.cy * ny)));
        }
        Ok(boxes)
    }

    /// The MRZ band among the candidates: the bottom line and up to two lines straight above
    /// it of the same width (±12 %) and height (a taller box merged a line with something
    /// else) at line spacing.
    pub fn mrz_band(candidates: &[TextBox]) -> Vec<TextBox> {
        let Some(last) = candidates.last().copied() else {
            return Vec::new();
        };
        let mut band = vec![last];
        for b in candidates.iter().rev().skip(1) {
            let prev = band[band.len() - 1];
            let gap = ((prev.cx - b.cx).powi(2) + (prev.cy - b.cy).powi(2)).sqrt();
            if band.len() == 3
                || (b.width - last.width).abs() > 0.12 * last.width
                || b.height > 1.5 * last.height
                || gap > 3.5 * last.height
            {
                break;
            }
            band.push(*b);
        }
        band.reverse();
        band
    }

    /// Finds and reads the MRZ: the band at the bottom first; when that does not parse, up to
    /// four of the widest lines; then the band completed above it at the line pitch.
    /// Returns the recognised lines and their boxes.
    pub fn mrz_lines(&self, img: &RgbImage) -> Result<ReadBand, VisionError> {
        let candidates = self.line_candidates(img)?;
        let band = Self::mrz_band(&candidates);
        let lines = self.read_lines(img, &band)?;
        if band.len() >= 2 && crate::zone::Zone::read_ocr(&lines).is_ok() {
            return Ok((lines, band));
        }
        // The band is a suffix of the candidates (it grows upward from the bottom line), so
        // of the four widest-and-lowest lines only those above the band are still unread.
        let wider = candidates[candidates.len().saturating_sub(4)..].to_vec();
        let unread = wider.len().saturating_sub(band.len());
        let mut wider_lines = self.read_lines(img, &wider[..unread])?;
        wider_lines.extend_from_slice(&lines);
        if crate::zone::Zone::read_ocr(&wider_lines).is_ok() {
            return Ok((wider_lines, wider));
        }
        // Completing the band is worth its reads only when the band is an MRZ line: one that
        // holds a filler `<` (a name, an optional field). Printed lines on a card front read
        // without one (measured on 12 licence fronts and 33 generated fronts: 4 reads, ~100 ms
        // each front, saved).
        if !lines.iter().any(|l| l.text.contains('<')) {
            return Ok((wider_lines, wider));
        }
        Ok(self
            .complete_band(img, &band, &lines)?
            .unwrap_or((wider_lines, wider)))
    }

    /// Reads the lines a band lacks where they must be. On a guilloche or a printed pattern
    /// the detector can merge the top MRZ line with what is above it into one tall box that
    /// reads as nothing; the missing lines are then straight above the band's top line, as
    /// wide, at the line pitch (measured between the band's lines, else tried at 0.85–1.3
    /// line heights). Of the completions that parse, keeps the one the recogniser is surest of.
    fn complete_band(
        &self,
        img: &RgbImage,
        band: &[TextBox],
        lines: &[ReadLine],
    ) -> Result<Option<ReadBand>, VisionError> {
        let (Some(top), Some(bottom), Some(last)) = (band.first(), band.last(), lines.last())
        else {
            return Ok(None);
        };
        // 30 characters a line: TD1, three lines; 36 or 44: two lines.
        let wanted = if last.text.len().abs_diff(30) <= 3 {
            3
        } else {
            2
        };
        if band.len() >= wanted {
            return Ok(None);
        }
        let pitches: Vec<f32> = match band {
            [.., a, b] => vec![((a.cx - b.cx).powi(2) + (a.cy - b.cy).powi(2)).sqrt()],
            _ => [0.85, 1.0, 1.15, 1.3]
                .iter()
                .map(|k| k * bottom.height)
                .collect(),
        };
        let (nx, ny) = (-top.angle.sin(), top.angle.cos());
        let mut best: Option<(f32, Vec<ReadLine>, Vec<TextBox>)> = None;
        for pitch in pitches {
            let added: Vec<TextBox> = (1..=wanted - band.len())
                .rev()
                .map(|i| TextBox {
                    cx: top.cx - nx * pitch * i as f32,
                    cy: top.cy - ny * pitch * i as f32,
                    width: bottom.width,
                    height: bottom.height,
                    angle: top.angle,
                })
                .collect();
            let mut all_lines = self.read_lines(img, &added)?;
            all_lines.extend_from_slice(lines);
            if crate::zone::Zone::read_ocr(&all_lines).is_err() {
                continue;
            }
            let sure = certainty(&all_lines);
            if best.as_ref().is_none_or(|b| sure > b.0) {
                let mut boxes = added;
                boxes.extend_from_slice(band);
                best = Some((sure, all_lines, boxes));
            }
        }
        Ok(best.map(|(_, l, b)| (l, b)))
    }
}

/// Mean probability of the characters read (each character's share of its frame).
fn certainty(lines: &[ReadLine]) -> f32 {
    let (sum, n) = lines
        .iter()
        .flat_map(|l| l.probabilities.iter())
        .map(|p| p.iter().copied().fold(0f32, f32::max))
        .fold((0f32, 0usize), |(s, n), p| (s + p, n + 1));
    sum / n.max(1) as f32
}

/// 4-connected components of the thresholded probability map, as pixel centres.
fn components(prob: &[f32], w: usize, h: usize) -> Vec<Vec<(f32, f32)>> {
    crate::raster::components(w, h, |i| prob[i] > DET_THRESHOLD)
        .into_iter()
        .filter(|pixels| pixels.len() >= 12)
        .map(|pixels| {
            pixels
                .iter()
                .map(|&i| ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5))
                .collect()
        })
        .collect()
}

/// The rotated rectangle of a component, grown by the unclip distance.
fn rotated_box(pixels: &[(f32, f32)]) -> Option<TextBox> {
    if pixels.is_empty() {
        return None;
    }
    let n = pixels.len() as f32;
    let pts = pixels.iter().copied();
    let (sx, sy) = pts
        .clone()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (mut cxx, mut cyy, mut cxy) = (0f32, 0f32, 0f32);
    for (x, y) in pts.clone() {
        cxx += (x - mx) * (x - mx);
        cyy += (y - my) * (y - my);
        cxy += (x - mx) * (y - my);
    }
    let mut angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    if angle > std::f32::consts::FRAC_PI_2 {
        angle -= std::f32::consts::PI;
    }
    let (ux, uy) = (angle.cos(), angle.sin());
    let (mut lo_u, mut hi_u, mut lo_v, mut hi_v) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (x, y) in pts {
        let (dx, dy) = (x - mx, y - my);
        let u = dx * ux + dy * uy;
        let v = -dx * uy + dy * ux;
        lo_u = lo_u.min(u - 0.5);
        hi_u = hi_u.max(u + 0.5);
        lo_v = lo_v.min(v - 0.5);
        hi_v = hi_v.max(v + 0.5);
    }
    let (bw, bh) = (hi_u - lo_u, hi_v - lo_v);
    let (cu, cv) = ((hi_u + lo_u) / 2.0, (hi_v + lo_v) / 2.0);
    let d = bw * bh * UNCLIP / (2.0 * (bw + bh));
    Some(TextBox {
        cx: mx + cu * ux - cv * uy,
        cy: my + cu * uy + cv * ux,
        width: bw + 2.0 * d,
        height: bh + 2.0 * d,
        angle,
    })
}

/// Maps a box from the detection input back to the image (non-uniform scale).
fn scale_box(b: TextBox, sx: f32, sy: f32) -> TextBox {
    let (ux, uy) = (b.angle.cos() * sx, b.angle.sin() * sy);
    let (vx, vy) = (-b.angle.sin() * sx, b.angle.cos() * sy);
    TextBox {
        cx: b.cx * sx,
        cy: b.cy * sy,
        width: b.width * (ux * ux + uy * uy).sqrt(),
        height: b.height * (vx * vx + vy * vy).sqrt(),
        angle: uy.atan2(ux),
    }
}

/// A rectified line as the recogniser's input: BGR planes, `(x / 255 − 0.5) / 0.5`.
fn rec_input(crop: &RgbImage) -> (Vec<f32>, [usize; 4]) {
    let (cw, ch) = crop.dimensions();
    let plane = (cw * ch) as usize;
    let mut input = vec![0f32; 3 * plane];
    for (i, px) in crop.pixels().enumerate() {
        for c in 0..3 {
            input[c * plane + i] = px[2 - c] as f32 / 127.5 - 1.0;
        }
    }
    (input, [1usize, 3, ch as usize, cw as usize])
}

/// The box's contents, straightened to 48 px high and squeezed along the text.
fn rectify(img: &RgbImage, b: &TextBox) -> RgbImage {
    rectify_squeezed(img, b, REC_SQUEEZE)
}

/// The box's contents, straightened to 48 px high, its width divided by `squeeze`.
fn rectify_squeezed(img: &RgbImage, b: &TextBox, squeeze: f32) -> RgbImage {
    let out_h = REC_HEIGHT;
    let out_w = ((b.width / b.height) * out_h as f32 / squeeze)
        .ceil()
        .clamp(16.0, 2400.0) as u32;
    let (ux, uy) = (b.angle.cos(), b.angle.sin());
    let (sx, sy) = (b.width / out_w as f32, b.height / out_h as f32);
    warp(img, out_w, out_h, |[u, v]| {
        let du = (u + 0.5) * sx - b.width / 2.0;
        let dv = (v + 0.5) * sy - b.height / 2.0;
        [b.cx + du * ux - dv * uy, b.cy + du * uy + dv * ux]
    })
}
