//! Match calibration: cosine similarity of two embeddings → match confidence in [0, 1].
//!
//! The confidence is a logistic function of the cosine, `1 / (1 + e^-(A·cos + B))`, fitted by
//! logistic regression with balanced class weights on genuine and impostor pairs
//! (`idv face eval --fit` refits and prints the constants). With balanced weights the
//! confidence reads as "probability that both faces are one person, with even priors", so the
//! Kairos bands keep their meaning: pass ≥ 0.56, review 0.4–0.56, reject < 0.4.

/// Slope of the fitted logistic (see the module doc and the README for the data it came from).
pub const A: f32 = 18.34;
/// Intercept of the fitted logistic.
pub const B: f32 = -7.04;

/// Maps a cosine similarity to a match confidence in [0, 1].
pub fn confidence(cosine: f32) -> f32 {
    logistic(A, B, cosine)
}

fn logistic(a: f32, b: f32, x: f32) -> f32 {
    1.0 / (1.0 + (-(a * x + b)).exp())
}

/// Fits `(A, B)` by Newton's method on balanced logistic loss.
/// `genuine` and `impostor` are cosine similarities of same-person and different-person pairs.
pub fn fit(genuine: &[f32], impostor: &[f32]) -> (f32, f32) {
    if genuine.is_empty() || impostor.is_empty() {
        return (A, B);
    }
    let wg = 0.5 / genuine.len() as f64;
    let wi = 0.5 / impostor.len() as f64;
    let samples: Vec<(f64, f64, f64)> = genuine
        .iter()
        .map(|&c| (c as f64, 1.0, wg))
        .chain(impostor.iter().map(|&c| (c as f64, 0.0, wi)))
        .collect();
    let (mut a, mut b) = (A as f64, B as f64);
    // A small L2 penalty keeps the fit finite when the classes separate perfectly.
    let l2 = 1e-4;
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (l2 * a, 0.0, l2, 0.0, 1e-9);
        for &(x, y, w) in &samples {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let r = w * (p - y);
            ga += r * x;
            gb += r;
            let s = w * p * (1.0 - p);
            haa += s * x * x;
            hab += s * x;
            hbb += s;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    (a as f32, b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_monotonic_and_bounded() {
        let mut last = -1.0;
        for i in -10..=10 {
            let c = confidence(i as f32 / 10.0);
            assert!((0.0..=1.0).contains(&c) && c > last);
            last = c;
        }
    }

    #[test]
    fn fit_puts_the_midpoint_between_the_classes() {
        let genuine = [0.7, 0.75, 0.8, 0.85, 0.5];
        let impostor = [0.0, 0.1, 0.2, -0.1, 0.45];
        let (a, b) = fit(&genuine, &impostor);
        let mid = -b / a;
        assert!(a > 0.0 && (0.3..0.6).contains(&mid), "a={a} b={b}");
    }
}
