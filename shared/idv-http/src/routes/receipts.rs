//! `GET /v1/receipts/{id}`, and the receipt header of a verification's answer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use idv_core::Services;
use idv_core::receipts::{RECEIPT_HEADER, RECEIPTS, StoredReceipt};

use crate::error::ApiError;

/// Puts `receipt` in the response's [`RECEIPT_HEADER`].
pub fn attach(res: &mut axum::response::Response, receipt: Option<&str>) {
    if let Some(v) = receipt.and_then(|r| axum::http::HeaderValue::from_str(r).ok()) {
        res.headers_mut().insert(RECEIPT_HEADER, v);
    }
}

/// `GET /v1/receipts/{id}`: the signed receipt of verification `id` of the caller's tenant
/// (any of its credentials); kept after the verification is deleted.
#[utoipa::path(get, operation_id = "get_receipt", path = "/v1/receipts/{id}", tag = "Data", security(("x_api_key" = []), ("app_id" = [], "app_key" = []), ("bearer" = [])), params(("id" = String, Path, description = "Kairos api_req_uid, LINK id or one-call verificationId")), responses((status = 200, description = "The receipt: a compact JWS (ES256/RS256, x5c chain)", body = StoredReceipt), (status = 404, description = "No receipt for this id and tenant", body = crate::error::ErrorBody)))]
pub async fn show(
    State(state): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<StoredReceipt>, ApiError> {
    let (tenant, _) = crate::extract::any(&state, &headers).await?;
    let r = RECEIPTS
        .get(state.records.as_ref(), &format!("{}/{id}", tenant.0))
        .await?
        .ok_or_else(|| ApiError::not_found("receipt"))?;
    Ok(Json(r.value))
}
