//! Request bodies: bounded reads of multipart or JSON into [`Fields`], JSON bodies as types,
//! and the body errors in the usual envelope.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use idv_core::ErrorCode;
use idv_core::images::{FieldValue, Fields, too_large};
use idv_image::MAX_BYTES;
use serde_json::Value;

use crate::error::ApiError;

pub use idv_core::limits::MAX_BODY;

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
            Some(name) => Err(too_large(&name).into()),
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
