//! Test clips for active liveness (the tests use them; not the service), rendered from a face photo: the photo's face is lifted onto
//! a 3D head (an ellipsoid with a nose, placed by the five landmarks) that turns as a
//! challenge asks and is lit by the flashed colours. The attacks come from the same material:
//! the frontal photo as a flat print tilted along the challenge, the head following another
//! challenge's order or lit by another's colours, and a face that changes mid-clip.

use crate::Face;
use crate::active::{Challenge, Turn};
use image::{Rgb, RgbImage};

/// What a clip shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A person following the challenge.
    Live,
    /// A print of the frontal photo turned like the head should be.
    Flat,
    /// A recording that followed another challenge's order.
    WrongOrder,
    /// A recording lit by another challenge's colours.
    WrongColours,
    /// Another person from halfway.
    SwappedFace,
}

/// A face photo and its landmarks.
pub struct Subject<'a> {
    pub image: &'a RgbImage,
    pub face: &'a Face,
}

/// The yaw and pitch (radians) of a head following `ch` at `t_ms`: each turn eases out to
/// its angle (34° sideways, 26° up: what people asked to turn their head typically do) and
/// back within its window.
pub fn motion(ch: &Challenge, t_ms: u32) -> (f32, f32) {
    let Some(s) = ch
        .steps
        .iter()
        .find(|s| (s.from_ms..s.to_ms).contains(&t_ms))
    else {
        return (0.0, 0.0);
    };
    let k = ((t_ms - s.from_ms) as f32 / (s.to_ms - s.from_ms) as f32 * std::f32::consts::PI)
        .sin()
        .min(0.85)
        / 0.85;
    match s.turn {
        Turn::Left => (0.6 * k, 0.0),
        Turn::Right => (-0.6 * k, 0.0),
        Turn::Up => (0.0, 0.45 * k),
    }
}

/// The screen's light on the scene: each channel scaled toward the flashed colour.
fn lit(p: [f32; 3], flash: Option<[u8; 3]>, strength: f32) -> Rgb<u8> {
    let f = flash.map_or([1.0; 3], |c| c.map(|v| v as f32 / 255.0));
    Rgb(std::array::from_fn(|i| {
        (p[i] * (1.0 - strength + 1.6 * strength * f[i])).clamp(0.0, 255.0) as u8
    }))
}

/// The photo's head turned by `yaw` and `pitch` (radians, + = the person's left / up).
pub fn turned(s: &Subject, yaw: f32, pitch: f32, flash: Option<[u8; 3]>) -> RgbImage {
    let l = &s.face.landmarks;
    let iod = ((l[1][0] - l[0][0]).powi(2) + (l[1][1] - l[0][1]).powi(2)).sqrt();
    let eyes = [(l[0][0] + l[1][0]) / 2.0, (l[0][1] + l[1][1]) / 2.0];
    let mouth = [(l[3][0] + l[4][0]) / 2.0, (l[3][1] + l[4][1]) / 2.0];
    let (cx, cy) = (eyes[0], (eyes[1] + mouth[1]) / 2.0 - 0.1 * iod);
    let (rx, ry) = (1.2 * iod, 1.7 * iod);
    let depth = 1.0 * iod;
    let nose = [l[2][0], l[2][1] - 0.25 * iod];
    let (w, h) = s.image.dimensions();
    let inside = |x: f32, y: f32| ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) < 1.0;
    // The background: the photo with the head replaced by the colour around it.
    let mut ring = [0f32; 3];
    let mut n: f32 = 0.0;
    for a in 0..64 {
        let th = a as f32 / 64.0 * std::f32::consts::TAU;
        let (x, y) = (cx + 1.15 * rx * th.cos(), cy + 1.1 * ry * th.sin());
        if x >= 0.0 && y >= 0.0 && (x as u32) < w && (y as u32) < h {
            let p = s.image.get_pixel(x as u32, y as u32);
            for c in 0..3 {
                ring[c] += p[c] as f32;
            }
            n += 1.0;
        }
    }
    let ring = ring.map(|v| v / n.max(1.0));
    let mut out = RgbImage::new(w, h);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let src = if inside(x as f32, y as f32) {
            ring
        } else {
            s.image.get_pixel(x, y).0.map(|v| v as f32)
        };
        *p = lit(src, flash, 0.12);
    }
    // The head, splatted front to back with a depth buffer.
    let mut zbuf = vec![f32::MIN; (w * h) as usize];
    let (sy, cyaw) = (yaw.sin(), yaw.cos());
    let (sp, cp) = (pitch.sin(), pitch.cos());
    let x0 = (cx - rx).max(0.0) as u32;
    let x1 = ((cx + rx) as u32).min(w - 1);
    let y0 = (cy - ry).max(0.0) as u32;
    let y1 = ((cy + ry) as u32).min(h - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (fx, fy) = (x as f32, y as f32);
            if !inside(fx, fy) {
                continue;
            }
            let e = 1.0 - ((fx - cx) / rx).powi(2) - ((fy - cy) / ry).powi(2);
            let bump = (-((fx - nose[0]) / (0.2 * iod)).powi(2) / 2.0
                - ((fy - nose[1]) / (0.38 * iod)).powi(2) / 2.0)
                .exp();
            let z = depth * e.max(0.0).sqrt() + 0.45 * iod * bump;
            let (px, py) = (fx - cx, fy - cy);
            // Yaw about the vertical axis (+ turns the nose to the image's right, the
            // person's left, in an unmirrored camera), then pitch (+ lifts the nose).
            let (x2, z2) = (px * cyaw + z * sy, -px * sy + z * cyaw);
            let (y2, z3) = (py * cp - z2 * sp, py * sp + z2 * cp);
            let shade = (0.75 + 0.25 * (z3 / (depth + 0.45 * iod)).clamp(0.0, 1.0)).min(1.0);
            let colour = s.image.get_pixel(x, y).0.map(|v| v as f32 * shade);
            let pixel = lit(colour, flash, 0.3);
            let (ox, oy) = (cx + x2, cy + y2);
            for (dx, dy) in [(0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)] {
                let (qx, qy) = ((ox + dx) as i64, (oy + dy) as i64);
                if qx < 0 || qy < 0 || qx >= w as i64 || qy >= h as i64 {
                    continue;
                }
                let i = (qy as u32 * w + qx as u32) as usize;
                if z3 > zbuf[i] {
                    zbuf[i] = z3;
                    out.put_pixel(qx as u32, qy as u32, pixel);
                }
            }
        }
    }
    out
}

/// The whole frontal photo as a flat print, turned by `yaw` about the vertical line through
/// the face (with perspective), lit like the scene.
pub fn print(s: &Subject, yaw: f32, flash: Option<[u8; 3]>) -> RgbImage {
    let (w, h) = s.image.dimensions();
    let cx = s.face.x + s.face.width / 2.0;
    let cy = h as f32 / 2.0;
    let f = 2.5 * w as f32;
    let (sn, cs) = (yaw.sin(), yaw.cos());
    let mut out = RgbImage::new(w, h);
    for (u, v, p) in out.enumerate_pixels_mut() {
        // The ray through (u, v) meets the plane z = x·tan(yaw) (the print turned by yaw).
        let (du, dv) = (u as f32 - cx, v as f32 - cy);
        let t = f / (f - du * sn / cs.max(0.2));
        let (xp, yp) = (du * t / cs.max(0.2), dv * t);
        let (sx, sy) = (cx + xp, cy + yp);
        let src = if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
            s.image.get_pixel(sx as u32, sy as u32).0.map(|c| c as f32)
        } else {
            [40.0, 40.0, 40.0]
        };
        *p = lit(src, flash, 0.25);
    }
    out
}

/// Frames `(t_ms, image)` of a clip of `kind` for challenge `ch`, every `step_ms`; `other` is
/// the second person of a swapped clip.
pub fn clip(
    kind: Kind,
    ch: &Challenge,
    subject: &Subject,
    other: &Subject,
    step_ms: u32,
) -> Vec<(u32, RgbImage)> {
    // The other side first, with the same timing.
    let flip = |t: Turn| match t {
        Turn::Left => Turn::Right,
        Turn::Right => Turn::Left,
        Turn::Up => Turn::Up,
    };
    let mut wrong_order = ch.clone();
    for s in &mut wrong_order.steps {
        s.turn = flip(s.turn);
    }
    let mut wrong_colours = ch.clone();
    let n = wrong_colours.flashes.len();
    for (i, f) in wrong_colours.flashes.iter_mut().enumerate() {
        f.rgb = ch.flashes[(i + n / 2 + 1) % n].rgb;
    }
    (0..ch.duration_ms() + 200)
        .step_by(step_ms as usize)
        .map(|t| {
            // The screen's colour reaches the camera 80 ms late.
            let flash = ch.colour_at(t as i64 - 80);
            let frame = match kind {
                Kind::Live => {
                    let (y, p) = motion(ch, t);
                    turned(subject, y, p, flash)
                }
                Kind::Flat => print(subject, motion(ch, t).0 * 1.3, flash),
                Kind::WrongOrder => {
                    let (y, p) = motion(&wrong_order, t);
                    turned(subject, y, p, flash)
                }
                Kind::WrongColours => {
                    let (y, p) = motion(ch, t);
                    turned(subject, y, p, wrong_colours.colour_at(t as i64 - 80))
                }
                Kind::SwappedFace => {
                    let (y, p) = motion(ch, t);
                    let who = if t < ch.duration_ms() / 2 {
                        subject
                    } else {
                        other
                    };
                    turned(who, y, p, flash)
                }
            };
            (t, frame)
        })
        .collect()
}
