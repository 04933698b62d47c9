//! One-call request bodies, for the OpenAPI document. Each image is a multipart file, or in
//! JSON a base64 string or the `key` of an earlier `POST /v1/uploads`. Never constructed.

#![allow(dead_code)]

use utoipa::ToSchema;

/// `POST /v1/verify-identity` as multipart.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct VerifyForm {
    #[schema(value_type = String, format = Binary)]
    document_image: Vec<u8>,
    #[schema(value_type = Option<String>, format = Binary)]
    document_back_image: Option<Vec<u8>>,
    #[schema(value_type = String, format = Binary)]
    face_image: Vec<u8>,
    /// `passport`, `drivers_license`, `national_id` or `auto` (default).
    document_type: Option<String>,
    profile: Option<String>,
    /// https URL receiving the result, signed.
    callback_url: Option<String>,
    /// The chip's EF.SOD as read (see `ChipFiles`); its other files likewise as `chip.dg1`,
    /// `chip.dg2`, `chip.dg14`, `chip.dg15`, with `chip.challenge_id` and `chip.aa_signature`.
    #[schema(rename = "chip.sod", value_type = Option<String>, format = Binary)]
    chip_sod: Option<Vec<u8>>,
    #[schema(rename = "chip.dg1", value_type = Option<String>, format = Binary)]
    chip_dg1: Option<Vec<u8>>,
    #[schema(rename = "chip.dg2", value_type = Option<String>, format = Binary)]
    chip_dg2: Option<Vec<u8>>,
    #[schema(rename = "chip.dg14", value_type = Option<String>, format = Binary)]
    chip_dg14: Option<Vec<u8>>,
    #[schema(rename = "chip.dg15", value_type = Option<String>, format = Binary)]
    chip_dg15: Option<Vec<u8>>,
    #[schema(rename = "chip.challenge_id")]
    chip_challenge_id: Option<String>,
    #[schema(rename = "chip.aa_signature", value_type = Option<String>, format = Binary)]
    chip_aa_signature: Option<Vec<u8>>,
}

/// What the app read from the document's chip, each file base64 (whole, as read), and its
/// Active Authentication answer.
#[derive(ToSchema)]
pub struct ChipFiles {
    /// EF.SOD (`77…`).
    sod: String,
    /// DG1 (`61…`): the MRZ, compared with the printed one.
    dg1: Option<String>,
    /// DG2 (`75…`): the portrait, compared with the selfie and the printed portrait.
    dg2: Option<String>,
    /// DG14 (`6E…`): names the Active Authentication algorithm of EC keys.
    dg14: Option<String>,
    /// DG15 (`6F…`): the Active Authentication key.
    dg15: Option<String>,
    /// From `POST /v1/chip/challenge`; its challenge is what the chip signed.
    challenge_id: Option<String>,
    /// The chip's answer to INTERNAL AUTHENTICATE.
    aa_signature: Option<String>,
}

/// `POST /v1/verify-identity` as JSON.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct VerifyJson {
    /// Base64 (standard or URL-safe, data: URLs too) or an upload key.
    document_image: String,
    document_back_image: Option<String>,
    face_image: String,
    document_type: Option<String>,
    profile: Option<String>,
    callback_url: Option<String>,
    /// The document's chip, when the app read it.
    chip: Option<ChipFiles>,
}

/// `POST /v1/document/scan`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ScanForm {
    #[schema(value_type = String, format = Binary)]
    document_image: Vec<u8>,
    #[schema(value_type = Option<String>, format = Binary)]
    document_back_image: Option<Vec<u8>>,
    document_type: Option<String>,
    profile: Option<String>,
}

/// `POST /v1/face/detect` (`faceImage` is accepted for `image`).
#[derive(ToSchema)]
pub struct DetectForm {
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
}

/// `POST /v1/face/compare` (`documentImage`/`faceImage` are accepted for
/// `sourceImage`/`targetImage`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CompareForm {
    #[schema(value_type = String, format = Binary)]
    source_image: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    target_image: Vec<u8>,
    profile: Option<String>,
}
