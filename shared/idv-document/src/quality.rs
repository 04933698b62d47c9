//! Image-quality measures for documents: sharpness (variance of the Laplacian) and glare
//! (share of the image in saturated, colourless highlights).

use image::{GrayImage, RgbImage};

/// Measured quality of a document photo.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quality {
    /// Variance of the 4-neighbour Laplacian on a grey copy scaled to 1000 px; higher is sharper.
    pub sharpness: f32,
    /// Share of the image in highlight spots (near-white, unsaturated, not background), in [0, 1].
    pub glare: f32,
}

/// Measures `img`.
pub fn measure(img: &RgbImage) -> Quality {
    let (w, h) = img.dimensions();
    let scale = 1000.0 / w.max(h) as f32;
    let resized;
    let small = if scale < 1.0 {
        resized = idv_image::resize(
            img,
            ((w as f32 * scale) as u32).max(1),
            ((h as f32 * scale) as u32).max(1),
        );
        &resized
    } else {
        img
    };
    Quality {
        sharpness: laplacian_variance(&image::imageops::grayscale(small)),
        glare: glare_share(small),
    }
}

fn laplacian_variance(g: &GrayImage) -> f32 {
    let (w, h) = (g.width() as usize, g.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = g.as_raw();
    // Integer sums are exact, so the result does not depend on summation order.
    let (mut sum, mut sum2) = (0i64, 0i64);
    for y in 1..h - 1 {
        let row = y * w;
        for i in row + 1..row + w - 1 {
            let l = i64::from(p[i - 1])
                + i64::from(p[i + 1])
                + i64::from(p[i - w])
                + i64::from(p[i + w])
                - 4 * i64::from(p[i]);
            sum += l;
            sum2 += l * l;
        }
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    (sum2 as f64 / n - mean * mean) as f32
}

/// Largest share of the image one highlight may cover and still count as glare: a larger
/// bright region is a white page or background, not a reflection.
const MAX_SPOT: f32 = 0.25;
/// Smallest share of the image one highlight must cover to count: specks of white paper
/// between printed characters are not glare.
const MIN_SPOT: f32 = 0.001;

/// Share of the image in saturated highlight spots: bright, colourless regions that do not
/// touch the border (the background of a scan) and are neither specks nor a whole white page.
fn glare_share(img: &RgbImage) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let total = (w * h).max(1) as f32;
    // Bright pixels not yet visited by a flood fill.
    let mut open: Vec<bool> = img
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            let (mx, mn) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
            mn >= 245 && mx - mn <= 12
        })
        .collect();
    let mut glare = 0usize;
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !open[start] {
            continue;
        }
        // Flood-fill one bright component, noting whether it reaches the border.
        let (mut area, mut on_border) = (0usize, false);
        open[start] = false;
        stack.push(start);
        while let Some(i) = stack.pop() {
            area += 1;
            let (x, y) = (i % w, i / w);
            on_border |= x == 0 || y == 0 || x == w - 1 || y == h - 1;
            for (nx, ny) in [
                (x.wrapping_sub(1), y),
                (x + 1, y),
                (x, y.wrapping_sub(1)),
                (x, y + 1),
            ] {
                if nx < w && ny < h && open[ny * w + nx] {
                    open[ny * w + nx] = false;
                    stack.push(ny * w + nx);
                }
            }
        }
        let share = area as f32 / total;
        if !on_border && (MIN_SPOT..=MAX_SPOT).contains(&share) {
            glare += area;
        }
    }
    glare as f32 / total
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
    fn a_white_page_inside_a_darker_scan_is_not_glare() {
        let page = RgbImage::from_fn(400, 300, |x, y| {
            let on_page = (20..380).contains(&x) && (20..280).contains(&y);
            let text = on_page && y % 20 < 3 && x % 9 < 5;
            if on_page && !text {
                Rgb([250, 250, 250])
            } else {
                Rgb([60, 60, 60])
            }
        });
        assert_eq!(measure(&page).glare, 0.0);
    }

    #[test]
    fn blur_lowers_sharpness() {
        let sharp = card(false);
        let blurred = image::imageops::blur(&sharp, 4.0);
        assert!(measure(&blurred).sharpness < measure(&sharp).sharpness / 4.0);
    }
}
