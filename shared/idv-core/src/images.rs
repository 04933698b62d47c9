//! Images a request carries: its fields (from multipart or JSON), each image as a file part,
//! base64/base64url text or the key of an earlier presigned upload, decoded under the seeds'
//! limits before any work is done.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use idv_image::{Limits, MAX_BYTES};
use idv_store::BlobStore;
use image::RgbImage;

use crate::credentials::Tenant;
use crate::digest::sha256_hex;
use crate::error::{Error, ErrorCode};
use crate::records::InputDigest;

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

    pub fn flag(&self, name: &str) -> Result<bool, Error> {
        match self.text(name).as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(_) => Err(Error::new(
                ErrorCode::InvalidField,
                format!("{name} must be true or false"),
            )),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

pub fn too_large(name: &str) -> Error {
    Error::new(
        ErrorCode::ImageTooLarge,
        format!("{name} is larger than 15 MB"),
    )
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
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &Fields,
    name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    match fields.values.get(name) {
        None => Ok(None),
        Some(FieldValue::File(b)) => Ok(Some(b.clone())),
        Some(FieldValue::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(FieldValue::Text(t)) if is_upload_key(t.trim()) => {
            let key = t.trim();
            if !key.starts_with(&format!("{}/", tenant.0)) {
                return Err(Error::new(
                    ErrorCode::KeyNotReadable,
                    format!("{name}: the upload key is not readable by this organization"),
                ));
            }
            match blobs.get(key).await? {
                Some(b) => Ok(Some(b)),
                None => Err(Error::new(
                    ErrorCode::UploadNotFound,
                    format!("{name}: nothing was uploaded to this key"),
                )),
            }
        }
        Some(FieldValue::Text(t)) => match decode_base64(t) {
            Some(b) if b.len() > MAX_BYTES => Err(too_large(name)),
            Some(b) => Ok(Some(b)),
            None => Err(Error::new(
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
) -> Result<(Vec<u8>, RgbImage), Error> {
    off_workers(name, bytes, move |b| idv_image::decode_rgb(b, &limits)).await
}

/// Runs `decode` on `bytes` on the blocking pool, handing the bytes back beside its result;
/// its error names the field.
async fn off_workers<T: Send + 'static>(
    name: &str,
    bytes: Vec<u8>,
    decode: impl FnOnce(&[u8]) -> Result<T, idv_image::ImageError> + Send + 'static,
) -> Result<(Vec<u8>, T), Error> {
    let (bytes, decoded) = tokio::task::spawn_blocking(move || {
        let decoded = decode(&bytes);
        (bytes, decoded)
    })
    .await
    .map_err(Error::internal)?;
    let value = decoded.map_err(|e| {
        let mut err = Error::from(e);
        err.message = format!("{name}: {}", err.message);
        err
    })?;
    Ok((bytes, value))
}

/// An absent field: `None`, or 400 `MISSING_FIELD` when it is `required`.
fn absent<T>(name: &str, required: bool) -> Result<Option<T>, Error> {
    match required {
        true => Err(Error::new(
            ErrorCode::MissingField,
            format!("{name} is required"),
        )),
        false => Ok(None),
    }
}

/// [`image_bytes`], a file part's bytes moved out of `fields` rather than copied: a request
/// holds each image's bytes once, and only until it is decoded.
async fn take_image_bytes(
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    match fields.values.remove(name) {
        Some(FieldValue::File(b)) => Ok(Some(b)),
        Some(text) => {
            fields.values.insert(name.to_string(), text);
            image_bytes(blobs, tenant, fields, name).await
        }
        None => Ok(None),
    }
}

/// The bytes of a required or optional image field, moved out of `fields` (no copy) once
/// they decode under `limits`: what an asynchronous submission stores for later.
pub async fn checked_image_bytes(
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(bytes) = take_image_bytes(blobs, tenant, fields, name).await? else {
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
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<RgbImage>, Error> {
    match take_image_bytes(blobs, tenant, fields, name).await? {
        Some(bytes) => Ok(Some(decode(name, bytes, limits).await?.1)),
        None => absent(name, required),
    }
}

/// [`image`], with the SHA-256 (hex) of its bytes as received.
pub async fn image_digested(
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &mut Fields,
    name: &str,
    limits: Limits,
    required: bool,
) -> Result<Option<(RgbImage, String)>, Error> {
    match take_image_bytes(blobs, tenant, fields, name).await? {
        Some(bytes) => {
            let digest = sha256_hex(&bytes);
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

/// The SHA-256 of the image fields `names` of a request, as received (a receipt's inputs).
pub async fn digests(
    blobs: &dyn BlobStore,
    tenant: &Tenant,
    fields: &Fields,
    names: &[&str],
) -> Result<Vec<InputDigest>, Error> {
    let mut out = Vec::new();
    for name in names {
        if let Some(bytes) = image_bytes(blobs, tenant, fields, name).await? {
            out.push(InputDigest {
                name: name.to_string(),
                sha256: sha256_hex(&bytes),
            });
        }
    }
    Ok(out)
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
