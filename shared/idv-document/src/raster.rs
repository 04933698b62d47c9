//! Small raster helpers shared by the text detector and the barcode locator.

/// The 4-connected components of the pixels of a `w`×`h` raster for which `inside` holds,
/// each as its pixel indices (`y·w + x`).
pub fn components(w: usize, h: usize, inside: impl Fn(usize) -> bool) -> Vec<Vec<usize>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || !inside(start) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut pixels = Vec::new();
        while let Some(i) = stack.pop() {
            pixels.push(i);
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if !seen[j] && inside(j) {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        out.push(pixels);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separate_blobs() {
        // Two blobs in a 5×3 raster: the left column pair and the right 2×2 block.
        let on = [1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0];
        let mut sizes: Vec<usize> = components(5, 3, |i| on[i] == 1)
            .iter()
            .map(Vec::len)
            .collect();
        sizes.sort();
        assert_eq!(sizes, vec![2, 4]);
    }
}
