//! Image-quality measures for documents: sharpness (variance of the Laplacian) and glare
//! (share of the image in saturated, colourless highlights).

use image::{GrayImage, RgbImage};

/// Measured quality of a document photo.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Quality {
    /// Variance of the 4-neighbour Laplacian on a grey copy scaled to 1000 px; higher is sharper.
    pub sharpness: f32,
    /// Share of pixels that are near-white and unsaturated, in [0, 1].
    pub glare: f32,
}

/// Measures `img`.
pub fn measure(img: &RgbImage) -> Quality {
    let (w, h) = img.dimensions();
    let scale = 1000.0 / w.max(h) as f32;
    let small = if scale < 1.0 {
        image::imageops::resize(
            img,
            ((w as f32 * scale) as u32).max(1),
            ((h as f32 * scale) as u32).max(1),
            image::imageops::FilterType::Triangle,
        )
    } else {
        img.clone()
    };
    let gray: GrayImage = image::DynamicImage::ImageRgb8(small.clone()).to_luma8();
    Quality {
        sharpness: laplacian_variance(&gray),
        glare: glare_share(&small),
    }
}

fn laplacian_variance(g: &GrayImage) -> f32 {
    let (w, h) = g.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (mut sum, mut sum2, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let c = f64::from(g.get_pixel(x, y)[0]);
            let l = f64::from(g.get_pixel(x - 1, y)[0])
                + f64::from(g.get_pixel(x + 1, y)[0])
                + f64::from(g.get_pixel(x, y - 1)[0])
                + f64::from(g.get_pixel(x, y + 1)[0])
                - 4.0 * c;
            sum += l;
            sum2 += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum2 / n - mean * mean) as f32
}

/// Share of the image in saturated highlights that do not touch the border: a glare spot on
/// the document, not the white background of a scan.
fn glare_share(img: &RgbImage) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let bright: Vec<bool> = img
        .pixels()
        .map(|p| {
            let (mx, mn) = (
                p.0.iter().max().copied().unwrap_or(0),
                p.0.iter().min().copied().unwrap_or(0),
            );
            mn >= 245 && mx - mn <= 12
        })
        .collect();
    // Remove bright regions connected to the border.
    let mut background = vec![false; w * h];
    let mut stack: Vec<usize> = (0..w)
        .flat_map(|x| [x, (h - 1) * w + x])
        .chain((0..h).flat_map(|y| [y * w, y * w + w - 1]))
        .filter(|&i| bright[i])
        .collect();
    while let Some(i) = stack.pop() {
        if background[i] {
            continue;
        }
        background[i] = true;
        let (x, y) = (i % w, i / w);
        for (nx, ny) in [
            (x.wrapping_sub(1), y),
            (x + 1, y),
            (x, y.wrapping_sub(1)),
            (x, y + 1),
        ] {
            if nx < w && ny < h && bright[ny * w + nx] && !background[ny * w + nx] {
                stack.push(ny * w + nx);
            }
        }
    }
    let glare = bright
        .iter()
        .zip(&background)
        .filter(|(b, bg)| **b && !**bg)
        .count();
    glare as f32 / (w * h).max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn card(spot: bool) -> RgbImage {
        // White background, a mid-grey textured card, optionally a white spot in the middle.
        RgbImage::from_fn(400, 300, |x, y| {
            let on_card = (40..360).contains(&x) && (40..260).contains(&y);
            let in_spot = spot && (170..230).contains(&x) && (120..180).contains(&y);
            if !on_card || in_spot {
                Rgb([255, 255, 255])
            } else {
                let v = 100 + ((x * 7 + y * 13) % 40) as u8;
                Rgb([v, v, v])
            }
        })
    }

    #[test]
    fn white_background_is_not_glare_but_a_spot_is() {
        assert_eq!(measure(&card(false)).glare, 0.0);
        let g = measure(&card(true)).glare;
        assert!((0.02..0.04).contains(&g), "{g}");
    }

    #[test]
    fn blur_lowers_sharpness() {
        let sharp = card(false);
        let blurred = image::imageops::blur(&sharp, 4.0);
        assert!(measure(&blurred).sharpness < measure(&sharp).sharpness / 4.0);
    }
}
