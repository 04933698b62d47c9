//! Request bodies: bounded reads of multipart or JSON into [`Fields`], JSON bodies as types,
//! and the body errors in the usual envelope.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use idv_core::ErrorCode;
use idv_core::images::{FieldValue, Fields, too_large};
use idv_image::MAX_BYTES;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::ApiError;

pub use idv_core::limits::MAX_BODY;

/// Most fields (multipart parts or JSON members) a body may have: every form has fewer than
/// 30. Beyond it the body is read on (bounded by [`MAX_BODY`]) but nothing more is kept.
pub const MAX_FIELDS: usize = 100;

const TOO_MANY: &str = "too many fields";

/// 400: more than [`MAX_FIELDS`] fields.
fn too_many_fields(code: ErrorCode) -> ApiError {
    ApiError::new(code, format!("the body has more than {MAX_FIELDS} fields"))
}

/// A JSON object's members with a scalar value (strings, booleans, numbers) as text, read
/// without building a tree: at most [`MAX_FIELDS`] members are accepted and nested values
/// are skipped unread, so a body of millions of tiny members costs no more than its bytes.
struct JsonFields(HashMap<String, FieldValue>);

impl<'de> Deserialize<'de> for JsonFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<JsonFields, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = JsonFields;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonFields, A::Error> {
                let mut out = HashMap::new();
                let mut seen = 0;
                while let Some(key) = map.next_key::<String>()? {
                    seen += 1;
                    if seen > MAX_FIELDS {
                        return Err(de::Error::custom(TOO_MANY));
                    }
                    match map.next_value()? {
                        Scalar::Value(Some(text)) => {
                            out.insert(key, FieldValue::Text(text));
                        }
                        // One level of object, as `key.member` (the one-call `chip`).
                        Scalar::Object(members) => {
                            for (k, v) in members {
                                seen += 1;
                                if seen > MAX_FIELDS {
                                    return Err(de::Error::custom(TOO_MANY));
                                }
                                out.insert(format!("{key}.{k}"), FieldValue::Text(v));
                            }
                        }
                        Scalar::Value(None) => {}
                    }
                }
                Ok(JsonFields(out))
            }
        }
        d.deserialize_map(Members)
    }
}

/// A member's value as text when it is a scalar (as `serde_json` prints it); `None` for null,
/// arrays, which are skipped without being kept; an object's scalar members (deeper values
/// skipped).
enum Scalar {
    Value(Option<String>),
    Object(Vec<(String, String)>),
}

/// A member inside an object: scalars only.
struct Inner(Option<String>);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Inner, D::Error> {
        Ok(match Scalar::deserialize_with(d, false)? {
            Scalar::Value(v) => Inner(v),
            Scalar::Object(_) => Inner(None),
        })
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize_with(d, true)
    }
}

impl Scalar {
    fn deserialize_with<'de, D: Deserializer<'de>>(
        d: D,
        objects: bool,
    ) -> Result<Scalar, D::Error> {
        struct Value(bool);
        impl<'de> Visitor<'de> for Value {
            type Value = Scalar;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Value(Some(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Value(Some(v)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Value(Some(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Value(Some(v.to_string())))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Value(Some(v.to_string())))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Value(
                    serde_json::Number::from_f64(v).map(|n| n.to_string()),
                ))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Value(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Value(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                if !self.0 {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(Scalar::Value(None));
                }
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if members.len() >= MAX_FIELDS {
                        return Err(de::Error::custom(TOO_MANY));
                    }
                    if let Inner(Some(v)) = map.next_value()? {
                        members.push((key, v));
                    }
                }
                Ok(Scalar::Object(members))
            }
        }
        d.deserialize_any(Value(objects))
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
        let mut parts = 0usize;
        while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
            parts += 1;
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
            if oversized.is_some() || parts > MAX_FIELDS {
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
            None if parts > MAX_FIELDS => Err(too_many_fields(ErrorCode::InvalidMultipart)),
            None => Ok(fields),
        }
    } else if ct.starts_with("application/json") || ct.is_empty() {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(body_error)?;
        // Kept when the body is not an object at all, to say so.
        let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !object {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the body must be a JSON object",
            ));
        }
        let parsed: JsonFields = serde_json::from_slice(&bytes).map_err(|e| match e.is_data() {
            true if e.to_string().starts_with(TOO_MANY) => too_many_fields(ErrorCode::InvalidJson),
            _ => ApiError::new(ErrorCode::InvalidJson, format!("invalid JSON: {e}")),
        })?;
        let fields = Fields { values: parsed.0 };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: String) -> Request {
        Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn json_members_read_as_before_and_bombs_refused() {
        let f = read_fields(json(
            r#"{"a": "x", "b": true, "c": 2, "d": 1.0, "e": null, "f": [1, {"g": 2}], "h": {"i": "j"}}"#
                .into(),
        ))
        .await
        .unwrap();
        let text = |k: &str| f.text(k);
        assert_eq!(
            (text("a"), text("b"), text("c"), text("d")),
            (
                Some("x".into()),
                Some("true".into()),
                Some("2".into()),
                Some("1.0".into())
            )
        );
        assert!(!f.has("e") && !f.has("f") && !f.has("h") && !f.has("i"));
        let bomb: Vec<String> = (0..200_000).map(|i| format!("\"{i}\":1")).collect();
        let e = read_fields(json(format!("{{{}}}", bomb.join(","))))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidJson);
        assert!(e.message.contains("more than 100 fields"), "{}", e.message);
        let e = read_fields(json("[1]".into())).await.unwrap_err();
        assert_eq!(e.message, "the body must be a JSON object");
    }

    #[tokio::test]
    async fn multipart_bodies_of_many_parts_are_refused() {
        let mut body = String::new();
        for i in 0..1000 {
            body.push_str(&format!(
                "--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n1\r\n"
            ));
        }
        body.push_str("--b--\r\n");
        let req = Request::builder()
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(axum::body::Body::from(body))
            .unwrap();
        let e = read_fields(req).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidMultipart);
    }
}
