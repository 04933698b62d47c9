//! `POST /v1/chip/challenge`: the 8 bytes an app sends the chip in INTERNAL AUTHENTICATE
//! (Active Authentication), single use, bound to the tenant, short-lived.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use idv_core::Services;
use idv_core::chip::IssuedChallenge;

use crate::error::ApiError;
use crate::extract::{AnyDialect, Authed};

/// `POST /v1/chip/challenge` → 201 `{challenge_id, challenge, expires_at}`; any dialect's
/// credentials. Send `challenge_id` and the chip's answer with the verification.
#[utoipa::path(post, operation_id = "chip_challenge", path = "/v1/chip/challenge", tag = "Chip", security(("x_api_key" = []), ("app_id" = [], "app_key" = []), ("bearer" = [])), responses((status = 201, description = "A challenge for Active Authentication, valid 5 minutes, usable once", body = IssuedChallenge)))]
pub async fn challenge(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<AnyDialect>,
) -> Result<(StatusCode, Json<IssuedChallenge>), ApiError> {
    let c = idv_core::chip::issue_challenge(state.records.as_ref(), &tenant.0, idv_store::now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}
