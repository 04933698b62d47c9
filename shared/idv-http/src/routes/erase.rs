//! `DELETE /v1/verifications/{id}`: erases a verification's images and personal data
//! everywhere idv keeps them, and keeps a tombstone (decision, times, input hashes) and the
//! certificate, which holds no original image and masks document numbers.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use idv_core::records::{TOMBSTONES, Tombstone};
use idv_core::{ErrorCode, Services};
use serde::Deserialize;

use crate::error::ApiError;

/// `DELETE /v1/verifications/{id}` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EraseQuery {
    /// `keep` (default): the signed certificate stays (it names the holder and shows face
    /// thumbnails; the document number is masked). `delete`: it goes too.
    certificate: Option<String>,
}

/// `DELETE /v1/verifications/{id}`: erases the verification `id` of the caller's tenant (any
/// of its credentials); answers its tombstone. Repeating it answers the same tombstone.
#[utoipa::path(delete, operation_id = "delete_verification", path = "/v1/verifications/{id}", tag = "Data", security(("x_api_key" = []), ("app_id" = [], "app_key" = []), ("bearer" = [])), params(("id" = String, Path, description = "Kairos api_req_uid, LINK id or one-call verificationId"), EraseQuery), responses((status = 200, description = "Erased; what is kept", body = Tombstone), (status = 404, description = "No such verification for this tenant", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<Services>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<EraseQuery>,
) -> Result<Json<Tombstone>, ApiError> {
    let (tenant, actor) = crate::extract::any(&state, &headers).await?;
    let keep_certificate = match q.certificate.as_deref() {
        None | Some("keep") => true,
        Some("delete") => false,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidField,
                "certificate: keep or delete",
            ));
        }
    };
    let tenant = tenant.0;
    let records = state.records.as_ref();
    // A repeat: answered as before, nothing more to erase or audit.
    if let Some(t) = TOMBSTONES.get(records, &format!("{tenant}/{id}")).await? {
        return Ok(Json(t.value));
    }
    let tomb = idv_core::erase::erase(&state, &tenant, &id, keep_certificate)
        .await?
        .ok_or_else(|| ApiError::not_found("verification"))?;
    // The replaced values must not linger in the store's free space.
    records.scrub().await?;
    idv_core::audit::record(records, &tenant, actor, "verification.delete", Some(&id)).await?;
    tracing::info!(verification = %id, "verification erased");
    Ok(Json(tomb))
}
