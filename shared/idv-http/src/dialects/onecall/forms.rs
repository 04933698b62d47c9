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
