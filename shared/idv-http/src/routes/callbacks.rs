//! Callback routes: a callback's attempts, and the tenant's webhook secret rotation.

use axum::Json;
use axum::extract::{Path, State};
use idv_core::records::{CALLBACKS, CallbackRecord};
use idv_core::{Services, callbacks};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::{ApiKey, Authed};

/// `GET /v1/callbacks/{id}`: a callback and its attempts, for its tenant.
#[utoipa::path(get, operation_id = "get_callback", path = "/v1/callbacks/{id}", tag = "Callbacks", security(("x_api_key" = [])), params(("id" = String, Path, description = "The event id (X-Idv-Event-Id)")), responses((status = 200, description = "The callback and its delivery attempts", body = CallbackRecord)))]
pub async fn show(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
) -> Result<Json<CallbackRecord>, ApiError> {
    let rec = CALLBACKS
        .get(state.records.as_ref(), &format!("{}/{id}", tenant.0))
        .await?
        .ok_or_else(|| ApiError::not_found("callback"))?;
    Ok(Json(rec.value))
}

/// The answer of `POST /v1/webhook-secrets/rotate`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// The new secret; shown once.
    pub webhook_secret: String,
    /// Whether the previous secret still signs (until `DELETE /v1/webhook-secrets/previous`).
    pub previous_valid: bool,
}

/// The answer of `DELETE /v1/webhook-secrets/previous`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviousDropped {
    /// Always `false`.
    pub previous_valid: bool,
}

/// `POST /v1/webhook-secrets/rotate`: a new signing secret; the previous one stays valid
/// (both signatures sent) until `DELETE /v1/webhook-secrets/previous`.
#[utoipa::path(post, operation_id = "rotate_webhook_secret", path = "/v1/webhook-secrets/rotate", tag = "Callbacks", security(("x_api_key" = [])), responses((status = 200, description = "A new signing secret; both sign until the previous is dropped", body = Rotated)))]
pub async fn rotate(
    State(s): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
) -> Result<Json<Rotated>, ApiError> {
    let webhook_secret = callbacks::rotate_secret(s.records.as_ref(), &tenant.0).await?;
    Ok(Json(Rotated {
        webhook_secret,
        previous_valid: true,
    }))
}

/// `DELETE /v1/webhook-secrets/previous`: ends a rotation.
#[utoipa::path(delete, operation_id = "drop_previous_webhook_secret", path = "/v1/webhook-secrets/previous", tag = "Callbacks", security(("x_api_key" = [])), responses((status = 200, description = "Only the newest secret signs", body = PreviousDropped)))]
pub async fn drop_previous(
    State(s): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
) -> Result<Json<PreviousDropped>, ApiError> {
    callbacks::drop_previous_secret(s.records.as_ref(), &tenant.0).await?;
    Ok(Json(PreviousDropped {
        previous_valid: false,
    }))
}
