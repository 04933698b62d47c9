//! Fast resizing for model inputs and quality measures.
//!
//! `image::imageops::resize` sends every pixel through a generic floating-point path (RGBA
//! f32 intermediates) and costs 10–20 ms to bring a 1334×880 photo down to 512 px on this
//! project's 2-core machines, while the models wait. [`resize`] computes the same triangle
//! (tent) filter, with the same weights, in two separable passes over plain slices: ~2 ms.

use image::RgbImage;

/// `img` scaled to `width`×`height` with a triangle filter: bilinear when growing; when
/// shrinking, the tent widened by the scale so every source pixel contributes (anti-aliased),
/// as `image::imageops::resize(…, FilterType::Triangle)` does.
pub fn resize(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let (width, height) = (width.max(1), height.max(1));
    if sw == 0 || sh == 0 {
        return RgbImage::new(width, height);
    }
    let xs = tent_weights(sw as usize, width as usize);
    let ys = tent_weights(sh as usize, height as usize);
    let src = img.as_raw();
    let (row_len, width) = (sw as usize * 3, width as usize);
    let mut out = vec![0u8; width * height as usize * 3];
    // Per target row: the weighted sum of the source rows it covers (one contiguous,
    // vectorisable pass), then that row's columns averaged the same way.
    let mut acc = vec![0f32; row_len];
    for (taps_y, row_out) in ys.iter().zip(out.chunks_exact_mut(width * 3)) {
        acc.fill(0.0);
        for &(j, wgt) in taps_y {
            for (a, &v) in acc.iter_mut().zip(&src[j * row_len..(j + 1) * row_len]) {
                *a += wgt * f32::from(v);
            }
        }
        for (taps_x, px) in xs.iter().zip(row_out.chunks_exact_mut(3)) {
            let mut sum = [0f32; 3];
            for &(i, wgt) in taps_x {
                let p = &acc[i * 3..i * 3 + 3];
                sum[0] += wgt * p[0];
                sum[1] += wgt * p[1];
                sum[2] += wgt * p[2];
            }
            for (o, v) in px.iter_mut().zip(sum) {
                // Weights are positive: adding ½ rounds, and `as` saturates at 255
                // (`f32::round` is a library call on baseline x86-64).
                *o = (v + 0.5) as u8;
            }
        }
    }
    RgbImage::from_raw(width as u32, height, out).expect("buffer sized to the image")
}

/// For each of `dst` target positions, the source positions under its tent and their
/// weights (summing to 1).
fn tent_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let ratio = src as f32 / dst as f32;
    let support = ratio.max(1.0);
    (0..dst)
        .map(|i| {
            let centre = (i as f32 + 0.5) * ratio;
            let left = ((centre - support).floor().max(0.0) as usize).min(src - 1);
            let right = ((centre + support).ceil() as usize).clamp(left + 1, src);
            let mut taps: Vec<(usize, f32)> = (left..right)
                .map(|j| {
                    (
                        j,
                        (1.0 - ((j as f32 + 0.5 - centre) / support).abs()).max(0.0),
                    )
                })
                .filter(|&(_, w)| w > 0.0)
                .collect();
            let sum: f32 = taps.iter().map(|t| t.1).sum();
            if sum > 0.0 {
                taps.iter_mut().for_each(|t| t.1 /= sum);
            } else {
                taps = vec![(left, 1.0)];
            }
            taps
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;
    use image::imageops::FilterType;

    /// A photo-like test card: gradients, stripes and pseudo-random noise.
    fn card(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 64;
            let stripe = if (x / 3 + y / 5) % 2 == 0 { 120 } else { 0 };
            Rgb([
                (x * 255 / w) as u8,
                (stripe + noise) as u8,
                (y * 255 / h) as u8,
            ])
        })
    }

    fn largest_difference(a: &RgbImage, b: &RgbImage) -> u8 {
        assert_eq!(a.dimensions(), b.dimensions());
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn matches_the_image_crates_triangle_filter() {
        let img = card(1334, 880);
        for (w, h) in [(512, 352), (1000, 660), (640, 421), (1334, 440), (97, 1300)] {
            let ours = resize(&img, w, h);
            let theirs = image::imageops::resize(&img, w, h, FilterType::Triangle);
            assert!(largest_difference(&ours, &theirs) <= 1, "{w}x{h}");
        }
    }

    #[test]
    fn flat_colour_stays_flat() {
        let flat = RgbImage::from_pixel(1334, 880, Rgb([37, 120, 251]));
        let small = resize(&flat, 512, 352);
        assert!(small.pixels().all(|p| *p == Rgb([37, 120, 251])));
    }

    #[test]
    fn tiny_and_degenerate_sizes_do_not_panic() {
        let img = card(3, 1);
        assert_eq!(resize(&img, 1, 1).dimensions(), (1, 1));
        assert_eq!(resize(&img, 0, 5).dimensions(), (1, 5));
        assert_eq!(resize(&RgbImage::new(0, 0), 4, 4).dimensions(), (4, 4));
    }
}
