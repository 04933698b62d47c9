//! Finds and decodes the PDF417 barcode on a photo (the back of a US or Canadian licence).
//!
//! ZXing's PDF417 detector (here through `rxing`, its Rust port) finds symbols at 0, 90, 180
//! and 270 degrees but stops decoding past two or three degrees of skew or perspective. So:
//! 1. the dominant edge direction of a thumbnail (a PDF417 symbol is hundreds of parallel bar
//!    edges) gives the photo's skew; a photo within 1° is decoded as it is;
//! 2. otherwise the thumbnail is turned by the skew, the densest block of bar edges located,
//!    its four sides fitted (robustly: the corners are ragged), and the symbol sampled from
//!    the full photo through one homography, squared up: bars parallel, perspective removed
//!    (the detector handles the remaining quarter turns, upside down included);
//! 3. failing that, the whole photo is decoded as it is and turned by the skew and by a few
//!    angles around it.

use image::GrayImage;
use rxing::common::HybridBinarizer;
use rxing::pdf417::PDF417Reader;
use rxing::{BinaryBitmap, DecodeHints, Luma8LuminanceSource, Reader};

/// Longest side the decoder works on; larger photos are scaled down first.
const MAX_SIDE: u32 = 2000;
/// Side of the thumbnail the skew is measured on.
const SKEW_SIDE: u32 = 800;
/// Widest squared-up symbol handed to the decoder (px): 2.5 px per module for the widest
/// AAMVA symbols.
const RECTIFIED_WIDTH: f32 = 1000.0;
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
    let source = Luma8LuminanceSource::new(img.as_raw().clone(), img.width(), img.height()).ok()?;
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
    skew_of(&thumbnail(img).0)
}

/// `img` shrunk by a whole factor (box average) to at most about [`SKEW_SIDE`] on its longer
/// side, and the scale it was shrunk by.
fn thumbnail(img: &GrayImage) -> (GrayImage, f32) {
    let k = img.width().max(img.height()).div_ceil(SKEW_SIDE).max(1);
    if k == 1 {
        return (img.clone(), 1.0);
    }
    let (w, h) = (img.width() / k, img.height() / k);
    let (src, sw) = (img.as_raw(), img.width() as usize);
    let k = k as usize;
    let mut out = vec![0u8; (w * h) as usize];
    let mut sums = vec![0u32; w as usize];
    for y in 0..h as usize {
        sums.iter_mut().for_each(|v| *v = 0);
        for row in src[y * k * sw..].chunks(sw).take(k) {
            for (x, sum) in sums.iter_mut().enumerate() {
                *sum += row[x * k..x * k + k]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
        }
        for (x, sum) in sums.iter().enumerate() {
            out[y * w as usize + x] = (sum / (k * k) as u32) as u8;
        }
    }
    (
        GrayImage::from_raw(w, h, out).unwrap_or_default(),
        1.0 / k as f32,
    )
}

/// [`skew`] of a thumbnail.
fn skew_of(small: &GrayImage) -> f32 {
    let (w, h) = (small.width() as usize, small.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let src = small.as_raw();
    // Softened first (3×3 binomial, twice): the stair steps of an aliased edge pull its
    // gradient towards the axes.
    let binomial = |src: &[i32]| -> Vec<i32> {
        let mut out = src.to_vec();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let p = |dx: usize, dy: usize| src[(y + dy - 1) * w + x + dx - 1];
                out[y * w + x] = (p(0, 0)
                    + 2 * p(1, 0)
                    + p(2, 0)
                    + 2 * p(0, 1)
                    + 4 * p(1, 1)
                    + 2 * p(2, 1)
                    + p(0, 2)
                    + 2 * p(1, 2)
                    + p(2, 2))
                    / 16;
            }
        }
        out
    };
    let soft = binomial(&binomial(
        &src.iter().map(|&v| i32::from(v) * 16).collect::<Vec<_>>(),
    ));
    // Histogram of gradient direction modulo 90° in quarter-degree bins, weighted by
    // magnitude: both the bars (vertical edges) and the rows (horizontal edges) vote.
    const BINS: usize = 360;
    let mut hist = [0f64; BINS];
    for y in 2..h - 2 {
        for x in 2..w - 2 {
            let p = |dx: usize, dy: usize| soft[(y + dy - 1) * w + x + dx - 1] as f32;
            let gx = p(2, 0) + 2.0 * p(2, 1) + p(2, 2) - p(0, 0) - 2.0 * p(0, 1) - p(0, 2);
            let gy = p(0, 2) + 2.0 * p(1, 2) + p(2, 2) - p(0, 0) - 2.0 * p(1, 0) - p(2, 0);
            let mag2 = gx * gx + gy * gy;
            if mag2 < 10_000.0 * 256.0 {
                continue;
            }
            let deg = gy.atan2(gx).to_degrees().rem_euclid(90.0);
            hist[((deg * 4.0) as usize).min(BINS - 1)] += f64::from(mag2.sqrt());
        }
    }
    // Smooth over ±1° (circularly) and take the peak.
    let smooth = |i: usize| (0..9).map(|k| hist[(i + BINS + k - 4) % BINS]).sum::<f64>();
    let best = (0..BINS)
        .max_by(|&a, &b| smooth(a).total_cmp(&smooth(b)))
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
    let (raw, iw, ih) = (img.as_raw(), img.width() as usize, img.height() as usize);
    GrayImage::from_fn(ow, oh, |x, y| {
        // Output → source: the inverse rotation.
        let (dx, dy) = (x as f32 + 0.5 - ocx, y as f32 + 0.5 - ocy);
        let u = c * dx - s * dy + cx - 0.5;
        let v = s * dx + c * dy + cy - 0.5;
        if u < 0.0 || v < 0.0 || u > w - 1.0 || v > h - 1.0 {
            return image::Luma([255]);
        }
        let (x0, y0) = (u as usize, v as usize);
        let (x1, y1) = ((x0 + 1).min(iw - 1), (y0 + 1).min(ih - 1));
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let g = |x: usize, y: usize| f32::from(raw[y * iw + x]);
        let top = g(x0, y0) * (1.0 - fx) + g(x1, y0) * fx;
        let bottom = g(x0, y1) * (1.0 - fx) + g(x1, y1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy + 0.5) as u8])
    })
}

/// Solves the homography taking four points `from` to four points `to` (row-major 3×3,
/// last element 1).
pub fn homography(from: [[f32; 2]; 4], to: [[f32; 2]; 4]) -> Option<[f64; 9]> {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (f64::from(from[i][0]), f64::from(from[i][1]));
        let (u, v) = (f64::from(to[i][0]), f64::from(to[i][1]));
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for c in 0..8 {
        let p = (c..8).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        a.swap(c, p);
        let d = a[c][c];
        if d.abs() < 1e-12 {
            return None;
        }
        a[c].iter_mut().for_each(|v| *v /= d);
        let pivot = a[c];
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let m = row[c];
                row.iter_mut().zip(pivot).for_each(|(v, p)| *v -= m * p);
            }
        }
    }
    Some([
        a[0][8], a[1][8], a[2][8], a[3][8], a[4][8], a[5][8], a[6][8], a[7][8], 1.0,
    ])
}

/// Samples `img` through homography `h` (output → source) into a `w`×`h` image; white outside.
fn warp(img: &GrayImage, m: &[f64; 9], w: u32, h: u32) -> GrayImage {
    let (sw, sh) = (img.width() as f64, img.height() as f64);
    GrayImage::from_fn(w, h, |x, y| {
        let (xf, yf) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let z = m[6] * xf + m[7] * yf + m[8];
        let u = (m[0] * xf + m[1] * yf + m[2]) / z - 0.5;
        let v = (m[3] * xf + m[4] * yf + m[5]) / z - 0.5;
        if !(0.0..sw - 1.0).contains(&u) || !(0.0..sh - 1.0).contains(&v) {
            return image::Luma([255]);
        }
        let (x0, y0) = (u as u32, v as u32);
        let (fx, fy) = ((u - f64::from(x0)) as f32, (v - f64::from(y0)) as f32);
        let g = |x, y| f32::from(img.get_pixel(x, y)[0]);
        let top = g(x0, y0) * (1.0 - fx) + g(x0 + 1, y0) * fx;
        let bottom = g(x0, y0 + 1) * (1.0 - fx) + g(x0 + 1, y0 + 1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy + 0.5) as u8])
    })
}

/// The line `value = a·t + b` through most of the (t, value) points: the pair of points whose
/// line has the most points within `keep` of it (pairs a quarter of the range or more apart),
/// refitted by least squares on those points.
fn fit_line(points: &[(f32, f32)], keep: f32) -> Option<(f32, f32)> {
    let n = points.len();
    if n < 8 {
        return None;
    }
    let step = (n / 30).max(1);
    let mut best = (0usize, 0.0f32, 0.0f32);
    for i in (0..n).step_by(step) {
        for j in (i + n / 4..n).step_by(step) {
            let (p, q) = (points[i], points[j]);
            if q.0 == p.0 {
                continue;
            }
            let a = (q.1 - p.1) / (q.0 - p.0);
            let b = p.1 - a * p.0;
            let count = points
                .iter()
                .filter(|r| (a * r.0 + b - r.1).abs() <= keep)
                .count();
            if count > best.0 {
                best = (count, a, b);
            }
        }
    }
    let (_, a, b) = best;
    let inliers: Vec<&(f32, f32)> = points
        .iter()
        .filter(|r| (a * r.0 + b - r.1).abs() <= keep)
        .collect();
    let m = inliers.len() as f32;
    let (mt, mv) = inliers
        .iter()
        .fold((0.0, 0.0), |(x, y), r| (x + r.0 / m, y + r.1 / m));
    let (mut num, mut den) = (0.0, 0.0);
    for r in &inliers {
        num += (r.0 - mt) * (r.1 - mv);
        den += (r.0 - mt) * (r.0 - mt);
    }
    if den <= 0.0 {
        return Some((a, b));
    }
    Some((num / den, mv - num / den * mt))
}

/// (t, value) points along a side of the located block.
type Points = Vec<(f32, f32)>;

/// Morphological closing of each row of a `w`-wide mask by `r` pixels (dilate, then erode).
fn close_rows(mask: &[bool], w: usize, r: usize) -> Vec<bool> {
    // Within distance r of a set pixel; then within distance r of the dilated set's outside.
    let near = |row: &[bool], value: bool| -> Vec<bool> {
        let mut last = None::<usize>;
        let mut out = vec![false; row.len()];
        for (x, &v) in row.iter().enumerate() {
            if v == value {
                last = Some(x);
            }
            out[x] = last.is_some_and(|l| x - l <= r);
        }
        last = None;
        for x in (0..row.len()).rev() {
            if row[x] == value {
                last = Some(x);
            }
            out[x] |= last.is_some_and(|l| l - x <= r);
        }
        out
    };
    mask.chunks(w)
        .flat_map(|row| {
            let dilated = near(row, true);
            near(&dilated, false).into_iter().map(|outside| !outside)
        })
        .collect()
}

/// The four corners (top-left, top-right, bottom-right, bottom-left) of the densest block of
/// vertical bar edges in `img` (turned so that bars are vertical), in `img`'s pixels.
fn locate(img: &GrayImage) -> Option<[[f32; 2]; 4]> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 32 || h < 32 {
        return None;
    }
    let raw = img.as_raw();
    // Bar edges: a strong horizontal step with little vertical change; counted in a summed
    // area table.
    let mut integral = vec![0u32; (w + 1) * (h + 1)];
    for y in 1..h - 1 {
        let (up, row, down) = (
            &raw[(y - 1) * w..y * w],
            &raw[y * w..(y + 1) * w],
            &raw[(y + 1) * w..(y + 2) * w],
        );
        let mut count = 0u32;
        for x in 1..w - 1 {
            let gx = (i32::from(row[x + 1]) - i32::from(row[x - 1])).abs();
            let gy = (i32::from(down[x]) - i32::from(up[x])).abs();
            count += u32::from(gx > 40 && gx > gy);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + count;
        }
        integral[(y + 1) * (w + 1) + w] = integral[y * (w + 1) + w] + count;
    }
    for x in 0..=w {
        integral[h * (w + 1) + x] = integral[(h - 1) * (w + 1) + x];
    }
    // Density of edges in a window; dense where over a third of its pixels are edges.
    let (rx, ry) = ((w / 60).max(3), (h / 60).max(3));
    let mut dense = vec![false; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(ry), (y + ry + 1).min(h));
        let (top, bottom) = (&integral[y0 * (w + 1)..], &integral[y1 * (w + 1)..]);
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(rx), (x + rx + 1).min(w));
            let sum = bottom[x1] + top[x0] - top[x1] - bottom[x0];
            dense[y * w + x] = sum as usize * 3 > (x1 - x0) * (y1 - y0);
        }
    }
    // Closed along rows by the window's width: the wide start and stop bars hold no edges.
    let dense = close_rows(&dense, w, rx);
    // Largest 4-connected dense component.
    let largest = crate::raster::components(w, h, |i| dense[i])
        .into_iter()
        .max_by_key(Vec::len)
        .filter(|c| c.len() >= w * h / 100)?;
    let mut inside = vec![false; w * h];
    for &i in &largest {
        inside[i] = true;
    }
    // Boundary points of the component: per row its first and last pixel, per column its
    // first and last pixel (one pass).
    let mut rows = vec![(usize::MAX, 0usize); h];
    let mut cols = vec![(usize::MAX, 0usize); w];
    for y in 0..h {
        for (x, &on) in inside[y * w..(y + 1) * w].iter().enumerate() {
            if on {
                rows[y] = (rows[y].0.min(x), x);
                cols[x] = (cols[x].0.min(y), y);
            }
        }
    }
    let sides = |ends: &[(usize, usize)]| -> (Points, Points) {
        ends.iter()
            .enumerate()
            .filter(|(_, e)| e.0 != usize::MAX)
            .map(|(t, &(first, last))| ((t as f32, first as f32), (t as f32, last as f32)))
            .unzip()
    };
    let (left, right) = sides(&rows);
    let (top, bottom) = sides(&cols);
    // Keep the middle of each side: the corners are rounded by the density window.
    let middle = |v: Vec<(f32, f32)>| -> Vec<(f32, f32)> {
        let n = v.len();
        v[n / 8..n - n / 8].to_vec()
    };
    let keep = 1.5;
    let (la, lb) = fit_line(&middle(left), keep)?;
    let (ra, rb) = fit_line(&middle(right), keep)?;
    let (ta, tb) = fit_line(&middle(top), keep)?;
    let (ba, bb) = fit_line(&middle(bottom), keep)?;
    // Intersect x = a·y + b (sides) with y = c·x + d (top and bottom).
    let meet = |(a, b): (f32, f32), (c, d): (f32, f32)| -> [f32; 2] {
        let y = (c * b + d) / (1.0 - a * c);
        [a * y + b, y]
    };
    Some([
        meet((la, lb), (ta, tb)),
        meet((ra, rb), (ta, tb)),
        meet((ra, rb), (ba, bb)),
        meet((la, lb), (ba, bb)),
    ])
}

/// The symbol cut out of `img` and squared up: located on a thumbnail turned by `deg`, then
/// sampled from the full image through one homography, with a white margin around it.
pub fn rectify(img: &GrayImage, deg: f32) -> Option<GrayImage> {
    let (thumb, scale) = thumbnail(img);
    rectify_with(img, &thumb, scale, deg, &turn(&thumb, deg), false)
}

/// [`rectify`] from the thumbnail turned by `deg`; `quarter` looks for bars running across
/// it (the symbol a quarter turn away).
fn rectify_with(
    img: &GrayImage,
    thumb: &GrayImage,
    scale: f32,
    deg: f32,
    turned: &GrayImage,
    quarter: bool,
) -> Option<GrayImage> {
    let quad = if quarter {
        // Located on the turned thumbnail rotated clockwise, mapped back: (x', y') of the
        // rotated image is (H - 1 - y, x) of the turned one.
        let h = turned.height() as f32;
        locate(&image::imageops::rotate90(turned))?.map(|[x, y]| [y, h - 1.0 - x])
    } else {
        locate(turned)?
    };
    // Turned-thumbnail → image coordinates: undo the turn about the centres, then the scale.
    let (s, c) = deg.to_radians().sin_cos();
    let (tw, th) = (thumb.width() as f32, thumb.height() as f32);
    let (ow, oh) = (turned.width() as f32, turned.height() as f32);
    let corners = quad.map(|[x, y]| {
        let (dx, dy) = (x + 0.5 - ow / 2.0, y + 0.5 - oh / 2.0);
        let u = c * dx - s * dy + tw / 2.0;
        let v = s * dx + c * dy + th / 2.0;
        [u / scale, v / scale]
    });
    let dist = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let width = (dist(corners[0], corners[1]) + dist(corners[3], corners[2])) / 2.0;
    let height = (dist(corners[0], corners[3]) + dist(corners[1], corners[2])) / 2.0;
    // A PDF417 symbol is wider than tall (at most 30 columns of 17 modules over rows at least
    // 3 modules high); a band of text lines (an MRZ) is far wider still.
    if width < 40.0 || height < 10.0 || width < height || width > 12.0 * height {
        return None;
    }
    // A margin of 6 % of the width around the located block (quiet zone, located edges).
    let m = 0.06 * width;
    // At most RECTIFIED_WIDTH wide: enough pixels per module, and decoding time grows with
    // the area.
    let k = (RECTIFIED_WIDTH / (width + 2.0 * m)).min(1.0);
    let (w, h) = (
        ((width + 2.0 * m) * k) as u32,
        ((height + 2.0 * m) * k) as u32,
    );
    let target = [
        [m, m],
        [m + width, m],
        [m + width, m + height],
        [m, m + height],
    ]
    .map(|[x, y]| [x * k, y * k]);
    let hm = homography(target, corners)?;
    Some(warp(img, &hm, w, h))
}

/// Which attempts a decode makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// The located symbol squared up (and a small, square photo as it is): fast to fail
    /// (about 15 ms on a photo without a symbol), for a first look.
    Located,
    /// The whole photo, as it is and turned by its skew and around it: for when the symbol
    /// could not be located.
    Whole,
    /// Located, then whole.
    All,
}

/// Finds and decodes one PDF417 symbol, straightening the photo when it has to.
pub fn decode(img: &GrayImage) -> Option<Symbol> {
    decode_with(img, Search::All)
}

/// [`decode`] with the located symbol only (see [`Search::Located`]).
pub fn decode_located(img: &GrayImage) -> Option<Symbol> {
    decode_with(img, Search::Located)
}

/// Finds and decodes one PDF417 symbol with the attempts `search` names.
pub fn decode_with(img: &GrayImage, search: Search) -> Option<Symbol> {
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
    let mut reader = PDF417Reader;
    let mut attempts = 0;
    let mut attempt = |img: &GrayImage, turned: f32| {
        attempts += 1;
        try_decode(img, &mut reader).map(|text| Symbol {
            text,
            turned,
            attempts,
        })
    };
    let (thumb, scale) = thumbnail(img);
    let skew = skew_of(&thumb);
    // The located symbol squared up (bars made parallel, perspective removed), in either
    // orientation of the bars; within a quarter degree of square, on the thumbnail as it is.
    if search != Search::Whole {
        let turned = if skew.abs() < 0.25 {
            thumb.clone()
        } else {
            turn(&thumb, skew)
        };
        for quarter in [false, true] {
            if let Some(square) = rectify_with(img, &thumb, scale, skew, &turned, quarter)
                && let Some(s) = attempt(&square, skew)
            {
                return Some(s);
            }
        }
    }
    // Whole photo as it is: on a first look only when small and nearly square to the frame
    // (a crop, a flat render).
    let small = img.width().max(img.height()) <= SKEW_SIDE;
    let direct = search != Search::Located || (small && skew.abs() < 1.0);
    if direct && let Some(s) = attempt(img, 0.0) {
        return Some(s);
    }
    if search == Search::Located {
        return None;
    }
    // Whole photo turned by the skew and around it.
    for deg in std::iter::once(skew).chain(NEAR.iter().map(|d| skew + d)) {
        if let Some(s) = attempt(&turn(img, deg), deg) {
            return Some(s);
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
