//! Active liveness: the person follows a challenge the server chose — head turns in a random
//! order, each in its time window, while the screen flashes a random sequence of colours — and
//! a clip of timestamped frames is judged against it. A print or a screen held up cannot turn
//! like a head (its landmarks move as a plane does: a homography), a recording made for
//! another challenge turns and lights up at the wrong times, and every frame must show the
//! same person.
//!
//! [`measure`] runs the models over the frames; [`judge`] is plain geometry and arithmetic
//! on what they measured, so each rule is tested on its own.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::Face;
use crate::embed::Embedding;
use crate::{FaceEngine, VisionError, calibrate, main_face};

/// A head movement the challenge asks for (the person's own left and right).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Turn {
    Left,
    Right,
    Up,
}

/// One movement and when it must be made (ms after the challenge starts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub turn: Turn,
    pub from_ms: u32,
    pub to_ms: u32,
}

/// One full-screen colour and when it shows (ms after the challenge starts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flash {
    pub rgb: [u8; 3],
    pub from_ms: u32,
    pub to_ms: u32,
}

/// What the person must do: look straight until `neutral_ms`, then each step in its window,
/// lit by the flashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Challenge {
    pub neutral_ms: u32,
    pub steps: Vec<Step>,
    pub flashes: Vec<Flash>,
}

/// The colours a challenge flashes (saturated, so the face's reflection moves its chroma).
pub const PALETTE: [[u8; 3]; 6] = [
    [255, 40, 40],
    [40, 255, 40],
    [40, 80, 255],
    [255, 255, 40],
    [255, 40, 255],
    [40, 255, 255],
];

impl Challenge {
    /// A challenge of `order` (each turn 1,400 ms) and `colours` (indices into [`PALETTE`],
    /// one every 500 ms), after 800 ms straight.
    pub fn new(order: [Turn; 3], colours: &[usize]) -> Challenge {
        Challenge::timed(order, [1400; 3], colours)
    }

    /// As [`new`](Self::new), each turn lasting its own `durations` (ms).
    pub fn timed(order: [Turn; 3], durations: [u32; 3], colours: &[usize]) -> Challenge {
        let neutral_ms = 800;
        let mut at = neutral_ms;
        let steps: Vec<Step> = order
            .iter()
            .zip(durations)
            .map(|(&turn, d)| {
                let s = Step {
                    turn,
                    from_ms: at,
                    to_ms: at + d,
                };
                at += d;
                s
            })
            .collect();
        let flashes = colours
            .iter()
            .enumerate()
            .map(|(i, &c)| Flash {
                rgb: PALETTE[c % PALETTE.len()],
                from_ms: 500 * i as u32,
                to_ms: 500 * (i as u32 + 1),
            })
            .collect();
        Challenge {
            neutral_ms,
            steps,
            flashes,
        }
    }

    /// When the last step ends.
    pub fn duration_ms(&self) -> u32 {
        self.steps
            .iter()
            .map(|s| s.to_ms)
            .chain(self.flashes.iter().map(|f| f.to_ms))
            .max()
            .unwrap_or(self.neutral_ms)
    }

    /// The colour on screen at `t_ms`, if any.
    pub fn colour_at(&self, t_ms: i64) -> Option<[u8; 3]> {
        self.flashes
            .iter()
            .find(|f| (f.from_ms as i64..f.to_ms as i64).contains(&t_ms))
            .map(|f| f.rgb)
    }
}

/// What the models saw in one frame.
#[derive(Debug, Clone)]
pub struct Seen {
    pub t_ms: u32,
    /// The main face, if one was found.
    pub face: Option<Face>,
    /// Mean RGB of the middle of the face.
    pub colour: [f32; 3],
    /// The face's embedding (measured on some frames only).
    pub embedding: Option<Embedding>,
    /// Passive liveness in [0, 1] (some frames only).
    pub passive: Option<f32>,
}

/// A reason a clip fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Finding {
    /// The head did not make the moves asked for, in their order and windows (or no face).
    ChallengeNotFollowed,
    /// The face moved as a flat picture does.
    FlatSurface,
    /// The face's colour did not follow the flashes.
    ColourMismatch,
    /// Not one and the same person in every frame.
    IdentityChanged,
}

impl Finding {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            Finding::ChallengeNotFollowed => "LIVENESS_CHALLENGE_NOT_FOLLOWED",
            Finding::FlatSurface => "LIVENESS_FLAT_SURFACE",
            Finding::ColourMismatch => "LIVENESS_COLOUR_MISMATCH",
            Finding::IdentityChanged => "LIVENESS_IDENTITY_CHANGED",
        }
    }
}

/// What the judge measured, for the verdict's reader.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Measures {
    /// Frames with a face, of all frames.
    pub faces: usize,
    pub frames: usize,
    /// The largest move toward each step's turn in its window (yaw or pitch, in eye
    /// distances), in the challenge's order.
    pub turns: Vec<f32>,
    /// The nose's largest departure from where a plane through the eyes and mouth would put
    /// it, in eye distances (a flat picture: about 0).
    pub parallax: f32,
    /// How far the eyes and mouth corners moved from a shape-preserving motion (foreshortening
    /// as the face turns or tilts), in eye distances.
    pub foreshortening: f32,
    /// Correlation of the face's chroma with the flashed colours (−1 to 1).
    pub colour: f32,
    /// The lowest face-match confidence of a frame against the first.
    pub identity: f32,
    /// The mean passive liveness score of the frames scored.
    pub passive: f32,
}

/// A clip's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verdict {
    pub pass: bool,
    pub findings: Vec<Finding>,
    pub measures: Measures,
}

/// A sideways turn counts when the nose moves this far (eye distances) in its window.
pub const MIN_TURN: f32 = 0.12;
/// Looking up counts when the nose rises this share of the eyes-to-mouth distance.
pub const MIN_TILT: f32 = 0.08;
/// Below this parallax while the face foreshortens, the face is flat (set between prints'
/// landmark jitter, up to 0.06, and turning heads, from 0.13, on the two faces of the fit set).
pub const MIN_PARALLAX: f32 = 0.09;
/// The face foreshortened enough to judge its flatness.
pub const MIN_FORESHORTENING: f32 = 0.03;
/// Below this chroma correlation, the face did not reflect the flashes.
pub const MIN_COLOUR: f32 = 0.45;
/// Below this face-match confidence between frames, the person changed (swapped faces:
/// at most 0.05; one rendered person turning: from 0.78, on the fit set).
pub const MIN_IDENTITY: f32 = 0.3;
/// The screen's colour reaches the face this late (display and camera latency).
const LATENCY_MS: i64 = 120;

/// The face's frame of reference: eye midpoint, the eye line as x and its normal as y, in eye
/// distances; `(yaw, pitch)` proxies: the nose's offset from the eyes' midpoint along the eye
/// line in eye distances, and across it as a share of the eyes-to-mouth distance (looking
/// up brings the nose toward the eyes and away from the mouth).
fn pose(l: &[[f32; 2]; 5]) -> (f32, f32) {
    let (re, le, nose, rm, lm) = (l[0], l[1], l[2], l[3], l[4]);
    let mid = [(re[0] + le[0]) / 2.0, (re[1] + le[1]) / 2.0];
    let ex = [le[0] - re[0], le[1] - re[1]];
    let iod = (ex[0] * ex[0] + ex[1] * ex[1]).sqrt().max(1e-3);
    let u = [ex[0] / iod, ex[1] / iod];
    let v = [-u[1], u[0]];
    let n = [nose[0] - mid[0], nose[1] - mid[1]];
    let mouth = [
        (rm[0] + lm[0]) / 2.0 - mid[0],
        (rm[1] + lm[1]) / 2.0 - mid[1],
    ];
    let down = (mouth[0] * v[0] + mouth[1] * v[1]).abs().max(1e-3);
    (
        (n[0] * u[0] + n[1] * u[1]) / iod,
        (n[0] * v[0] + n[1] * v[1]) / down,
    )
}

fn iod(l: &[[f32; 2]; 5]) -> f32 {
    let (a, b) = (l[0], l[1]);
    ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2))
        .sqrt()
        .max(1e-3)
}

/// The homography taking four points `from` to `to` (DLT, h33 = 1); `None` when degenerate.
fn homography(from: [[f32; 2]; 4], to: [[f32; 2]; 4]) -> Option<[f64; 9]> {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (from[i][0] as f64, from[i][1] as f64);
        let (u, v) = (to[i][0] as f64, to[i][1] as f64);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    // Gaussian elimination with partial pivoting on the 8×8 system (last column: right side).
    for c in 0..8 {
        let p = (c..8).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-9 {
            return None;
        }
        a.swap(c, p);
        let pivot = a[c];
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(pivot).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut h = [0f64; 9];
    for i in 0..8 {
        h[i] = a[i][8] / a[i][i];
    }
    h[8] = 1.0;
    Some(h)
}

fn apply(h: &[f64; 9], p: [f32; 2]) -> [f32; 2] {
    let (x, y) = (p[0] as f64, p[1] as f64);
    let w = h[6] * x + h[7] * y + h[8];
    [
        ((h[0] * x + h[1] * y + h[2]) / w) as f32,
        ((h[3] * x + h[4] * y + h[5]) / w) as f32,
    ]
}

/// How far the nose of `now` is from where the plane through `neutral`'s eyes and mouth
/// corners, moved to `now`'s, would put it; in eye distances.
fn parallax(neutral: &[[f32; 2]; 5], now: &[[f32; 2]; 5]) -> f32 {
    let plane = |l: &[[f32; 2]; 5]| [l[0], l[1], l[3], l[4]];
    let Some(h) = homography(plane(neutral), plane(now)) else {
        return 0.0;
    };
    let p = apply(&h, neutral[2]);
    ((p[0] - now[2][0]).powi(2) + (p[1] - now[2][1]).powi(2)).sqrt() / iod(now)
}

/// The RMS distance, in eye distances of `now`, between `now`'s eyes and mouth corners and
/// `neutral`'s moved by the best similarity (shift, turn, scale).
fn foreshortening(neutral: &[[f32; 2]; 5], now: &[[f32; 2]; 5]) -> f32 {
    let idx = [0, 1, 3, 4];
    let mean = |l: &[[f32; 2]; 5]| {
        let s = idx
            .iter()
            .fold([0.0, 0.0], |a, &i| [a[0] + l[i][0], a[1] + l[i][1]]);
        [s[0] / 4.0, s[1] / 4.0]
    };
    let (mp, mq) = (mean(neutral), mean(now));
    let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
    for &i in &idx {
        let p = [neutral[i][0] - mp[0], neutral[i][1] - mp[1]];
        let q = [now[i][0] - mq[0], now[i][1] - mq[1]];
        num_a += p[0] * q[0] + p[1] * q[1];
        num_b += p[0] * q[1] - p[1] * q[0];
        den += p[0] * p[0] + p[1] * p[1];
    }
    let (a, b) = (num_a / den.max(1e-6), num_b / den.max(1e-6));
    let mut sum = 0.0;
    for &i in &idx {
        let p = [neutral[i][0] - mp[0], neutral[i][1] - mp[1]];
        let q = [now[i][0] - mq[0], now[i][1] - mq[1]];
        let r = [a * p[0] - b * p[1] - q[0], b * p[0] + a * p[1] - q[1]];
        sum += r[0] * r[0] + r[1] * r[1];
    }
    (sum / 4.0).sqrt() / iod(now)
}

fn chroma(rgb: [f32; 3]) -> [f32; 2] {
    let s = (rgb[0] + rgb[1] + rgb[2]).max(1.0);
    [rgb[0] / s, rgb[2] / s]
}

fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    if n < 3 {
        return 0.0;
    }
    let (ma, mb) = (
        a[..n].iter().sum::<f32>() / n as f32,
        b[..n].iter().sum::<f32>() / n as f32,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (a[i] - ma, b[i] - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa <= 1e-12 || sbb <= 1e-12 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// Judges the frames `seen` (in time order) against `challenge`.
pub fn judge(challenge: &Challenge, seen: &[Seen]) -> Verdict {
    let mut m = Measures {
        frames: seen.len(),
        faces: seen.iter().filter(|s| s.face.is_some()).count(),
        ..Measures::default()
    };
    let mut findings = Vec::new();
    let with_face: Vec<(&Seen, &Face)> = seen
        .iter()
        .filter_map(|s| s.face.as_ref().map(|f| (s, f)))
        .collect();
    // The neutral pose: the frames before the first step (else the first frame).
    let neutral: Vec<&(&Seen, &Face)> = with_face
        .iter()
        .filter(|(s, _)| s.t_ms < challenge.neutral_ms)
        .collect();
    let Some(base) = neutral.first().copied().or(with_face.first()) else {
        findings.push(Finding::ChallengeNotFollowed);
        return Verdict {
            pass: false,
            findings,
            measures: m,
        };
    };
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let (yaw0, pitch0) = if neutral.is_empty() {
        pose(&base.1.landmarks)
    } else {
        (
            median(neutral.iter().map(|(_, f)| pose(&f.landmarks).0).collect()),
            median(neutral.iter().map(|(_, f)| pose(&f.landmarks).1).collect()),
        )
    };

    // Each turn, in its window (a little late is fine: people react).
    let mut followed = m.faces * 10 >= m.frames * 8;
    for step in &challenge.steps {
        let lo = step.from_ms;
        let hi = step.to_ms + 300;
        let best = with_face
            .iter()
            .filter(|(s, _)| (lo..hi).contains(&s.t_ms))
            .map(|(_, f)| {
                let (yaw, pitch) = pose(&f.landmarks);
                match step.turn {
                    Turn::Left => yaw - yaw0,
                    Turn::Right => yaw0 - yaw,
                    Turn::Up => pitch0 - pitch,
                }
            })
            .fold(f32::MIN, f32::max);
        let best = if best == f32::MIN { 0.0 } else { best };
        m.turns.push(best);
        followed &= best
            >= match step.turn {
                Turn::Up => MIN_TILT,
                _ => MIN_TURN,
            };
    }
    if !followed {
        findings.push(Finding::ChallengeNotFollowed);
    }

    // A head is not flat: as the face turns (its eyes and mouth foreshorten), the nose
    // leaves the plane of the eyes and mouth. A picture turned or tilted foreshortens too, but
    // its nose stays where the plane puts it.
    m.parallax = with_face
        .iter()
        .map(|(_, f)| parallax(&base.1.landmarks, &f.landmarks))
        .fold(0.0, f32::max);
    m.foreshortening = with_face
        .iter()
        .map(|(_, f)| foreshortening(&base.1.landmarks, &f.landmarks))
        .fold(0.0, f32::max);
    if m.foreshortening >= MIN_FORESHORTENING && m.parallax < MIN_PARALLAX {
        findings.push(Finding::FlatSurface);
    }

    // The face's chroma follows the flashed colours.
    if !challenge.flashes.is_empty() {
        let (mut seen_c, mut shown) = (Vec::new(), Vec::new());
        for (s, _) in &with_face {
            // Only frames whose colour is the same for any latency up to twice the usual.
            let t = s.t_ms as i64;
            let colour = challenge.colour_at(t - LATENCY_MS / 3);
            if colour != challenge.colour_at(t - 2 * LATENCY_MS) {
                continue;
            }
            if let Some(rgb) = colour {
                let c = chroma(s.colour);
                let e = chroma(rgb.map(|v| v as f32));
                seen_c.push(c);
                shown.push(e);
            }
        }
        let flat = |v: &[[f32; 2]], k: usize| v.iter().map(|c| c[k]).collect::<Vec<_>>();
        // Both channels, each correlated on its own, averaged.
        m.colour = (correlation(&flat(&seen_c, 0), &flat(&shown, 0))
            + correlation(&flat(&seen_c, 1), &flat(&shown, 1)))
            / 2.0;
        if m.colour < MIN_COLOUR {
            findings.push(Finding::ColourMismatch);
        }
    }

    // One person throughout.
    let embeddings: Vec<&Embedding> = with_face
        .iter()
        .filter_map(|(s, _)| s.embedding.as_ref())
        .collect();
    m.identity = match embeddings.split_first() {
        Some((first, rest)) if !rest.is_empty() => rest
            .iter()
            .map(|e| calibrate::confidence(first.similarity(e)))
            .fold(1.0, f32::min),
        _ => 0.0,
    };
    if m.identity < MIN_IDENTITY {
        findings.push(Finding::IdentityChanged);
    }
    let passive: Vec<f32> = seen.iter().filter_map(|s| s.passive).collect();
    m.passive = if passive.is_empty() {
        0.0
    } else {
        passive.iter().sum::<f32>() / passive.len() as f32
    };
    Verdict {
        pass: findings.is_empty(),
        findings,
        measures: m,
    }
}

/// Mean RGB of the middle of `face` (half its width and height).
fn face_colour(img: &RgbImage, face: &Face) -> [f32; 3] {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let x0 = (face.x + face.width * 0.25).clamp(0.0, w - 1.0) as u32;
    let x1 = (face.x + face.width * 0.75).clamp(1.0, w) as u32;
    let y0 = (face.y + face.height * 0.25).clamp(0.0, h - 1.0) as u32;
    let y1 = (face.y + face.height * 0.75).clamp(1.0, h) as u32;
    let mut sum = [0f64; 3];
    let mut n = 0f64;
    for y in y0..y1.max(y0 + 1) {
        for x in x0..x1.max(x0 + 1) {
            let p = img.get_pixel(x.min(img.width() - 1), y.min(img.height() - 1));
            for c in 0..3 {
                sum[c] += p[c] as f64;
            }
            n += 1.0;
        }
    }
    sum.map(|s| (s / n.max(1.0)) as f32)
}

/// Runs the models over a clip's frames (`(t_ms, frame)`, in time order): a face and its
/// colour in every frame, its embedding in every fifth frame (and the last), passive liveness in
/// four frames. The frames are shared between two threads.
pub fn measure(engine: &FaceEngine, frames: &[(u32, RgbImage)]) -> Result<Vec<Seen>, VisionError> {
    let n = frames.len();
    let one = |i: usize| -> Result<Seen, VisionError> {
        let (t_ms, img) = (&frames[i].0, &frames[i].1);
        let faces = engine.detect(img)?;
        let face = main_face(&faces).cloned();
        let mut seen = Seen {
            t_ms: *t_ms,
            colour: [0.0; 3],
            embedding: None,
            passive: None,
            face: None,
        };
        if let Some(f) = face {
            seen.colour = face_colour(img, &f);
            if i.is_multiple_of(5) || i + 1 == n {
                seen.embedding = engine.embed(img, std::slice::from_ref(&f))?.pop();
            }
            if n >= 4 && i.is_multiple_of(n / 4) {
                seen.passive = Some(engine.liveness(img, &f)?.score);
            }
            seen.face = Some(f);
        }
        Ok(seen)
    };
    let (even, odd) = std::thread::scope(|s| {
        let odd = s.spawn(|| (1..n).step_by(2).map(one).collect::<Result<Vec<_>, _>>());
        let even = (0..n).step_by(2).map(one).collect::<Result<Vec<_>, _>>();
        (even, odd.join())
    });
    let odd = odd.map_err(|_| VisionError::BadOutput {
        model: "active liveness",
        detail: "a measuring thread panicked".into(),
    })??;
    let mut all: Vec<Seen> = even?.into_iter().chain(odd).collect();
    all.sort_by_key(|s| s.t_ms);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five landmarks of a head at `yaw` (radians, + = its left) and `pitch` (+ = up), seen
    /// from the front: a plane of eyes and mouth, the nose 0.6 eye distances in front.
    fn head(yaw: f32, pitch: f32) -> [[f32; 2]; 5] {
        let pts = [
            [-0.5, -0.4, 0.0],
            [0.5, -0.4, 0.0],
            [0.0, 0.15, 0.6],
            [-0.4, 0.55, 0.0],
            [0.4, 0.55, 0.0],
        ];
        pts.map(|[x, y, z]: [f32; 3]| {
            // Yaw about the vertical axis, then pitch about the horizontal one; orthographic.
            let (x1, z1) = (
                x * yaw.cos() + z * yaw.sin(),
                -x * yaw.sin() + z * yaw.cos(),
            );
            let y1 = y * pitch.cos() - z1 * pitch.sin();
            [200.0 + 100.0 * x1, 200.0 + 100.0 * y1]
        })
    }

    /// The same landmarks as a flat picture of the frontal head, turned as a plane.
    fn flat(yaw: f32) -> [[f32; 2]; 5] {
        head(0.0, 0.0).map(|[x, y]| {
            let x0 = (x - 200.0) / 100.0;
            [200.0 + 100.0 * x0 * yaw.cos(), y + 8.0 * x0 * yaw.sin()]
        })
    }

    fn clip(ch: &Challenge, at: impl Fn(u32) -> [[f32; 2]; 5]) -> Vec<Seen> {
        (0..ch.duration_ms())
            .step_by(160)
            .map(|t| Seen {
                t_ms: t,
                face: Some(Face {
                    confidence: 0.99,
                    x: 100.0,
                    y: 100.0,
                    width: 200.0,
                    height: 240.0,
                    landmarks: at(t),
                }),
                colour: ch
                    .colour_at(t as i64 - LATENCY_MS)
                    .map_or([150.0; 3], |c| c.map(|v| 120.0 + 0.2 * v as f32)),
                embedding: None,
                passive: None,
            })
            .collect()
    }

    /// The turn the person makes at `t`, as yaw and pitch in radians.
    fn follow(ch: &Challenge, t: u32) -> (f32, f32) {
        match ch.steps.iter().find(|s| (s.from_ms..s.to_ms).contains(&t)) {
            Some(s) => {
                let k = ((t - s.from_ms) as f32 / (s.to_ms - s.from_ms) as f32
                    * std::f32::consts::PI)
                    .sin();
                match s.turn {
                    Turn::Left => (0.4 * k, 0.0),
                    Turn::Right => (-0.4 * k, 0.0),
                    Turn::Up => (0.0, 0.35 * k),
                }
            }
            None => (0.0, 0.0),
        }
    }

    fn codes(v: &Verdict) -> Vec<&'static str> {
        v.findings
            .iter()
            .map(|f| f.code())
            .filter(|c| *c != "LIVENESS_IDENTITY_CHANGED")
            .collect()
    }

    #[test]
    fn a_head_that_follows_passes_and_each_attack_fails_its_rule() {
        let ch = Challenge::new(
            [Turn::Left, Turn::Up, Turn::Right],
            &[0, 3, 1, 4, 2, 5, 0, 2, 1],
        );
        let live = judge(
            &ch,
            &clip(&ch, |t| {
                let (y, p) = follow(&ch, t);
                head(y, p)
            }),
        );
        assert!(codes(&live).is_empty(), "{live:?}");
        assert!(live.measures.parallax > 0.1, "{live:?}");

        // The same moves in another order.
        let other = Challenge::new(
            [Turn::Right, Turn::Up, Turn::Left],
            &[0, 3, 1, 4, 2, 5, 0, 2, 1],
        );
        let replay = judge(
            &ch,
            &clip(&ch, |t| {
                let (y, p) = follow(&other, t);
                head(y, p)
            }),
        );
        assert_eq!(
            codes(&replay),
            ["LIVENESS_CHALLENGE_NOT_FOLLOWED"],
            "{replay:?}"
        );

        // A picture turned like a head.
        let print = judge(&ch, &clip(&ch, |t| flat(follow(&ch, t).0)));
        assert!(
            codes(&print).contains(&"LIVENESS_FLAT_SURFACE"),
            "{print:?}"
        );

        // A recording lit by another challenge's colours.
        let mut unlit = clip(&ch, |t| {
            let (y, p) = follow(&ch, t);
            head(y, p)
        });
        let shifted = Challenge::new(
            [Turn::Left, Turn::Up, Turn::Right],
            &[5, 0, 4, 1, 3, 2, 5, 1, 0],
        );
        for s in &mut unlit {
            s.colour = shifted
                .colour_at(s.t_ms as i64 - LATENCY_MS)
                .map_or([150.0; 3], |c| c.map(|v| 120.0 + 0.2 * v as f32));
        }
        let unlit = judge(&ch, &unlit);
        assert_eq!(codes(&unlit), ["LIVENESS_COLOUR_MISMATCH"], "{unlit:?}");
    }

    #[test]
    fn a_plane_maps_exactly_and_a_nose_does_not() {
        let n = head(0.0, 0.0);
        assert!(parallax(&n, &flat(0.4)) < 0.01);
        assert!(parallax(&n, &head(0.4, 0.0)) > 0.15);
    }
}
