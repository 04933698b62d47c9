//! `GET /v1/audit`: the tenant's audit trail.

use axum::Json;
use axum::extract::{Query, State};
use idv_core::Services;
use idv_core::audit::{self, AuditPage};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::{ApiKey, Authed};

/// `GET /v1/audit` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0: from the first).
    #[serde(default)]
    after: u64,
    /// At most this many (default and maximum 1000).
    limit: Option<usize>,
}

/// `GET /v1/audit`: the tenant's audit trail, oldest first; `idv audit verify` checks a saved
/// answer.
#[utoipa::path(get, operation_id = "audit_trail", path = "/v1/audit", tag = "Audit", security(("x_api_key" = [])), params(AuditQuery), responses((status = 200, description = "Entries in sequence order", body = AuditPage)))]
pub async fn trail(
    State(s): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    Ok(Json(
        audit::page(s.records.as_ref(), &tenant.0, q.after, limit).await?,
    ))
}
