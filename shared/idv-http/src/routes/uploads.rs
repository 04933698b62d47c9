//! Presigned uploads: `POST /v1/uploads` hands out a URL; locally idv receives the PUT itself
//! (`PUT /v1/uploads/{key}`), checking signature, expiry, size and content type — the
//! contract S3 presigned PUTs give on AWS — and, being idv, also that the URL's tenant and
//! credential are still in force, that it is used once, and that the bytes are an image.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use idv_store::{UploadGrant, UploadRefused};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::extract::{ApiKey, Authed};
use idv_core::ErrorCode;
use idv_core::Services;

/// `POST /v1/uploads` body.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadRequest {
    content_type: Option<String>,
}

/// `POST /v1/uploads` answer: where and how to PUT the image, and the key to send instead
/// of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    /// Send this as the image field's value.
    pub key: String,
    pub url: String,
    pub method: &'static str,
    /// Headers the PUT must carry.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Unix seconds.
    pub expires_at: u64,
    pub max_bytes: u64,
}

/// `POST /v1/uploads` `{"contentType"}` → `{key, url, method, headers, expiresAt, maxBytes}`.
#[utoipa::path(post, operation_id = "create_upload", path = "/v1/uploads", tag = "Uploads", security(("x_api_key" = [])), request_body = UploadRequest, responses((status = 200, description = "A presigned PUT; send the key instead of the image", body = Upload)))]
pub async fn create(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    headers: HeaderMap,
    body: Option<Json<UploadRequest>>,
) -> Result<Json<Upload>, ApiError> {
    let ct = body
        .and_then(|b| b.0.content_type)
        .unwrap_or_else(|| "image/jpeg".into());
    let credential =
        crate::extract::api_key_credential(&headers).ok_or_else(ApiError::unauthorized)?;
    let (key, p) = idv_core::uploads::issue(
        &state,
        &tenant.0,
        idv_core::uploads::Owner::Credential(&credential),
        &ct,
    )
    .await?;
    let max = idv_image::MAX_BYTES as u64;
    Ok(Json(Upload {
        key,
        url: p.url,
        method: p.method,
        headers: p.headers,
        expires_at: p.expires_at,
        max_bytes: max,
    }))
}

/// `PUT /v1/uploads/{key}?expires&max&type&sig`: the local store receiving a presigned upload.
#[utoipa::path(put, operation_id = "put_upload", path = "/v1/uploads/{key}", tag = "Uploads", params(("key" = String, Path, description = "The upload key"), ("expires" = u64, Query), ("max" = u64, Query), ("type" = String, Query), ("sig" = String, Query)), request_body(content = [u8], content_type = "application/octet-stream"), responses((status = 200, description = "Stored (the local store only; on AWS the URL is S3's)")))]
pub async fn receive(
    State(state): State<Services>,
    Path(key): Path<String>,
    grant: Result<Query<UploadGrant>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let Some(local) = state.local_uploads.clone() else {
        return Err(ApiError::not_found("route"));
    };
    let Ok(Query(grant)) = grant else {
        return Err(ApiError::new(
            ErrorCode::UploadRefused,
            "the upload URL is missing its signature",
        ));
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let refused = |e: UploadRefused| {
        let code = match e {
            UploadRefused::TooLarge => ErrorCode::ImageTooLarge,
            _ => ErrorCode::UploadRefused,
        };
        ApiError::new(code, e.to_string())
    };
    // Read the body first (never more than 15 MB), then check: a refused client still gets
    // its status rather than a connection closed while it sends.
    let limit = (grant.max as usize).min(idv_image::MAX_BYTES);
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| refused(UploadRefused::TooLarge))?;
    local
        .check_upload(&key, &grant, &ct, bytes.len() as u64)
        .map_err(refused)?;
    idv_core::uploads::receive(&state, &key, &ct, bytes.to_vec()).await?;
    Ok(StatusCode::OK)
}
