//! Verification profiles: the thresholds a tenant verifies with, as data (`profiles.json`).

use serde::{Deserialize, Serialize};

/// A score band: below `reject_below` rejects, below `review_below` asks for review.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub reject_below: f64,
    pub review_below: f64,
}

/// One named set of thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Calibrated face-match confidence in [0, 1].
    pub face_match: Band,
    /// Selfie liveness score in [0, 1].
    pub liveness: Band,
    /// Holders younger than this give UNDERAGE.
    pub minimum_age: i64,
    /// Documents with a sharpness below this give IMAGE_TOO_BLURRY.
    pub blur_threshold: f32,
    /// Documents with more glare than this share give GLARE.
    pub glare_threshold: f32,
}

/// The profile used when a request names none.
pub const DEFAULT_PROFILE: &str = "optimal-v0";

/// The profiles: `IDV_PROFILES` (a JSON array, e.g. the template's `Profiles` parameter) when
/// set and valid, else the built-in ones from `profiles.json`.
pub fn builtin() -> Vec<Profile> {
    std::env::var("IDV_PROFILES")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| {
            serde_json::from_str(include_str!("../profiles.json")).expect("profiles.json is valid")
        })
}

/// The built-in profile called `name`.
pub fn find(name: &str) -> Option<Profile> {
    builtin().into_iter().find(|p| p.name == name)
}

impl Profile {
    /// The document-check settings of this profile.
    pub fn check_settings(&self) -> idv_document::CheckSettings {
        idv_document::CheckSettings {
            minimum_age: self.minimum_age,
            blur_threshold: self.blur_threshold,
            glare_threshold: self.glare_threshold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_ordered_from_lenient_to_strict() {
        let p = builtin();
        assert_eq!(p.len(), 3);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["permissive-v0", "optimal-v0", "strict-v0"]);
        for w in p.windows(2) {
            assert!(w[0].face_match.reject_below < w[1].face_match.reject_below);
            assert!(w[0].liveness.review_below < w[1].liveness.review_below);
        }
        for p in &p {
            assert!(p.face_match.reject_below <= p.face_match.review_below);
            assert!(p.liveness.reject_below <= p.liveness.review_below);
        }
        assert!(find(DEFAULT_PROFILE).is_some());
        assert_eq!(find("permissive-v0").unwrap().face_match.reject_below, 0.3);
    }
}
