//! Request bodies with images: multipart parts, JSON base64/base64url strings, or keys of
//! earlier presigned uploads; decoded under the seeds' limits before any work is done.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use idv_image::{Limits, MAX_BYTES};
use image::RgbImage;
use serde_json::Value;

use crate::credentials::Tenant;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Largest request body: three 15 MB images as base64 (×4/3) plus the JSON around them.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// One field of a request: bytes of a file part, or text.
#[derive(Debug, Clone)]
pub enum FieldValue {
    File(Vec<u8>),
    Text(String),
}

/// A request body as named fields, whether it came as multipart or JSON.
#[derive(Debug, Default)]
pub struct Fields {
    pub values: HashMap<String, FieldValue>,
}

impl Fields {
    /// The field as text (a file part's bytes when they are UTF-8).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.values.get(name) {
            Some(FieldValue::Text(t)) => Some(t.clone()),
            Some(FieldValue::File(b)) => String::from_utf8(b.clone()).ok(),
            None => None,
        }
    }

    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.text(name).as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(_) => Err(ApiError::new(
                ErrorCode::InvalidField,
                format!("{name} must be true or false"),
            )),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// A JSON body (under the body limit) as `T`. A body that does not parse is 400
/// `INVALID_JSON` in the usual error envelope (axum's own rejection is plain text).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(too_large_body()),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidJson, e.body_text())),
        }
    }
}

/// Reads a multipart or JSON body into [`Fields`]; a file part over 15 MB gives 413.
/// Reads and discards up to `limit` bytes of `body`, one frame at a time (nothing is kept):
/// a client still sending a refused request then gets its answer rather than a reset.
pub async fn drain(body: axum::body::Body, limit: usize) {
    use axum::body::HttpBody;
    let mut body = std::pin::pin!(body);
    let mut seen = 0usize;
    while seen < limit {
        match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
            _ => break,
        }
    }
}

pub async fn read_fields(req: Request) -> Result<Fields, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.body_text()))?;
        let mut fields = Fields::default();
        let mut oversized: Option<String> = None;
        while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                // Past the limit, read on without keeping anything: a client still sending
                // would otherwise see a broken connection instead of the 413.
                if oversized.is_none() {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_BYTES {
                        oversized = Some(name.clone());
                        bytes = Vec::new();
                    }
                }
            }
            if oversized.is_some() {
                continue;
            }
            let value = if is_file {
                FieldValue::File(bytes)
            } else {
                match String::from_utf8(bytes) {
                    Ok(t) => FieldValue::Text(t),
                    Err(e) => FieldValue::File(e.into_bytes()),
                }
            };
            fields.values.insert(name, value);
        }
        match oversized {
            Some(name) => Err(too_large(&name)),
            None => Ok(fields),
        }
    } else if ct.starts_with("application/json") || ct.is_empty() {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(body_error)?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON: {e}")))?;
        let mut fields = Fields::default();
        if let Value::Object(map) = &json {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                fields.values.insert(k.clone(), FieldValue::Text(text));
            }
        } else {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the body must be a JSON object",
            ));
        }
        Ok(fields)
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedContentType,
            "send multipart/form-data or application/json",
        ))
    }
}

fn too_large(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ImageTooLarge,
        format!("{name} is larger than 15 MB"),
    )
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large_body()
    } else {
        ApiError::new(ErrorCode::InvalidMultipart, e.body_text())
    }
}

/// 413 `BODY_TOO_LARGE`: the body is over [`MAX_BODY`](MAX_BODY).
pub fn too_large_body() -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        "the request body is larger than 64 MB",
    )
}

/// Maps a body-read failure (the body limit included) to a 4xx.
pub fn body_error(e: axum::Error) -> ApiError {
    let too_large = std::error::Error::source(&e)
        .map(|s| s.to_string().contains("length limit"))
        .unwrap_or(false)
        || e.to_string().contains("length limit");
    if too_large {
        too_large_body()
    } else {
        ApiError::new(ErrorCode::InvalidBody, "the request body could not be read")
    }
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Decodes base64 or base64url, with or without padding or a `data:…;base64,` prefix.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let s = match s.strip_prefix("data:") {
        Some(rest) => rest.split_once(";base64,")?.1,
        None => s,
    };
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE.decode(&compact))
        .or_else(|_| STANDARD_LENIENT.decode(&compact))
        .or_else(|_| URL_LENIENT.decode(&compact))
        .ok()
}

/// Whether a string names an upload (`TENANT/uploads/ID`) rather than carrying base64.
fn is_upload_key(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 3 && parts[1] == "uploads" && s.len() < 200
}

/// The bytes of image field `name`: a file part, an upload key of this tenant, or base64.
pub async fn image_bytes(
    state: &AppState,
    tenant: &Tenant,
    fields: &Fields,
    name: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    match fields.values.get(name) {
        None => Ok(None),
        Some(FieldValue::File(b)) => Ok(Some(b.clone())),
        Some(FieldValue::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(FieldValue::Text(t)) if is_upload_key(t.trim()) => {
            let key = t.trim();
            if !key.starts_with(&format!("{}/", tenant.0)) {
                return Err(ApiError::new(
                    ErrorCode::KeyNotReadable,
                    format!("{name}: the upload key is not readable by this organization"),
                ));
            }
            match state.blobs.get(key).await? {
                Some(b) => Ok(Some(b)),
                None => Err(ApiError::new(
                    ErrorCode::UploadNotFound,
                    format!("{name}: nothing was uploaded to this key"),
                )),
            }
        }
        Some(FieldValue::Text(t)) => match decode_base64(t) {
            Some(b) if b.len() > MAX_BYTES => Err(too_large(name)),
            Some(b) => Ok(Some(b)),
            None => Err(ApiError::new(
                ErrorCode::InvalidBase64,
                format!("{name} is not valid base64"),
            )),
        },
    }
}

/// Decodes image bytes under `limits`, off the async workers, handing the bytes back beside
/// the image (no copy). Errors name the field.
pub async fn decode(
    name: &str,
    bytes: Vec<u8>,
    limits: Limits,
) -> Result<(Vec<u8>, RgbImage), ApiError> {
    off_workers(name, bytes, move |b| idv_image::decode_rgb(b, &limits)).await
}

/// Runs `decode` on `bytes` on the blocking pool, handing the bytes back beside its result;
/// its error names the field.
async fn off_workers<T: Send + 'static>(
    name: &str,
    bytes: Vec<u8>,
    decode: impl FnOnce(&[u8]) -> Result<T, idv_image::ImageError> + Send + 'static,
) -> Result<(Vec<u8>, T), ApiError> {
    let (bytes, decoded) = tokio::task::spawn_blocking(move || {
        let decoded = decode(&bytes);
        (bytes, decoded)
    })
    .await
    .map_err(ApiError::internal)?;
    let value = decoded.map_err(|e| {
        let mut err = ApiError::from(e);
        err.message = format!("{name}: {}", err.message);
        err
    })?;
    Ok((bytes, value))
}

/// An absent field: `None`, or 400 `MISSING_FIELD` when it is `required`.
fn absent<T>(name: &str, required: bool) -> Result<Option<T>, ApiError> {
    match required {
        true => Err(ApiError::new(
            ErrorCode::MissingField,
            format!("{name} is required"),
        )),
        false => Ok(None),
    }
}

/// [`image_bytes`], a file part's bytes moved out of `fields` rather than copied: a request
/// holds each image's bytes once, and only until it is decoded.
async fn take_image_bytes(
    state: &AppState,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    match fields.values.remove(name) {
        Some(FieldValue::File(b)) => Ok(Some(b)),
        Some(text) => {
            fields.values.insert(name.to_string(), text);
            image_bytes(state, tenant, fields, name).await
        }
        None => Ok(None),
    }
}

/// The bytes of a required or optional image field, moved out of `fields` (no copy) once
/// they decode under `limits`: what an asynchronous submission stores for later.
pub async fn checked_image_bytes(
    state: &AppState,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(bytes) = take_image_bytes(state, tenant, fields, name).await? else {
        return absent(name, required);
    };
    // Decoded at full size and dropped: no working copy is made.
    let (bytes, ()) = off_workers(name, bytes, move |b| {
        idv_image::decode(b, &limits).map(drop)
    })
    .await?;
    Ok(Some(bytes))
}

/// The decoded image of a required or optional field; its bytes are moved out of `fields`
/// and freed once decoded.
pub async fn image(
    state: &AppState,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<RgbImage>, ApiError> {
    match take_image_bytes(state, tenant, fields, name).await? {
        Some(bytes) => Ok(Some(decode(name, bytes, limits).await?.1)),
        None => absent(name, required),
    }
}

/// [`image`], with the SHA-256 (hex) of its bytes as received.
pub async fn image_digested(
    state: &AppState,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<(RgbImage, String)>, ApiError> {
    match take_image_bytes(state, tenant, fields, name).await? {
        Some(bytes) => {
            let digest = crate::certify::sha256_hex(&bytes);
            Ok(Some((decode(name, bytes, limits).await?.1, digest)))
        }
        None => absent(name, required),
    }
}

/// The upload key field `name` holds, if it holds one.
pub fn upload_key(fields: &Fields, name: &str) -> Option<String> {
    match fields.values.get(name) {
        Some(FieldValue::Text(t)) if is_upload_key(t.trim()) => Some(t.trim().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_in_every_spelling() {
        for s in [
            "aGk/Pz8+",
            "aGk_Pz8-",
            "aGk/Pz8+\n",
            "data:image/png;base64,aGk/Pz8+",
        ] {
            assert_eq!(decode_base64(s).as_deref(), Some(&b"hi???>"[..]), "{s}");
        }
        assert_eq!(decode_base64("aGk").as_deref(), Some(&b"hi"[..]));
        assert!(decode_base64("not base64!").is_none());
        assert!(is_upload_key("t_1/uploads/abc"));
        assert!(!is_upload_key("aGk/Pz8+"));
    }
}
