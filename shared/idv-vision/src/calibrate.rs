//! Match calibration: the two models' cosine similarities → one fused similarity → match
//! confidence in [0, 1].
//!
//! Fusion: each cosine is z-normalised by its model's impostor distribution (mean and standard
//! deviation over different-person pairs), and the fused similarity is the mean of the two
//! z-scores, so 0 is a typical stranger and each unit is one impostor standard deviation.
//!
//! The confidence is a logistic function of the fused similarity, `1 / (1 + e^-(A·s + B))`,
//! anchored so that the Kairos bands read as false-accept rates on document-vs-selfie pairs:
//! confidence 0.56 (pass) where at most 0.1 % of impostors remain, 0.40 (review) where at most
//! 1 % remain, each with 95 % confidence on the fitting set.
//! All four constants were fitted by `idv face eval --fit` on 322 people (LFW A–C rendered as
//! document portraits against their other photos; 621 genuine, 103,362 impostor pairs) and
//! checked on 258 others (D–G); the README gives both sets' figures.

/// Slope of the anchored logistic (see the module doc and the README for the data).
pub const A: f32 = 1.1113;
/// Intercept of the anchored logistic.
pub const B: f32 = -2.6722;

/// Impostor cosine mean and standard deviation of MobileFaceNet (embedding averaged with the
/// mirrored face's), over the fitting set's impostor pairs.
pub const MOBILEFACENET_IMPOSTOR: (f32, f32) = (0.0096, 0.1438);
/// Impostor cosine mean and standard deviation of dlib's descriptor.
pub const DLIB_IMPOSTOR: (f32, f32) = (0.8441, 0.0337);

/// The fused similarity of the two models' cosines `[mobilefacenet, dlib]`.
pub fn fuse(cosines: [f32; 2]) -> f32 {
    let z = |c: f32, (mean, sd): (f32, f32)| (c - mean) / sd;
    (z(cosines[0], MOBILEFACENET_IMPOSTOR) + z(cosines[1], DLIB_IMPOSTOR)) / 2.0
}

/// Maps a fused similarity to a match confidence in [0, 1].
pub fn confidence(similarity: f32) -> f32 {
    logistic(A, B, similarity)
}

/// `1 / (1 + e^-(a·x + b))`: the confidence for constants `(a, b)` (see [`anchored`]).
pub fn logistic(a: f32, b: f32, x: f32) -> f32 {
    1.0 / (1.0 + (-(a * x + b)).exp())
}

/// The logistic `(A, B)` that gives confidence 0.56 at fused similarity `t_pass` and 0.40 at
/// `t_review`: with `t_pass` and `t_review` the scores that 0.1 % and 1 % of impostors reach,
/// the Kairos bands read as false-accept rates (`idv face eval --fit` finds them).
pub fn anchored(t_pass: f32, t_review: f32) -> (f32, f32) {
    let logit = |p: f32| (p / (1.0 - p)).ln();
    let a = (logit(0.56) - logit(0.40)) / (t_pass - t_review);
    (a, logit(0.56) - a * t_pass)
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
    fn anchored_bands_land_on_their_scores() {
        let (a, b) = anchored(2.5, 2.0);
        assert!((logistic(a, b, 2.5) - 0.56).abs() < 1e-5);
        assert!((logistic(a, b, 2.0) - 0.40).abs() < 1e-5);
    }
}
