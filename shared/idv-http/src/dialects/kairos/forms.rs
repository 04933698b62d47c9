//! Kairos request bodies, for the OpenAPI document: multipart forms (JSON objects with the
//! same names and base64 images are accepted too). Never constructed.

#![allow(dead_code)]

use utoipa::ToSchema;

/// `POST /v0.2/full-id-verification`.
#[derive(ToSchema)]
pub struct FullIdForm {
    /// The selfie: JPEG, PNG, WebP or BMP, at most 15 MB.
    #[schema(value_type = String, format = Binary)]
    selfie: Vec<u8>,
    /// The document's front (or data page).
    #[schema(value_type = String, format = Binary)]
    document: Vec<u8>,
    /// The document's back, when it has one.
    #[schema(value_type = Option<String>, format = Binary)]
    document_back: Option<Vec<u8>>,
    /// `permissive-v0`, `optimal-v0` (default) or `strict-v0`.
    profile: Option<String>,
    /// https URL receiving the finished result, signed.
    callback_url: Option<String>,
    /// The chip's EF.SOD as read (a file part, or base64); with it `chip_dg1`, `chip_dg2`,
    /// `chip_dg14`, `chip_dg15` likewise, and `chip_challenge_id` + `chip_aa_signature` for
    /// Active Authentication (`POST /v1/chip/challenge`).
    #[schema(value_type = Option<String>, format = Binary)]
    chip_sod: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    chip_dg1: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    chip_dg2: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    chip_dg14: Option<Vec<u8>>,
    #[schema(value_type = Option<String>, format = Binary)]
    chip_dg15: Option<Vec<u8>>,
    chip_challenge_id: Option<String>,
    #[schema(value_type = Option<String>, format = Binary)]
    chip_aa_signature: Option<Vec<u8>>,
}

/// `POST /v0.1/document-verification`.
#[derive(ToSchema)]
pub struct DocumentForm {
    #[schema(value_type = String, format = Binary)]
    document: Vec<u8>,
    #[schema(value_type = Option<String>, format = Binary)]
    document_back: Option<Vec<u8>>,
    profile: Option<String>,
    callback_url: Option<String>,
}

/// `POST /v0.2/biometric-verification`.
#[derive(ToSchema)]
pub struct BiometricForm {
    #[schema(value_type = String, format = Binary)]
    selfie: Vec<u8>,
    /// The photo to compare the selfie with.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// Compare with every face of `image`, not only the largest.
    image_multiface: Option<bool>,
    profile: Option<String>,
}

/// `POST /v0.2/liveness-verification`.
#[derive(ToSchema)]
pub struct LivenessForm {
    #[schema(value_type = String, format = Binary)]
    selfie: Vec<u8>,
    /// Liveness below this (0–1) rejects; the profile's bands otherwise.
    threshold: Option<f64>,
    profile: Option<String>,
}
